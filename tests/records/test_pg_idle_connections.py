"""PostgreSQL connections are not pinged on every checkout (a round trip per request, issue 13),
only after sitting idle: one cut while idle (a server restart, a firewall) is replaced
transparently; one used a moment ago is taken as it is."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tessera.storage import engine as engines


def _backend_pid(eng) -> int:
    with eng.connect() as conn:
        return conn.execute(select(func.pg_backend_pid())).scalar_one()


def _terminate(other, pid: int) -> None:
    with other.connect() as conn:
        assert conn.execute(select(func.pg_terminate_backend(pid))).scalar_one() is True


def test_an_idle_connection_cut_by_the_server_is_replaced(engine, monkeypatch):
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's connection pool")
    other = engines.make_engine(engine.url.render_as_string(hide_password=False))
    try:
        first = _backend_pid(engine)
        assert _backend_pid(engine) == first           # the pool hands the same connection back
        _terminate(other, first)
        monkeypatch.setattr(engines, "IDLE_BEFORE_PING_S", 0.0)   # it has now been idle "long enough"
        assert _backend_pid(engine) != first           # pinged, found dead, replaced: no error
    finally:
        other.dispose()


def test_a_connection_used_a_moment_ago_is_not_pinged(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's connection pool")
    other = engines.make_engine(engine.url.render_as_string(hide_password=False))
    try:
        _terminate(other, _backend_pid(engine))
        with pytest.raises(Exception):                 # no ping: the dead connection's statement fails
            _backend_pid(engine)
        assert _backend_pid(engine) > 0                # and the pool has replaced it for the next one
    finally:
        other.dispose()
