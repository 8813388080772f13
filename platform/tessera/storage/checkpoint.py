"""SQLite WAL checkpoints off the write path.

In WAL mode a commit appends pages to the `-wal` file; a checkpoint copies them back into the
database file (and syncs it). By default SQLite runs that checkpoint inside the commit that takes
the WAL past 1,000 pages, so one unlucky writer pays for everyone's pages: a 20,000-row bulk
create spent ~25 % of its time there (tests/benchmarks). SQLite's documentation (wal.html) names
the alternative used here: connections turn automatic checkpoints off (`wal_autocheckpoint=0`), and
one background thread per process runs a PASSIVE checkpoint — which never blocks readers or
writers — when a connection returned to the pool left the WAL past the same size.

The WAL file is not shrunk by a checkpoint (SQLite rewrites it from the start afterwards), so
`journal_size_limit` cuts it back to WAL_KEPT_BYTES when that happens: its size then tracks the
pages written since the last checkpoint, and a `stat` after each transaction is enough to decide.
A WAL still the size it had when a checkpoint copied all of it holds nothing new (readers kept
SQLite from starting it over, and nobody wrote since): it is left alone.

The thread opens its own short-lived connection per checkpoint (`mode=rw`: a database deleted
meanwhile is skipped, never recreated empty). A process that exits mid-checkpoint loses nothing:
checkpoints are restartable, and the next connection finds the WAL as it was.
"""
from __future__ import annotations

import logging
import os
import sqlite3
import threading
from urllib.parse import quote

log = logging.getLogger(__name__)

WAL_CHECKPOINT_BYTES = 4_096_000   # SQLite's own threshold: 1,000 pages of 4 KiB
WAL_KEPT_BYTES = 1_048_576         # journal_size_limit: what a reset WAL file is cut back to

CONNECTION_PRAGMAS = ("PRAGMA wal_autocheckpoint=0", f"PRAGMA journal_size_limit={WAL_KEPT_BYTES}")


class WalCheckpointer:
    """Checkpoints the WAL of the database files it is told about, in one daemon thread."""

    def __init__(self):
        self._due: list[str] = []
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        # database -> WAL size when its last checkpoint completed: while readers keep SQLite from
        # starting the WAL over, it stays that size and there is nothing new to copy
        self._copied: dict[str, int] = {}

    def transaction_ended(self, database: str) -> None:
        """Called when a connection to `database` (a file path) goes back to the pool: ~1 µs
        when the WAL is small, which is almost always."""
        try:
            size = os.stat(database + "-wal").st_size
        except OSError:        # no WAL file (yet, or any more)
            return
        if size < WAL_CHECKPOINT_BYTES or self._copied.get(database) == size:
            return
        with self._wake:
            if database in self._due:
                return
            self._due.append(database)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="tessera-wal-checkpoint", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._due:
                    self._wake.wait()
                database = self._due[0]
            try:
                size = os.stat(database + "-wal").st_size
                result = checkpoint(database)
                if result is not None and not result[0] and result[1] == result[2]:
                    self._copied[database] = size
                else:
                    self._copied.pop(database, None)
            except OSError:
                self._copied.pop(database, None)
            finally:
                with self._wake:
                    self._due.remove(database)


def checkpoint(database: str) -> tuple[int, int, int] | None:
    """One PASSIVE checkpoint of `database`: (busy, frames in the WAL, frames checkpointed), or
    None when the database cannot be opened (deleted) or is busy with another checkpoint."""
    try:
        conn = sqlite3.connect(f"file:{quote(os.path.abspath(database))}?mode=rw", uri=True,
                               isolation_level=None, timeout=1, check_same_thread=False)
    except sqlite3.Error:
        return None
    try:
        return tuple(conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())
    except sqlite3.Error as exc:   # SQLITE_BUSY: another process is checkpointing; the next one will
        log.debug("WAL checkpoint of %s skipped: %s", database, exc)
        return None
    finally:
        conn.close()


CHECKPOINTER = WalCheckpointer()
