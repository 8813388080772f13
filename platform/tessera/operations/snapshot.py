"""Consistent database snapshots and their restore, one pair per database kind.

SQLite: the online backup API (sqlite3's `Connection.backup`, all pages in one step, so it reads
one consistent state while the app keeps serving); restore writes the copy beside the target and
renames it into place, so the target is either the old or the restored database, never half.
PostgreSQL: `pg_dump --format=custom` (one snapshot transaction, consistent under concurrent
writes; PostgreSQL's own tool, rather than a hand-written export that would have to re-create
every index, constraint and full-text column exactly); restore pipes `pg_restore` into one `psql
--single-transaction`, so a failed restore leaves the target as it was.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess

from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, make_url

from .archive import BackupError

CLIENT_HINT = "install PostgreSQL's client programs (Debian/Ubuntu: apt-get install postgresql-client)"


def database_kind(url: str) -> str:
    backend = make_url(url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"cannot back up or restore a {backend} database")
    return backend


# -- SQLite ---------------------------------------------------------------------------------------

def sqlite_path(url: str) -> str:
    path = make_url(url).database
    if not path or path == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up or restore into")
    return os.path.abspath(path)


def snapshot_sqlite(engine, destination: str) -> None:
    raw = engine.raw_connection()
    try:
        target = sqlite3.connect(destination)
        try:
            raw.driver_connection.backup(target)   # pages=-1: every page in one step, one state
        finally:
            target.close()
    finally:
        raw.close()


def sqlite_has_tables(path: str) -> bool:
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return False
    try:
        with _sqlite_readonly(path) as conn:
            return conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0] > 0
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} exists and is not an SQLite database ({exc}): move it away first") from None


def restore_sqlite(snapshot: str, target: str) -> None:
    try:
        with _sqlite_readonly(snapshot) as conn:
            problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"the backup's database is damaged: {exc}") from None
    if problems != ["ok"]:
        raise BackupError(f"the backup's database fails SQLite's integrity check: {'; '.join(problems[:5])}")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    incoming = target + ".restoring"
    shutil.copyfile(snapshot, incoming)
    # The old database's write-ahead log belongs to the old file: replayed into the restored one
    # it would corrupt it. Removed first, so the rename below is the one step that switches.
    for suffix in ("-wal", "-shm", "-journal"):
        if os.path.exists(target + suffix):
            os.remove(target + suffix)
    os.replace(incoming, target)


class _sqlite_readonly:
    def __init__(self, path: str):
        self.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)

    def __enter__(self):
        return self.conn

    def __exit__(self, *exc):
        self.conn.close()


# -- PostgreSQL -----------------------------------------------------------------------------------

def _libpq(url: str) -> tuple[str, dict]:
    """The URL as libpq takes it (no SQLAlchemy driver name), with the password moved to PGPASSWORD
    so it never shows in the process list."""
    parsed: URL = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed: {CLIENT_HINT}")
    return path


def current_schema(engine) -> str:
    """The schema the org lives in: `public`, or the one its URL's search_path names (an org may
    share a database with others, one schema each)."""
    with engine.connect() as conn:
        return conn.execute(text("SELECT current_schema()")).scalar()


def snapshot_postgresql(url: str, schema: str, destination: str) -> None:
    """Dump the org's schema only: other schemas of the database belong to others."""
    conninfo, env = _libpq(url)
    done = subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                           "--schema", _quoted(schema), "--file", destination, "--dbname", conninfo],
                          env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed: {_first_lines(done.stderr)}")


def schema_has_tables(engine, schema: str) -> bool:
    with engine.connect() as conn:
        return bool(inspect(conn).get_table_names(schema=schema))


def schema_exists(engine, schema: str) -> bool:
    with engine.connect() as conn:
        return schema in inspect(conn).get_schema_names()


def restore_postgresql(snapshot: str, url: str, *, source_schema: str, target_schema: str) -> None:
    """Restore in ONE transaction: the target schema is dropped (it is empty, or the caller was
    told to replace it) and the backup's schema restored (and renamed to the target's when the
    names differ), so a failure anywhere leaves the target as it was."""
    conninfo, env = _libpq(url)
    env["PGOPTIONS"] = (env.get("PGOPTIONS", "") + " -c client_min_messages=warning").strip()  # stderr stays small
    psql = [_tool("psql"), "--no-psqlrc", "--quiet", "--set", "ON_ERROR_STOP=1", "--single-transaction",
            "--dbname", conninfo, "--command", f"DROP SCHEMA IF EXISTS {_quoted(target_schema)} CASCADE",
            "--file", "-"]
    if source_schema != target_schema:
        psql += ["--command", f"ALTER SCHEMA {_quoted(source_schema)} RENAME TO {_quoted(target_schema)}"]
    restore = subprocess.Popen([_tool("pg_restore"), "--no-owner", "--no-privileges", "--file", "-", snapshot],
                               env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    apply = subprocess.Popen(psql, env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # The script passes through here rather than straight from one to the other: psql commits
    # when its input ends, so a pg_restore that dies half-way must not end that input — psql is
    # killed instead, before it sees the end, and its transaction never commits.
    try:
        while chunk := restore.stdout.read(1 << 20):
            apply.stdin.write(chunk)
    except BrokenPipeError:       # psql stopped on an error (ON_ERROR_STOP): its stderr says which
        pass
    restore_errors = restore.stderr.read().decode(errors="replace")
    restore.wait()
    if restore.returncode != 0:
        apply.kill()
        apply.wait()
        raise BackupError(f"pg_restore could not read the backup (the target is unchanged): {_first_lines(restore_errors)}")
    try:
        apply.stdin.close()
    except BrokenPipeError:
        pass
    apply_errors = apply.stderr.read().decode(errors="replace")
    apply.wait()
    if apply.returncode != 0:
        raise BackupError(f"the restore failed and was rolled back (the target is unchanged): "
                          f"{_first_lines(apply_errors)}")


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _first_lines(text: str, n: int = 3) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return " / ".join(lines[:n]) or "(no message)"
