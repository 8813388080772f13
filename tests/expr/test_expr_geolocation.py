"""DISTANCE, GEOLOCATION, LATITUDE and LONGITUDE (issue 14 §1): type checking, and Python and SQL
agreeing (haversine) on SQLite — with its own math functions and with the Python ones the engine
registers where a build lacks them — and on PostgreSQL."""
from __future__ import annotations

import os
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import Column, Integer, MetaData, Numeric, Table, create_engine, event, insert, select
from sqlalchemy.pool import StaticPool

from tessera.expr import ExprError, compile_expression
from tessera.meta.geolocations import GeoPoint
from tessera.storage.engine import _ensure_math_functions

TYPES = {("loc",): "geolocation", ("home",): "geolocation", ("n",): "number", ("name",): "text"}
resolve = TYPES.get

PARIS, LONDON, NEW_YORK, SYDNEY = ((48.8566, 2.3522), (51.5074, -0.1278), (40.7128, -74.006), (-33.8688, 151.2093))


def point(pair):
    return None if pair is None else GeoPoint(*(Decimal(str(v)) for v in pair))


def _urls():
    urls = [("sqlite", "sqlite://", False), ("sqlite-python-math", "sqlite://", True)]
    if os.environ.get("TESSERA_TEST_DATABASE_URL"):
        urls.append(("postgresql", os.environ["TESSERA_TEST_DATABASE_URL"], False))
    return urls


@pytest.fixture(scope="module", params=_urls(), ids=lambda p: p[0])
def db(request):
    _, url, python_math = request.param
    if url.startswith("sqlite"):
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
        if python_math:
            event.listen(engine, "connect", lambda dbapi, _r: _ensure_math_functions(dbapi, dbapi.cursor(), force=True))
    else:
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    metadata = MetaData()
    table = Table(f"geo_{uuid.uuid4().hex[:10]}", metadata, Column("pk", Integer, primary_key=True),
                  *[Column(f"{f}__{p}", Numeric(9, 6)) for f in ("loc", "home") for p in ("lat", "lng")])
    metadata.create_all(engine)
    yield engine, table
    metadata.drop_all(engine)
    engine.dispose()


def sql_values(db, text, rows):
    engine, table = db
    compiled = compile_expression(text, resolve)
    expression = compiled.to_sql(lambda path: table.c[path[-1]], dialect_name=engine.dialect.name)
    with engine.connect() as conn, conn.begin() as txn:
        conn.execute(insert(table), [{"pk": i, "loc__lat": loc and loc[0], "loc__lng": loc and loc[1],
                                      "home__lat": home and home[0], "home__lng": home and home[1]}
                                     for i, (loc, home) in enumerate(rows)])
        out = [r[0] for r in conn.execute(select(expression).select_from(table).order_by(table.c.pk))]
        txn.rollback()
    return out


def python_values(text, rows):
    compiled = compile_expression(text, resolve)
    return [compiled.evaluate({("loc",): point(loc), ("home",): point(home)}) for loc, home in rows]


ROWS = [(PARIS, LONDON), (PARIS, NEW_YORK), (SYDNEY, LONDON), (PARIS, PARIS), (None, PARIS), (LONDON, None)]


@pytest.mark.parametrize("text", [
    "DISTANCE(loc, home)", "DISTANCE(loc, home, 'km')", "DISTANCE(loc, home, 'mi')",
    "DISTANCE(loc, GEOLOCATION(48.85, 2.35), 'km')", "DISTANCE(GEOLOCATION(n, 2), home)",
    "LATITUDE(loc)", "LONGITUDE(home)", "LATITUDE(GEOLOCATION(1.5, 2))",
])
def test_python_and_sql_agree(db, text):
    in_sql, in_python = sql_values(db, text.replace("n,", "1.5,"), ROWS), python_values(text.replace("n,", "1.5,"), ROWS)
    for got, want in zip(in_sql, in_python):
        if want is None:
            assert got is None
        else:
            assert float(got) == pytest.approx(float(want), rel=1e-9, abs=1e-6)


def test_known_distances():
    paris_london = python_values("DISTANCE(loc, home, 'km')", [(PARIS, LONDON)])[0]
    assert float(paris_london) == pytest.approx(343.5, abs=0.5)
    assert float(python_values("DISTANCE(loc, home, 'mi')", [(PARIS, NEW_YORK)])[0]) == pytest.approx(3627, abs=3)


def test_blank_and_out_of_range_points_give_blank(db):
    assert python_values("DISTANCE(loc, GEOLOCATION(91, 0))", [(PARIS, None)]) == [None]
    assert sql_values(db, "DISTANCE(loc, GEOLOCATION(91, 0))", [(PARIS, None)]) == [None]
    assert sql_values(db, "ISBLANK(loc)", [(PARIS, None), (None, None)]) in ([False, True], [0, 1])


@pytest.mark.parametrize("text, message", [
    ("loc == home", "cannot compare geolocations"),
    ("loc < home", "cannot compare geolocations"),
    ("loc + 1", "'+' cannot be applied to geolocation"),
    ("IF(n > 1, loc, home)", "function IF cannot take a geolocation"),
    ("BLANKVALUE(loc, home)", "function BLANKVALUE cannot take a geolocation"),
    ("TEXT(loc)", "function TEXT cannot take a geolocation"),
    ("CASE(n, 1, loc, home)", "function CASE cannot give a geolocation"),
    ("DISTANCE(loc, home, 'm')", "argument 3 (the unit) must be 'km' or 'mi'"),
    ("DISTANCE(loc, home, name)", "argument 3 (the unit) must be 'km' or 'mi'"),
    ("DISTANCE(loc, n)", "argument 2 must be a geolocation"),
    ("GEOLOCATION(name, 1)", "argument 1 must be a number"),
    ("LATITUDE(n)", "argument 1 must be a geolocation"),
])
def test_type_errors(text, message):
    with pytest.raises(ExprError) as info:
        compile_expression(text, resolve)
    assert message in str(info.value)
