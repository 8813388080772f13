"""Package archives uploaded in Setup (platform table `tessera_package_archive`).

An archive is stored only once it has passed the reader's checks (packaging/reader.py), one row
per content hash. The row is what a reviewed install plan refers to, so any web worker can
confirm it; its bytes are read and checked again at every install, never trusted from the row.
The newest stored version of an installed package above the installed one is its "upgrade
available".
"""
from __future__ import annotations

from datetime import datetime, timezone

from packaging.version import InvalidVersion, Version
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from ..storage.engine import begin_read, begin_write
from ..storage.platform_tables import package_archives
from .reader import PackageArchive, read_archive

_LISTED = [c for c in package_archives.c if c.name != "content"]


def store(engine, archive: PackageArchive, data: bytes, *, uploaded_by=None) -> int:
    """The id of the stored archive (the existing row when the same content was uploaded before)."""
    sig = archive.signature
    with begin_write(engine) as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        conn.execute(dialect.insert(package_archives).values(
            name=archive.name[:80], version=archive.version[:40], content_hash=archive.content_hash,
            filename=archive.origin[:200], size=len(data), content=data,
            signer_key_id=sig.key_id if sig else None, signer=sig.signer[:120] if sig else None,
            uploaded_at=datetime.now(timezone.utc), uploaded_by=uploaded_by,
        ).on_conflict_do_nothing(index_elements=[package_archives.c.content_hash]))
        return conn.execute(select(package_archives.c.id)
                            .where(package_archives.c.content_hash == archive.content_hash)).scalar_one()


def info(engine, archive_id: int):
    """The stored archive's row without its bytes, or None."""
    with begin_read(engine) as conn:
        return conn.execute(select(*_LISTED).where(package_archives.c.id == archive_id)).first()


def load(engine, archive_id: int) -> PackageArchive | None:
    """The stored archive, checked again from its bytes (ArchiveRefused if they no longer pass)."""
    with begin_read(engine) as conn:
        row = conn.execute(select(package_archives.c.content, package_archives.c.filename)
                           .where(package_archives.c.id == archive_id)).first()
    return read_archive(row.content, row.filename) if row else None


def listed(engine, limit: int = 50) -> list:
    with begin_read(engine) as conn:
        return conn.execute(select(*_LISTED).order_by(package_archives.c.id.desc()).limit(limit)).all()


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def upgrades(engine, installed: dict[str, str]) -> dict[str, object]:
    """{package name: the row of its newest uploaded archive} for each installed package that has
    an uploaded archive of a later version."""
    if not installed:
        return {}
    with begin_read(engine) as conn:
        rows = conn.execute(select(*_LISTED).where(package_archives.c.name.in_(sorted(installed)))).all()
    best: dict[str, object] = {}
    for row in rows:
        mine, theirs = _version(row.version), _version(installed[row.name])
        if mine is None or theirs is None or mine <= theirs:
            continue
        if row.name not in best or mine > _version(best[row.name].version):
            best[row.name] = row
    return best
