"""`tessera backup` and `tessera restore`: an org's database and stored files, in one archive.

A backup holds everything the org is: records, metadata versions, audit log, field history,
jobs, users and tokens (all of them tables in the one database) and the file store's blobs
(inside the database snapshot for the database store; as archive members for a directory store).
The database is snapshotted first, then the blobs are copied: a blob is always stored before the
record naming it is committed, so every file the snapshot refers to is already on disk when the
copy starts (a file deleted in between is counted and reported, as its record is gone anyway).

A restore verifies the whole archive (every member's hash, the format, the Tessera version that
made it) before it touches the target, refuses a target that holds tables unless told `force`,
and restores the database in one step (see snapshot.py) before the blobs.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field

from packaging.version import InvalidVersion, Version

from ..storage.engine import make_engine, normalize_url
from ..storage.platform_schema import schema_fingerprint
from . import snapshot
from .archive import ArchiveWriter, BackupError, Manifest, Staged, now_iso, tessera_version, unpack_verified


@dataclass
class BackupReport:
    path: str
    manifest: Manifest
    files: int
    files_gone: int = 0          # deleted between the snapshot and their copy
    bytes: int = 0


@dataclass
class RestoreReport:
    manifest: Manifest
    files: int
    replaced: bool
    notes: list[str] = field(default_factory=list)


def create_backup(services, path: str) -> BackupReport:
    """Snapshot the database behind `services` and its file store into the archive at `path`."""
    url = str(services.engine.url.render_as_string(hide_password=False))
    kind = snapshot.database_kind(url)
    target_dir = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(target_dir):
        raise BackupError(f"the directory {target_dir} does not exist")
    store = services.files.store if services.files is not None else None
    manifest = Manifest(database=kind, tessera_version=tessera_version(),
                        platform_schema=schema_fingerprint(kind),
                        metadata_version=services.changes.active_number(), created_at=now_iso(),
                        file_store=getattr(store, "kind", "database"))
    writer = ArchiveWriter(path)
    files = gone = 0
    try:
        with tempfile.TemporaryDirectory(prefix="tessera-backup-", dir=target_dir) as work:
            dump = os.path.join(work, manifest.database_member)
            if kind == "sqlite":
                snapshot.snapshot_sqlite(services.engine, dump)
            else:
                manifest.schema = snapshot.current_schema(services.engine)
                snapshot.snapshot_postgresql(url, manifest.schema, dump)
            writer.add_file(manifest.database_member, dump)
        for key in (store.keys() if store is not None else ()):
            try:
                blob = store.open(key)
            except FileNotFoundError:
                gone += 1
                continue
            with blob:
                writer.add_stream(f"files/{key}", blob, os.fstat(blob.fileno()).st_size)
            files += 1
        manifest.files = files if manifest.file_store == "directory" else _database_blobs(services.engine)
        writer.close(manifest)
    except BaseException:
        writer.abort()
        raise
    return BackupReport(os.path.abspath(path), manifest, manifest.files, gone, os.path.getsize(path))


def _database_blobs(engine) -> int:
    from sqlalchemy import func, select

    from ..storage.engine import begin_read
    from ..storage.platform_tables import blobs
    with begin_read(engine) as conn:
        return conn.execute(select(func.count()).select_from(blobs)).scalar()


def inspect_backup(path: str) -> Manifest:
    """Verify the archive completely (every member against its hash) and return its manifest."""
    staged = unpack_verified(path)
    staged.cleanup()
    _check_made_by(staged.manifest)
    return staged.manifest


def restore_backup(path: str, url: str, *, force: bool = False) -> RestoreReport:
    url = normalize_url(url)
    kind = snapshot.database_kind(url)
    staged = unpack_verified(path, staging_parent=_staging_parent(url, kind))
    try:
        _check_compatible(staged.manifest, kind)
        engine = make_engine(url)
        try:
            if kind == "sqlite":
                target = snapshot.sqlite_path(url)
                engine.dispose()
                occupied = snapshot.sqlite_has_tables(target)
            else:
                target_schema = snapshot.current_schema(engine)
                source_schema = staged.manifest.schema or "public"
                occupied = snapshot.schema_has_tables(engine, target_schema)
                if source_schema != target_schema and snapshot.schema_exists(engine, source_schema):
                    raise BackupError(f"the backup holds schema {source_schema!r}, which the target database "
                                      f"already has apart from the target's own schema {target_schema!r}: restore "
                                      f"into another database, or into schema {source_schema!r} itself")
            if occupied and not force:
                raise BackupError(f"the target database {_safe_url(url)} is not empty: restore into an "
                                  f"empty database, or pass --force to replace everything in it")
            if kind == "sqlite":
                snapshot.restore_sqlite(staged.database_path, target)
            else:
                snapshot.restore_postgresql(staged.database_path, url, source_schema=source_schema,
                                            target_schema=target_schema)
        finally:
            engine.dispose()
        _restore_files(staged, url)
        return RestoreReport(staged.manifest, staged.manifest.files, replaced=occupied)
    finally:
        staged.cleanup()


def _restore_files(staged: Staged, url: str) -> None:
    keys = staged.manifest.file_keys
    if not keys:
        return
    from ..files.blobs import store_for
    engine = make_engine(url)
    try:
        store = store_for(engine)
        for key in keys:
            with open(staged.file_path(key), "rb") as blob:
                store.restore(key, blob)
    finally:
        engine.dispose()


def _check_compatible(manifest: Manifest, kind: str) -> None:
    if manifest.database != kind:
        raise BackupError(f"the backup holds a {manifest.database} database and the target is {kind}: "
                          f"restore into a {manifest.database} database")
    _check_made_by(manifest)


def _check_made_by(manifest: Manifest) -> None:
    try:
        made_by, running = Version(manifest.tessera_version), Version(tessera_version())
    except InvalidVersion:
        raise BackupError(f"the backup names an unreadable Tessera version {manifest.tessera_version!r}") from None
    if made_by > running:
        raise BackupError(f"the backup was made by Tessera {made_by}, newer than this one ({running}): "
                          f"upgrade Tessera before restoring it")


def _staging_parent(url: str, kind: str) -> str | None:
    """Unpack beside an SQLite target (the same file system, so its rename is one step)."""
    if kind != "sqlite":
        return None
    directory = os.path.dirname(snapshot.sqlite_path(url))
    os.makedirs(directory, exist_ok=True)
    return directory


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url
    return make_url(url).render_as_string(hide_password=True)
