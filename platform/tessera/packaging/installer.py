"""What `tessera install` and Setup install: package sources from archives (checked, trusted) and
directories, ready for `ChangeService.install_packages` — the one change path.

An archive installs when it is intact (packaging/reader.py) and signed by a key the org trusts;
an unsigned archive, or one signed by a key the org does not trust, only with `allow_unsigned`. A
signature that does not match is never allowed: that is tampering, not a missing signature.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..meta.source import load_package, load_package_files
from .archive_format import SUFFIX
from .reader import ArchiveRefused, PackageArchive, read_archive_file
from .trust import label_of


class UntrustedArchive(ArchiveRefused):
    """Intact, but unsigned or signed by a key this org does not trust."""


@dataclass(frozen=True)
class Signer:
    label: str | None        # the org's label of the key, when trusted
    description: str         # one line for people: who signed, and whether the org trusts them


def signer_of(engine, archive: PackageArchive) -> Signer:
    sig = archive.signature
    if sig is None:
        return Signer(None, "unsigned")
    label = label_of(engine, sig.key_id)
    if label is not None:
        return Signer(label, f"{label} (trusted key {sig.fingerprint}; the archive says '{sig.signer}')")
    return Signer(None, f"'{sig.signer}' by its own account, key {sig.fingerprint}: not trusted in this org")


def check_trust(engine, archive: PackageArchive, *, allow_unsigned: bool) -> Signer:
    signer = signer_of(engine, archive)
    if signer.label is not None or allow_unsigned:
        return signer
    if archive.signature is None:
        raise UntrustedArchive(archive.origin, "is not signed: install it anyway with --allow-unsigned "
                                               "(or ask its maker for a signed archive)")
    sig = archive.signature
    raise UntrustedArchive(archive.origin, f"is signed by key {sig.fingerprint} (which says it is '{sig.signer}'), "
                                           "a key this org does not trust: trust it with `tessera package trust "
                                           "KEY.pub --name LABEL`, or install anyway with --allow-unsigned")


def archive_source(archive: PackageArchive) -> dict:
    """The package source of an intact archive (schema-checked like a directory; MetadataInvalid
    names each member as ARCHIVE/PATH). Its package.yaml must agree with the manifest."""
    source = load_package_files(archive.files, archive.origin)
    manifest = source["manifest"]
    if (manifest["name"], str(manifest["version"])) != (archive.name, archive.version):
        raise ArchiveRefused(archive.origin, f"package.yaml says {manifest['name']} {manifest['version']} but the "
                                             f"manifest says {archive.name} {archive.version}", "package.yaml")
    return source


def is_archive(path: str | Path) -> bool:
    path = Path(path)
    return path.suffix == SUFFIX or (path.exists() and not path.is_dir())


def load_sources(engine, paths: list[str], *, allow_unsigned: bool) -> list[tuple[dict, str]]:
    """(source, where it came from) for each path: a package directory or a .tpkg archive. Every
    archive is read and checked before any source is returned: one bad archive installs nothing."""
    out = []
    for path in paths:
        if is_archive(path):
            archive = read_archive_file(path)
            signer = check_trust(engine, archive, allow_unsigned=allow_unsigned)
            out.append((archive_source(archive), f"{archive.origin}: {archive.name} {archive.version}, "
                                                 f"content {archive.content_hash[:12]}, {signer.description}"))
        else:
            source = load_package(path)
            out.append((source, f"{path}: directory"))
    return out
