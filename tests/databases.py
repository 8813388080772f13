"""A fresh, empty database for tests (imported as `databases`): a SQLite file in a directory, or,
when TESSERA_TEST_DATABASE_URL is set (PostgreSQL), a schema of its own (`t_<hex>`), selected
through the connection's search_path and dropped afterwards."""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateSchema, DropSchema

from tessera.storage.engine import normalize_url

PG_URL = os.environ.get("TESSERA_TEST_DATABASE_URL")


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
