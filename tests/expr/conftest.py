"""Fixtures for the expression-language tests: `db` is the test table on SQLite (in memory,
always) and on PostgreSQL (when TESSERA_TEST_DATABASE_URL is set); tests using it run on each."""
from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import MetaData, create_engine
from sqlalchemy.pool import StaticPool

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "platform") not in sys.path:
    sys.path.insert(0, str(ROOT / "platform"))

from expr_db import Database, database_urls, make_table  # noqa: E402


@pytest.fixture(scope="session", params=database_urls(), ids=lambda item: item[0])
def db(request):
    _, url = request.param
    if url == "sqlite://":
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        engine = create_engine(url)
    metadata = MetaData()
    table = make_table(metadata, f"expr_test_{uuid.uuid4().hex[:12]}")
    metadata.create_all(engine)
    try:
        yield Database(engine, table)
    finally:
        metadata.drop_all(engine)
        engine.dispose()
