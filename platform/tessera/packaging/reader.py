"""Read a package archive from anyone, in memory, trusting nothing in it until it is checked.

Order: the archive's own size; then the central directory alone — every member's name (no
absolute path, `..`, backslash, control character, duplicate, or name differing from another
only in letter case), type (regular files only: no symbolic link, device, pipe or socket; zip
has no hard links but through these mode bits), encryption, compression method and declared
size (per file and in all, before anything is inflated); then each member is read with a bound
and counted again (a zip may lie about its sizes); then the manifest must list exactly the files
present, each with its size and sha256, and its content hash must be theirs; then the signature,
when there is one, must match the manifest. Nothing is ever written to disk.

Trust in the signer is the installer's question (packaging/installer.py); this module only says
whether the archive is intact and who claims to have signed it.
"""
from __future__ import annotations

import io
import os
import stat
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from . import signing
from .archive_format import (MANIFEST, MAX_ARCHIVE_BYTES, MAX_FILE_BYTES, MAX_FILES, MAX_META_BYTES, MAX_TOTAL_BYTES,
                             META_DIR, SIGNATURE, check_manifest, content_hash, file_entry, is_package_file,
                             parse_json)

_SPECIAL_TYPES = {stat.S_IFLNK: "is a symbolic link", stat.S_IFCHR: "is a device file",
                  stat.S_IFBLK: "is a device file", stat.S_IFIFO: "is a named pipe", stat.S_IFSOCK: "is a socket",
                  stat.S_IFDIR: "is a directory entry without a trailing '/'"}


class ArchiveRefused(Exception):
    """The archive cannot be installed; the message names the archive, the member and why."""

    def __init__(self, origin: str, reason: str, member: str | None = None):
        self.origin, self.reason, self.member = origin, reason, member
        where = f"{origin}: {member}" if member else origin
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class PackageArchive:
    origin: str                       # the archive's file name, for messages and component sources
    manifest: dict
    manifest_bytes: bytes
    files: dict[str, bytes]           # the package's files by path, every one hash-checked
    signature: signing.Signature | None   # a signature that matches the manifest (its key not yet trusted)

    @property
    def name(self) -> str:
        return self.manifest["name"]

    @property
    def version(self) -> str:
        return self.manifest["version"]

    @property
    def content_hash(self) -> str:
        return self.manifest["content_hash"]


def read_archive_file(path: str | Path) -> PackageArchive:
    path = Path(path)
    origin = path.name
    try:
        # O_NONBLOCK: a named pipe given as the archive is refused below instead of blocking the open
        # (a link to an archive is fine: the admin chose that path; links INSIDE archives never are)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ArchiveRefused(origin, f"cannot read: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ArchiveRefused(origin, "is not a regular file")
        data = handle.read(MAX_ARCHIVE_BYTES + 1)
    return read_archive(data, origin)


def read_archive(data: bytes, origin: str) -> PackageArchive:
    if len(data) > MAX_ARCHIVE_BYTES:
        raise ArchiveRefused(origin, f"is larger than {MAX_ARCHIVE_BYTES} bytes")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise ArchiveRefused(origin, "is not a package archive (not a zip file; make one with "
                                     "`tessera package build DIR`)") from None
    with archive:
        members = _check_directory(archive, origin)
        contents = {info.filename: _read_member(archive, info, origin) for info in members}
    return _check_manifest(contents, origin)


