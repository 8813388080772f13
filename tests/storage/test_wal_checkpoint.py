"""SQLite: WAL checkpoints run in a background thread, not inside a writer's commit
(storage/checkpoint.py). The writes still reach the database file, and the WAL stays bounded."""
from __future__ import annotations

import os
import time

import pytest

from databases import PG_URL
from tessera.security.actor import SYSTEM
from tessera.storage.checkpoint import WAL_CHECKPOINT_BYTES, WAL_KEPT_BYTES

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="SQLite's write-ahead log")


def _sizes(path: str) -> tuple[int, int]:
    return os.path.getsize(path), os.path.getsize(path + "-wal")


def _wait_for(condition, seconds=20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_pages_written_reach_the_database_file_in_the_background(services):
    path = services.engine.url.database
    with services.engine.connect() as conn:   # the commit itself no longer checkpoints
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        assert conn.exec_driver_sql("PRAGMA journal_size_limit").scalar() == WAL_KEPT_BYTES
    db_before, _ = _sizes(path)
    rows = [{"name": f"Company {i}", "employees": i, "website": f"https://c{i}.example.com"} for i in range(20_000)]
    ids = services.records.bulk_create(SYSTEM, "company", rows)
    _, wal = _sizes(path)
    assert wal >= WAL_CHECKPOINT_BYTES            # big enough to be checkpointed
    # the background checkpoint copies the pages into the database file
    assert _wait_for(lambda: _sizes(path)[0] >= db_before + WAL_CHECKPOINT_BYTES), _sizes(path)
    # once the checkpoint is complete, the next write starts the WAL over, cut back to journal_size_limit

    def small_write_restarts_the_wal():
        services.records.create(SYSTEM, "company", {"name": "After"})
        return _sizes(path)[1] <= WAL_KEPT_BYTES
    assert _wait_for(small_write_restarts_the_wal), _sizes(path)
    assert services.records.get(SYSTEM, "company", ids[-1])["name"] == "Company 19999"


def test_a_deleted_database_is_not_recreated_by_the_checkpointer(tmp_path):
    from tessera.storage.checkpoint import checkpoint
    missing = tmp_path / "gone.db"
    assert checkpoint(str(missing)) is None and not missing.exists()
