"""The backup archive: one gzip'd tar holding a database snapshot, the stored files and a manifest.

    database.sqlite | database.pgdump   the snapshot (SQLite online-backup copy, or pg_dump -Fc)
    files/<key>                         every blob of a directory file store (keys: 32 hex digits)
    manifest.json                       written last: what made the archive and each member's hash

The manifest comes last so the archive is written in one pass; a reader verifies every member
against it before anything is restored. A reader accepts only those member names, regular files
only, bounded in number and size of the manifest, so a crafted archive cannot name a path outside
the staging directory (tarfile's own `data` filter would also refuse that; the explicit allow-list
is narrower still).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version as package_version

FORMAT = "tessera-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE_MEMBERS = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
_FILE_MEMBER = re.compile(r"^files/([0-9a-f]{32})$")
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go on: the message says why and what to do."""


def tessera_version() -> str:
    try:
        return package_version("tessera")
    except PackageNotFoundError:   # run from a source tree without an install
        return "0"


@dataclass
class Manifest:
    database: str                       # "sqlite" | "postgresql"
    tessera_version: str
    platform_schema: str                # storage.platform_schema fingerprint of the source
    metadata_version: int | None        # the active metadata version when the snapshot was taken
    created_at: str
    file_store: str                     # "directory" | "database" (blobs then live in the snapshot)
    members: dict[str, dict] = field(default_factory=dict)   # name -> {"size", "sha256"}
    schema: str | None = None           # PostgreSQL: the schema the org's tables are in
    files: int = 0                      # stored files (blobs) the backup holds, in either store
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    @property
    def database_member(self) -> str:
        return DATABASE_MEMBERS[self.database]

    @property
    def file_keys(self) -> list[str]:
        return sorted(m.group(1) for name in self.members if (m := _FILE_MEMBER.match(name)))

    def to_json(self) -> bytes:
        return json.dumps(self.__dict__, indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> "Manifest":
        try:
            data = json.loads(raw)
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                raise BackupError("not a Tessera backup (its manifest names another format)")
            if data.get("format_version") != FORMAT_VERSION:
                raise BackupError(f"backup format version {data.get('format_version')} is not one this "
                                  f"Tessera reads (it reads {FORMAT_VERSION}): restore it with the Tessera "
                                  f"version that made it ({data.get('tessera_version')})")
            optional = {"schema", "files"}      # absent from manifests of the first backups
            manifest = cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data or k not in optional})
            if not isinstance(manifest.members, dict) or not all(isinstance(m, dict) for m in manifest.members.values()):
                raise BackupError("the backup's manifest is damaged: its members are not listed with sizes and hashes")
        except BackupError:
            raise
        except (ValueError, KeyError, TypeError) as exc:
            raise BackupError(f"the backup's manifest is damaged: {exc}") from None
        if manifest.database not in DATABASE_MEMBERS:
            raise BackupError(f"the backup holds a {manifest.database!r} database, which Tessera does not restore")
        return manifest


