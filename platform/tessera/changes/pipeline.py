"""The transaction every metadata change runs in.

SQLite (see storage/engine.py): DDL is transactional only because the engine emits BEGIN itself.
Table rewrites (Alembic batch mode: create tmp, copy, drop, rename) must not run with foreign keys
ON — dropping a referenced table would fire ON DELETE CASCADE / SET NULL on its children. So we
follow SQLite's documented 12-step procedure: `PRAGMA foreign_keys=OFF` on the raw DBAPI
connection *before* BEGIN (inside a transaction it is a silent no-op), run the steps, then
`PRAGMA foreign_key_check` before COMMIT (a violation rolls everything back), and foreign keys back
ON whatever happened. The check covers the tables the steps name (`Transaction.foreign_key_tables`:
those rebuilt or otherwise put at risk): database-wide it costs ~200 ms per million rows with
foreign keys, even for a change that rebuilds nothing.

PostgreSQL: DDL is transactional; an advisory lock serializes concurrent changes.
"""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import func, select

from ..storage.engine import mark_write

_LOCK_ID = 0x7E55E7A   # pg_advisory_xact_lock key: one metadata change at a time per database


class ChangeFailed(RuntimeError):
    """A step failed while applying (after the checks passed). Everything was rolled back."""

    def __init__(self, message: str, step=None):
        super().__init__(message)
        self.step = step


class ForeignKeyViolation(ChangeFailed):
    pass


def _raw_pragma(conn, statement: str) -> None:
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(statement)
    finally:
        cursor.close()


class Transaction:
    def __init__(self, conn):
        self.conn = conn
        # SQLite: the tables whose foreign keys are checked before COMMIT; None = every table
        self.foreign_key_tables: list[str] | None = None


def _foreign_key_violations(conn, tables: list[str] | None) -> list:
    if tables is None:
        return conn.exec_driver_sql("PRAGMA foreign_key_check").all()
    quote = conn.dialect.identifier_preparer.quote_identifier
    return [row for table in tables
            for row in conn.exec_driver_sql(f"PRAGMA foreign_key_check({quote(table)})").all()]


@contextmanager
def change_transaction(engine, *, commit: bool = True):
    """Yields a Transaction (`.conn`) inside ONE database transaction; commits on success when
    `commit`, else (and on any error) rolls back: schema, data and versions alike."""
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            _raw_pragma(conn, "PRAGMA foreign_keys=OFF")   # before BEGIN: the 12-step procedure
        try:
            tx = mark_write(conn).begin()                    # BEGIN IMMEDIATE (emitted by the engine on SQLite)
            try:
                if sqlite:
                    if conn.exec_driver_sql("PRAGMA foreign_keys").scalar() != 0:
                        raise RuntimeError("foreign keys are still ON inside the migration transaction")
                else:
                    conn.execute(select(func.pg_advisory_xact_lock(_LOCK_ID)))
                txn = Transaction(conn)
                yield txn
                if sqlite:
                    violations = _foreign_key_violations(conn, txn.foreign_key_tables)
                    if violations:
                        shown = "; ".join(f"{table} row {rowid} → missing {parent}"
                                          for table, rowid, parent, _fkid in violations[:5])
                        raise ForeignKeyViolation(f"the change was rolled back: it would break {len(violations)} foreign key "
                                                  f"reference(s): {shown}")
                if commit:
                    tx.commit()
                else:
                    tx.rollback()
            except BaseException:
                if tx.is_active:
                    tx.rollback()
                raise
        finally:
            if sqlite:
                try:
                    _raw_pragma(conn, "PRAGMA foreign_keys=ON")
                except Exception:   # pragma: no cover - a dead connection is discarded by the pool
                    conn.invalidate()
