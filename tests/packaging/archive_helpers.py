"""Package archives for the tests (imported as `archive_helpers`: a unique module name): a tiny
valid package, archives written exactly as `tessera package build` does or crafted member by
member with zipfile/tarfile, and the CLI run in-process."""
from __future__ import annotations

import io
import stat
import warnings
import zipfile
from pathlib import Path

import yaml
from click.testing import CliRunner

from tessera.cli import _register, cli
from tessera.packaging.archive_format import MANIFEST, SIGNATURE, make_manifest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "extensions" / "examples" / "acme_invoicing"
_register() if not cli.commands else None


def run(*args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)


def mini_files(version="1.0.0", *, object_doc: str | None = None) -> dict[str, bytes]:
    """A package with no dependencies and one object."""
    manifest = {"name": "mini", "label": "Mini", "version": version, "description": "A tiny test package."}
    obj = object_doc or yaml.safe_dump({"name": "mini_note", "label": "Mini Note", "plural_label": "Mini Notes",
                                        "fields": {"name": {"type": "text", "required": True}}})
    return {"package.yaml": yaml.safe_dump(manifest).encode(), "objects/mini_note.yaml": obj.encode()}


def write_package_dir(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def member(name: str, data: bytes, *, mode: int = stat.S_IFREG | 0o644) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = mode << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info, data


def zip_bytes(members) -> bytes:
    """A zip of (ZipInfo, bytes) pairs, in order, duplicates included."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")        # zipfile warns about the duplicate names we mean to write
        with zipfile.ZipFile(buffer, "w") as archive:
            for info, data in members:
                archive.writestr(info, data)
    return buffer.getvalue()


def crafted(files: dict[str, bytes], *, listed: dict[str, bytes] | None = None, extra=(), name="mini",
            version="1.0.0") -> bytes:
    """An archive of `files` whose manifest lists `listed` (default: the same files), plus
    `extra` (ZipInfo, bytes) members added after the files."""
    manifest = make_manifest(name, version, files if listed is None else listed)
    return zip_bytes([member(MANIFEST, manifest), *(member(p, d) for p, d in sorted(files.items())), *extra])


def members_of(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def rezip(path: Path, contents: dict[str, bytes]) -> None:
    """Write `contents` back as the archive at `path` (a tampered copy)."""
    path.write_bytes(zip_bytes([member(n, d) for n, d in contents.items()]))


__all__ = ["EXAMPLE", "MANIFEST", "SIGNATURE", "crafted", "member", "members_of", "mini_files", "rezip", "run",
           "write_package_dir", "zip_bytes"]