def _digest_copy(source, sink) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    while chunk := source.read(CHUNK):
        digest.update(chunk)
        sink.write(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


class ArchiveWriter:
    """Writes the archive to `<path>.partial` and renames it into place on `close()`, so a backup
    cut short (a full disk, a killed process) never leaves a file that looks complete."""

    def __init__(self, path: str):
        self.path = os.path.abspath(path)
        self._partial = self.path + ".partial"
        self._tar = tarfile.open(self._partial, "w:gz", compresslevel=6)
        self.members: dict[str, dict] = {}

    def add_file(self, name: str, source_path: str) -> None:
        with open(source_path, "rb") as source:
            self.add_stream(name, source, os.fstat(source.fileno()).st_size)

    def add_stream(self, name: str, source, size: int) -> None:
        """Add `size` bytes read from `source`, hashing as they are written (one read)."""
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = size, int(datetime.now().timestamp()), 0o600
        hashing = _HashingReader(source)
        self._tar.addfile(info, hashing)
        if hashing.size != size:
            raise BackupError(f"{name} changed size while it was being copied")
        self.members[name] = {"size": size, "sha256": hashing.digest.hexdigest()}

    def close(self, manifest: Manifest) -> None:
        manifest.members = self.members
        raw = manifest.to_json()
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mtime, info.mode = len(raw), int(datetime.now().timestamp()), 0o600
        self._tar.addfile(info, io.BytesIO(raw))
        self._tar.close()
        os.replace(self._partial, self.path)

    def abort(self) -> None:
        try:
            self._tar.close()
        finally:
            if os.path.exists(self._partial):
                os.remove(self._partial)


class _HashingReader:
    def __init__(self, source):
        self.source, self.digest, self.size = source, hashlib.sha256(), 0

    def read(self, n=-1):
        chunk = self.source.read(n)
        self.digest.update(chunk)
        self.size += len(chunk)
        return chunk


@dataclass
class Staged:
    """A verified archive unpacked into `directory` (removed by `cleanup()`)."""
    manifest: Manifest
    directory: str

    @property
    def database_path(self) -> str:
        return os.path.join(self.directory, self.manifest.database_member)

    def file_path(self, key: str) -> str:
        return os.path.join(self.directory, "files", key)

    def cleanup(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def unpack_verified(path: str, staging_parent: str | None = None) -> Staged:
    """Unpack the archive at `path` into a new staging directory, refusing any member that is not
    one of the archive's own names or not a regular file, and checking every member's size and
    hash against the manifest (and that none is missing). Nothing outside the staging directory
    is written."""
    if not os.path.isfile(path):
        raise BackupError(f"there is no backup file {path}")
    directory = tempfile.mkdtemp(prefix="tessera-restore-", dir=staging_parent)
    seen: dict[str, dict] = {}
    raw_manifest = None
    try:
        try:
            tar = tarfile.open(path, "r:gz")
        except (tarfile.TarError, OSError) as exc:
            raise BackupError(f"{path} is not a Tessera backup (not a gzip'd tar: {exc})") from None
        with tar:
            try:
                for info in tar:
                    name = info.name
                    if name in seen or (name == MANIFEST and raw_manifest is not None):
                        raise BackupError(f"the backup holds {name} twice")
                    if not info.isreg():
                        raise BackupError(f"the backup's member {name} is not a regular file")
                    if name == MANIFEST:
                        if info.size > MAX_MANIFEST_BYTES:
                            raise BackupError("the backup's manifest is too large")
                        raw_manifest = tar.extractfile(info).read()
                        continue
                    if name not in DATABASE_MEMBERS.values() and not _FILE_MEMBER.match(name):
                        raise BackupError(f"the backup holds an unexpected member {name!r}")
                    target = os.path.join(directory, *name.split("/"))
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    with open(target, "wb") as sink:
                        size, sha = _digest_copy(tar.extractfile(info), sink)
                    seen[name] = {"size": size, "sha256": sha}
            except BackupError:
                raise
            except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
                raise BackupError(f"{path} is damaged or cut short: {exc.__class__.__name__}: {exc}") from None
        if raw_manifest is None:
            raise BackupError(f"{path} has no manifest: it is not a complete Tessera backup")
        manifest = Manifest.from_json(raw_manifest)
        for name, expected in manifest.members.items():
            found = seen.get(name)
            if found is None:
                raise BackupError(f"the backup is missing {name}")
            if found != {"size": expected.get("size"), "sha256": expected.get("sha256")}:
                raise BackupError(f"{name} does not match the backup's manifest (damaged or altered)")
        extra = set(seen) - set(manifest.members)
        if extra:
            raise BackupError(f"the backup holds members its manifest does not list: {', '.join(sorted(extra))}")
        if manifest.database_member not in seen:
            raise BackupError("the backup holds no database snapshot")
        return Staged(manifest, directory)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
