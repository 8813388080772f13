"""Recurring jobs from cron expressions (five fields, evaluated in UTC, parsed by `cronsim`).

`schedule_due(conn, schedules, now, since=...)` enqueues every firing of every schedule in
(since, now] as a job with the unique key `schedule:<name>:<ISO fire time>` and run_at = the fire
time. Any number of schedulers may run it at once — every worker does, each tick — and each firing
still becomes exactly one job: the unique key collides in the index and the later insert is
ignored (queue.py). A scheduler passes the `now` of its previous tick as `since`; a first tick
looks back DEFAULT_LOOKBACK, so a firing is not lost when every scheduler restarts around it,
while firings missed during a longer outage are not replayed (at most MAX_FIRINGS a tick).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from cronsim import CronSim, CronSimError
from sqlalchemy.engine import Connection

from . import queue as q

DEFAULT_LOOKBACK = timedelta(minutes=1)
MAX_FIRINGS = 100          # per schedule and tick
_NAME = re.compile(r"^[a-z][a-z0-9_.:-]{0,119}$")


@dataclass(frozen=True)
class Schedule:
    name: str                 # unique among schedules; part of every firing's key
    cron: str                 # "*/5 * * * *": minute hour day-of-month month day-of-week, in UTC
    kind: str                 # the handler to run
    payload: Any = field(default_factory=dict)
    queue: str = q.DEFAULT_QUEUE
    priority: int = 0
    max_attempts: int = q.DEFAULT_MAX_ATTEMPTS

    def __post_init__(self):
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError(f"schedule name {self.name!r}: lowercase letters, digits and _ . : - "
                             f"(starting with a letter, at most 120)")
        try:
            CronSim(self.cron, datetime(2000, 1, 1, tzinfo=timezone.utc))
        except (CronSimError, TypeError) as exc:
            raise ValueError(f"schedule '{self.name}': bad cron expression {self.cron!r}: {exc}") from None

    def firings(self, since: datetime, now: datetime) -> list[datetime]:
        """Fire times in (since, now], oldest first (at most MAX_FIRINGS, the latest ones)."""
        out: list[datetime] = []
        for fire in CronSim(self.cron, since.astimezone(timezone.utc)):
            if fire > now:
                break
            out.append(fire)
            if len(out) > MAX_FIRINGS:
                out.pop(0)
        return out


def firing_key(schedule: Schedule, fire: datetime) -> str:
    return f"schedule:{schedule.name}:{fire.astimezone(timezone.utc).isoformat()}"


def schedule_due(conn: Connection, schedules: Iterable[Schedule], now: datetime | None = None, *,
                 since: datetime | None = None, version: int | None = None) -> int:
    """Enqueue (in the caller's write transaction) every firing in (since, now] of `schedules`
    that no scheduler enqueued yet. Returns how many jobs this call created."""
    now = (now or q.utcnow()).astimezone(timezone.utc)
    since = since.astimezone(timezone.utc) if since else now - DEFAULT_LOOKBACK
    created = 0
    for schedule in schedules:
        for fire in schedule.firings(since, now):
            _id, new = q.enqueue_job(conn, schedule.kind, schedule.payload, run_at=fire,
                                     unique_key=firing_key(schedule, fire), max_attempts=schedule.max_attempts,
                                     priority=schedule.priority, queue=schedule.queue, version=version, now=now)
            created += new
    return created
