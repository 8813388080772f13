"""Dashboard snapshots: the figures of a dashboard with `cache_minutes`, kept "as of" their
computation (Salesforce's dashboards work this way), so viewing a dashboard of a large org is one
read instead of every component's report.

A snapshot belongs to exactly one way of computing it — the dashboard, the metadata version, whom it
ran as (user, profile, role, permission sets, groups: a change of someone's access is a new key, so
nobody is shown figures built under access they no longer have) and the filter values. It is
refreshed when older than `cache_minutes`, or sooner on request (`refresh`), at most once a minute.

Results are stored as tagged JSON (dates, decimals, UUIDs and tuples round-trip to what a fresh
run returns); a result holding anything else is simply not kept.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from ..security.actor import Actor
from ..storage.engine import begin_read, begin_write
from ..storage.platform_tables import dashboard_snapshots

MIN_REFRESH = timedelta(minutes=1)


class Unstorable(TypeError):
    pass


def encode(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Decimal):
        return {"$d": str(value)}
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, time):
        return {"$t": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"$u": str(value)}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, tuple):
        return {"$tuple": [encode(v) for v in value]}
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {k: encode(v) for k, v in value.items()}
        return {"$map": [[encode(k), encode(v)] for k, v in value.items()]}
    raise Unstorable(type(value).__name__)


_TAGS = {"$d": Decimal, "$dt": datetime.fromisoformat, "$date": date.fromisoformat, "$t": time.fromisoformat,
         "$u": uuid.UUID}


def decode(value):
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (tag, inner), = value.items()
        if tag in _TAGS:
            return _TAGS[tag](inner)
        if tag == "$tuple":
            return tuple(decode(v) for v in inner)
        if tag == "$map":
            return {decode(k): decode(v) for k, v in inner}
    return {k: decode(v) for k, v in value.items()}


def snapshot_key(dashboard: str, version, actor: Actor, filters: dict, fiscal_start_month: int) -> str:
    who = [str(actor.user_id), actor.profile, actor.role, sorted(actor.permission_sets),
           sorted(actor.permission_set_groups), sorted(actor.groups)]
    doc = [dashboard, version, who, sorted((k, v) for k, v in filters.items() if v != ""), fiscal_start_month]
    return hashlib.sha256(json.dumps(doc, separators=(",", ":")).encode()).hexdigest()


class DashboardSnapshots:
    def __init__(self, engine):
        self.engine = engine

    def fetch(self, key: str) -> tuple[datetime, dict] | None:
        with begin_read(self.engine) as conn:
            row = conn.execute(select(dashboard_snapshots.c.computed_at, dashboard_snapshots.c.result)
                               .where(dashboard_snapshots.c.key == key)).first()
        if row is None:
            return None
        computed = row.computed_at if row.computed_at.tzinfo else row.computed_at.replace(tzinfo=timezone.utc)
        return computed, decode(row.result)

    def store(self, key: str, dashboard: str, computed_at: datetime, result: dict) -> bool:
        """Keep `result` (False: it holds a value that cannot be stored; nothing kept)."""
        try:
            doc = encode(result)
        except Unstorable:
            return False
        try:
            with begin_write(self.engine) as conn:
                conn.execute(delete(dashboard_snapshots).where(dashboard_snapshots.c.key == key))
                conn.execute(insert(dashboard_snapshots).values(key=key, dashboard=dashboard, computed_at=computed_at,
                                                                result=doc))
        except IntegrityError:      # another worker stored the same snapshot at the same moment
            pass
        return True

    def forget(self, dashboard: str | None = None) -> None:
        with begin_write(self.engine) as conn:
            stmt = delete(dashboard_snapshots)
            conn.execute(stmt if dashboard is None else stmt.where(dashboard_snapshots.c.dashboard == dashboard))
