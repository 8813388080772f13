"""Databases for tests (imported as `databases`).

`fresh_database_url`: a fresh, empty database — a SQLite file in a directory, or, when
TESSERA_TEST_DATABASE_URL is set (PostgreSQL), a schema of its own (`t_<hex>`) selected through the
connection's search_path and dropped afterwards.

`Templates`: databases seeded once per test process (packages installed, an admin created) and
copied for every test that needs that seed — installing the packages per test was most of the
suite's time. SQLite copies through the backup API; PostgreSQL clones a template database
(`CREATE DATABASE … TEMPLATE`), dropped after the test in background threads: PostgreSQL 15
runs a checkpoint for every DROP DATABASE, a wait no test needs to sit through, and drops waiting
together are served by one checkpoint.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterator

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from sqlalchemy.schema import CreateSchema, DropSchema

from tessera.deploys.service import process_alive
from tessera.storage.engine import normalize_url

PG_URL = os.environ.get("TESSERA_TEST_DATABASE_URL")
DATABASE_PREFIX = "tess_"        # databases this module creates: tess_<pid>_<hex>
DROPPING_THREADS = 4


def fresh_database_url(directory: Path) -> Iterator[str]:
    """Yields the URL of a fresh database (usable by the CLI and subprocesses too), then drops it."""
    if not PG_URL:
        yield f"sqlite:///{Path(directory) / 'tessera-test.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(normalize_url(PG_URL))
    with admin.begin() as conn:
        conn.execute(CreateSchema(schema))
    url = make_url(normalize_url(PG_URL)).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(DropSchema(schema, cascade=True))
        admin.dispose()


class Templates:
    """Seeded template databases of one test process, by seed name, built on first use."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.built: dict[str, str] = {}          # seed name -> template URL
        self._admin = None
        if PG_URL:
            self._admin = create_engine(normalize_url(PG_URL), isolation_level="AUTOCOMMIT")
            self._drop_orphans()
            self._dropper = create_engine(normalize_url(PG_URL), isolation_level="AUTOCOMMIT", poolclass=NullPool)
            self._dropping = ThreadPoolExecutor(max_workers=DROPPING_THREADS, thread_name_prefix="drop-test-db")

    def copy(self, name: str, seed: Callable[[str], None], directory: Path) -> Iterator[str]:
        """Yields the URL of a copy of the `name` template (built by `seed(url)` the first time),
        then drops the copy."""
        template = self.built.get(name) or self._build(name, seed)
        if not PG_URL:
            target = Path(directory) / "tessera-test.db"
            _sqlite_copy(make_url(template).database, target)
            yield f"sqlite:///{target}"
            return
        yield from self._database_for_the_test(f'CREATE DATABASE "{{name}}" TEMPLATE "{make_url(template).database}"')

    def empty(self, directory: Path, stem: str = "empty") -> Iterator[str]:
        """Yields the URL of an empty database of its own (a PostgreSQL database, not a schema of
        the test database: for what needs a whole database, like a restore), then drops it."""
        if not PG_URL:
            yield f"sqlite:///{Path(directory) / (stem + '.db')}"
            return
        yield from self._database_for_the_test('CREATE DATABASE "{name}"')

    def _database_for_the_test(self, create: str) -> Iterator[str]:
        """Creates a database (`create` with its generated name), yields its URL, drops it after."""
        database = self._new_database_name()
        # CREATE DATABASE has no SQLAlchemy Core construct; the names are generated here.
        self._execute(create.format(name=database))
        try:
            yield _pg_url(database)
        finally:
            self._dropping.submit(self._drop, database)

    def close(self) -> None:
        if self._admin is not None:
            for url in self.built.values():
                self._dropping.submit(self._drop, make_url(url).database)
            self._dropping.shutdown(wait=True)
            self._dropper.dispose()
            self._admin.dispose()

    def _drop(self, database: str) -> None:
        try:
            with self._dropper.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        except Exception as exc:   # left for _drop_orphans of a later run; the tests go on
            print(f"could not drop test database {database}: {exc}", file=sys.stderr)

    def _build(self, name: str, seed: Callable[[str], None]) -> str:
        if PG_URL:
            database = self._new_database_name()
            self._execute(f'CREATE DATABASE "{database}"')
            url = _pg_url(database)
        else:
            url = f"sqlite:///{self.directory / (name + '.db')}"
        seed(url)          # must dispose its engines: a template with open sessions cannot be cloned
        self.built[name] = url
        return url

    def _new_database_name(self) -> str:
        return f"{DATABASE_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:12]}"

    def _execute(self, statement: str) -> None:
        with self._admin.connect() as conn:
            conn.execute(text(statement))

    def _drop_orphans(self) -> None:
        """Databases left by test processes that were killed (their pid is gone)."""
        with self._admin.connect() as conn:
            names = conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :prefix"),
                                 {"prefix": DATABASE_PREFIX + "%"}).scalars().all()
        for name in names:
            pid = name[len(DATABASE_PREFIX):].split("_", 1)[0]
            if pid.isdigit() and not process_alive(int(pid)):
                self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_url(database: str) -> str:
    return make_url(normalize_url(PG_URL)).set(database=database).render_as_string(hide_password=False)


def _sqlite_copy(source: str, target: Path) -> None:
    """A consistent copy through SQLite's backup API (a WAL-mode file may not be whole on its own);
    the files store beside it (`<database>.files`) comes along."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()
    files = Path(source + ".files")
    if files.is_dir():
        shutil.copytree(files, Path(str(target) + ".files"))
