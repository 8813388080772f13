"""Shared fixtures: a fresh, isolated database per test.

SQLite file in tmp_path by default. When TESSERA_TEST_DATABASE_URL is set (PostgreSQL), each test
gets its own schema (`t_<hex>`), selected through the connection's search_path, dropped afterwards.
"""
from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "platform") not in sys.path:
    sys.path.insert(0, str(ROOT / "platform"))

from sqlalchemy import create_engine  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.schema import CreateSchema, DropSchema  # noqa: E402

from tessera.storage.engine import make_engine, normalize_url  # noqa: E402

PG_URL = os.environ.get("TESSERA_TEST_DATABASE_URL")


@pytest.fixture
def db_url(tmp_path):
    """URL of a fresh, empty database (usable by the CLI and subprocesses too)."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'tessera-test.db'}"
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


@pytest.fixture
def engine(db_url):
    eng = make_engine(db_url)
    try:
        yield eng
    finally:
        eng.dispose()