def _check_directory(archive: zipfile.ZipFile, origin: str) -> list[zipfile.ZipInfo]:
    """The members to read, after every check the central directory allows."""
    infos = archive.infolist()
    if len(infos) > MAX_FILES + 2:
        raise ArchiveRefused(origin, f"has more than {MAX_FILES} files ({len(infos)} members)")
    seen: dict[str, str] = {}
    members, total = [], 0
    for info in infos:
        name = info.filename
        _check_name(name, origin)
        folded = unicodedata.normalize("NFC", name).casefold()
        if folded in seen:
            other = seen[folded]
            raise ArchiveRefused(origin, "appears twice in the archive" if other == name else
                                 f"differs from '{other}' only in letter case (one file on Windows and macOS)", name)
        seen[folded] = name
        kind = stat.S_IFMT(info.external_attr >> 16)
        if info.is_dir():
            if kind not in (0, stat.S_IFDIR):
                raise ArchiveRefused(origin, _SPECIAL_TYPES.get(kind, "is not a regular file"), name)
            continue   # a folder entry carries nothing
        if kind not in (0, stat.S_IFREG):
            raise ArchiveRefused(origin, _SPECIAL_TYPES.get(kind, "is not a regular file"), name)
        if info.flag_bits & 0x1:
            raise ArchiveRefused(origin, "is encrypted", name)
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ArchiveRefused(origin, "uses a compression method other than stored or deflated", name)
        if name.startswith(META_DIR):
            if name not in (MANIFEST, SIGNATURE):
                raise ArchiveRefused(origin, f"is not part of the archive format (only {MANIFEST} and "
                                             f"{SIGNATURE} go in {META_DIR})", name)
        elif not is_package_file(name):
            raise ArchiveRefused(origin, "is not a package file (package.yaml, or FOLDER/NAME.yaml in a "
                                         "component folder such as objects/ or layouts/)", name)
        limit = MAX_META_BYTES if name.startswith(META_DIR) else MAX_FILE_BYTES
        if info.file_size > limit:
            raise ArchiveRefused(origin, f"declares {info.file_size} bytes; a file may have at most {limit}", name)
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise ArchiveRefused(origin, f"its files declare more than {MAX_TOTAL_BYTES} bytes in all")
        members.append(info)
    if len(members) > MAX_FILES + 2:
        raise ArchiveRefused(origin, f"has more than {MAX_FILES} files")
    return members


def _check_name(name: str, origin: str) -> None:
    if not name.strip("/"):
        raise ArchiveRefused(origin, "a member has an empty name")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise ArchiveRefused(origin, "is an absolute path", name)
    if "\\" in name:
        raise ArchiveRefused(origin, "has a backslash in its name (archive names use '/')", name)
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ArchiveRefused(origin, "has a control character in its name", name)
    parts = name.rstrip("/").split("/")
    if ".." in parts:
        raise ArchiveRefused(origin, "has a '..' part (it would point outside the package)", name)
    if any(part in ("", ".") for part in parts):
        raise ArchiveRefused(origin, "has an empty or '.' part in its name", name)


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, origin: str) -> bytes:
    try:
        with archive.open(info) as handle:
            data = handle.read(info.file_size + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError) as exc:
        raise ArchiveRefused(origin, f"is damaged ({exc})", info.filename) from None
    if len(data) != info.file_size:
        raise ArchiveRefused(origin, f"holds {'more' if len(data) > info.file_size else 'fewer'} bytes than the "
                                     f"{info.file_size} it declares", info.filename)
    return data


def _check_manifest(contents: dict[str, bytes], origin: str) -> PackageArchive:
    manifest_bytes = contents.pop(MANIFEST, None)
    signature_bytes = contents.pop(SIGNATURE, None)
    if manifest_bytes is None:
        raise ArchiveRefused(origin, f"has no manifest ({MANIFEST}): make the archive with `tessera package build`")
    try:
        manifest = parse_json(manifest_bytes)
    except ValueError as exc:
        raise ArchiveRefused(origin, str(exc), MANIFEST) from None
    problems = check_manifest(manifest)
    if problems:
        raise ArchiveRefused(origin, "; ".join(problems), MANIFEST)
    listed: dict[str, dict] = {}
    for entry in manifest["files"]:
        if entry["path"] in listed:
            raise ArchiveRefused(origin, "is listed twice in the manifest", entry["path"])
        listed[entry["path"]] = entry
    for path in sorted(contents):
        if path not in listed:
            raise ArchiveRefused(origin, "is not in the manifest", path)
    for path in sorted(listed):
        if path not in contents:
            raise ArchiveRefused(origin, "is in the manifest but missing from the archive", path)
        if file_entry(path, contents[path]) != listed[path]:
            raise ArchiveRefused(origin, "does not match its size and sha256 in the manifest (changed after the "
                                         "archive was built)", path)
    if content_hash(list(listed.values())) != manifest["content_hash"]:
        raise ArchiveRefused(origin, "the content hash does not match the files it lists", MANIFEST)
    signature = None
    if signature_bytes is not None:
        try:
            signature = signing.verify(manifest_bytes, signature_bytes)
        except ValueError as exc:
            raise ArchiveRefused(origin, str(exc), SIGNATURE) from None
    return PackageArchive(origin, manifest, manifest_bytes, contents, signature)
