"""`tessera package build DIR`: check a package directory and write its archive.

Validation needs no database: the files are read exactly as `tessera install` will read them
from the archive (meta/source.py `load_package_files`: every document against its JSON Schema),
then merged with their dependencies — the stock packages shipped with Tessera, and any directory
or archive given with `--with` — through the same `build_metadata` the change pipeline runs
first, so every semantic check of an install (references, expressions, permissions) runs too.
What only an org can say (its data, its own customizations) is left to `install --check-only`.

The archive is reproducible: members sorted, fixed timestamps and modes, so the same files give
the same bytes.
"""
from __future__ import annotations

import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..meta import safe_yaml
from ..meta.errors import MetaError, MetadataInvalid
from ..meta.merge import build_metadata
from ..meta.package_data import FOLDERS as DATA_FOLDERS
from ..meta.source import COMPONENT_DIRS, _display, empty_org, load_package, load_package_files
from .archive_format import (MANIFEST, MAX_FILES, MAX_TOTAL_BYTES, SIGNATURE, SUFFIX, is_package_file, make_manifest,
                             parse_json)
from .signing import load_private_key, sign

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = 0o100644 << 16     # a regular file, rw-r--r--


@dataclass(frozen=True)
class Built:
    path: Path
    name: str
    version: str
    content_hash: str
    files: int
    signer: str | None


def read_package_dir(root: Path) -> dict[str, bytes]:
    """package.yaml and every component file, by path relative to `root` (links, non-files and
    oversized files refused, as when the directory is installed)."""
    errors: list[MetaError] = []
    files: dict[str, bytes] = {}
    candidates = [root / "package.yaml"]
    for dirname in (*COMPONENT_DIRS, *DATA_FOLDERS):
        folder = root / dirname
        if folder.is_dir() and not folder.is_symlink():
            candidates += sorted(p for p in folder.iterdir()
                                 if is_package_file(f"{dirname}/{p.name}") or p.is_symlink())
        elif folder.is_symlink():
            errors.append(MetaError(_display(folder), "", "is a symbolic link (links are not allowed in packages)"))
    total = 0
    for path in candidates:
        if len(files) >= MAX_FILES:
            errors.append(MetaError(_display(root), "", f"has more than {MAX_FILES} files"))
            break
        try:
            data = safe_yaml.read_bytes(path)
        except safe_yaml.YamlRefused as exc:
            errors.append(MetaError(_display(path), "", str(exc)))
            continue
        total += len(data)
        if total > MAX_TOTAL_BYTES:
            errors.append(MetaError(_display(root), "", f"holds more than {MAX_TOTAL_BYTES} bytes of metadata"))
            break
        files[path.relative_to(root).as_posix()] = data
    if errors:
        raise MetadataInvalid(errors)
    return files


def _dependency_source(path: Path) -> dict:
    if path.is_dir():
        return load_package(path)
    from .installer import archive_source
    from .reader import read_archive_file
    return archive_source(read_archive_file(path))


def validate(source: dict, with_paths: list[Path] = ()) -> None:
    """Merge `source` with its dependencies (transitively) and run every check of an install.
    MetadataInvalid names each problem, or the dependency that could not be found."""
    from ..bootstrap import STOCK_PACKAGES
    available: dict[str, dict] = {}
    for path in [*STOCK_PACKAGES, *with_paths]:   # --with comes last: it overrides a stock package
        dep = _dependency_source(Path(path))
        available[dep["manifest"]["name"]] = dep
    own = source["manifest"]["name"]
    chosen, queue = {}, list((source["manifest"].get("dependencies") or {}))
    while queue:
        name = queue.pop()
        if name in chosen or name == own:
            continue
        if name not in available:
            raise MetadataInvalid([MetaError(f"package {own}", f"dependencies.{name}",
                                             f"needs package '{name}', which is neither a stock package nor given "
                                             "with --with DIR|ARCHIVE")])
        chosen[name] = available[name]
        queue += list(available[name]["manifest"].get("dependencies") or {})
    build_metadata({"packages": [*chosen.values(), source], "org": empty_org()})


def _write(path: Path, members: list[tuple[str, bytes]]) -> None:
    # written beside the target, then renamed: a failed build never leaves half an archive
    fd, tmp = tempfile.mkstemp(prefix=".tpkg-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle, zipfile.ZipFile(handle, "w") as archive:
            for name, data in members:
                info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
                info.external_attr = _FILE_MODE
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, data)
        umask = os.umask(0)    # mkstemp makes 0600; an archive is for sharing: 0666 less the umask
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def build(directory: str | Path, output: str | Path | None = None, *, sign_key: str | Path | None = None,
          signer: str | None = None, with_paths: list[str | Path] = ()) -> Built:
    root = Path(directory)
    if not root.is_dir() or not (root / "package.yaml").is_file():
        raise MetadataInvalid([MetaError(_display(root), "", "not a package: package.yaml is missing")])
    private = load_private_key(Path(sign_key)) if sign_key else None   # a bad key fails before any work
    files = read_package_dir(root)
    source = load_package_files(files, _display(root))
    validate(source, [Path(p) for p in with_paths])
    name, version = source["manifest"]["name"], str(source["manifest"]["version"])
    path = Path(output) if output else Path.cwd() / f"{name}-{version}{SUFFIX}"
    manifest = make_manifest(name, version, files)
    members = [(MANIFEST, manifest)]
    if private is not None:
        signer = signer or Path(sign_key).stem
        members.append((SIGNATURE, sign(manifest, private, signer)))
    members += sorted(files.items())
    _write(path, members)
    return Built(path, name, version, parse_json(manifest)["content_hash"], len(files), signer if private else None)
