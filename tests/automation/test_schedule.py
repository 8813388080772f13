"""Recurring jobs: cron firings become jobs once each, however many schedulers run."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from tessera.automation import Schedule, schedule_due
from tessera.storage.engine import begin_read, begin_write
from tessera.storage.platform_tables import jobs

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)
EVERY_MINUTE = Schedule("digest", "* * * * *", "mail.digest", {"to": "team"})
HOURLY = Schedule("cleanup", "0 * * * *", "cleanup")


def firings(engine):
    with begin_read(engine) as conn:
        return conn.execute(select(jobs.c.unique_key, jobs.c.kind, jobs.c.payload, jobs.c.run_at)
                            .order_by(jobs.c.unique_key)).all()


def test_each_firing_in_the_window_becomes_one_job_keyed_by_name_and_fire_time(queue_engine):
    with begin_write(queue_engine) as conn:
        created = schedule_due(conn, [EVERY_MINUTE, HOURLY], T0 + timedelta(minutes=2, seconds=5),
                               since=T0 - timedelta(seconds=30))
        again = schedule_due(conn, [EVERY_MINUTE, HOURLY], T0 + timedelta(minutes=2, seconds=6),
                             since=T0 - timedelta(seconds=1))   # the same firings again: nothing new
    assert (created, again) == (4, 0)
    rows = firings(queue_engine)
    assert [r.unique_key for r in rows] == ["schedule:cleanup:2030-01-01T12:00:00+00:00",
                                            "schedule:digest:2030-01-01T12:00:00+00:00",
                                            "schedule:digest:2030-01-01T12:01:00+00:00",
                                            "schedule:digest:2030-01-01T12:02:00+00:00"]
    digest = rows[1]
    assert digest.kind == "mail.digest" and digest.payload == {"to": "team"}
    assert digest.run_at.replace(tzinfo=timezone.utc) == T0


def test_two_schedulers_running_at_once_create_each_firing_once(queue_engine):
    """Two scheduler threads tick over the same ten minutes in their own transactions."""
    barrier, created, errors = threading.Barrier(2), [], []

    def scheduler():
        try:
            barrier.wait()
            since = T0 - timedelta(seconds=1)
            for tick in range(1, 21):                   # a tick every 30 s
                now = T0 + timedelta(seconds=30 * tick)
                with begin_write(queue_engine) as conn:
                    created.append(schedule_due(conn, [EVERY_MINUTE, HOURLY], now, since=since))
                since = now
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert errors == []
    keys = [r.unique_key for r in firings(queue_engine)]
    assert len(keys) == len(set(keys)) == 12              # 11 minute firings (12:00..12:10), 1 hourly
    assert sum(created) == 12


def test_a_worker_fires_its_schedules(queue_services, handlers, start_worker):
    ran = threading.Event()
    handlers.register("tick", lambda payload, ctx: ran.set())
    start_worker(schedules=[Schedule("every_minute", "* * * * *", "tick")])
    # the first tick looks back a minute: the latest minute's firing is due at once
    assert ran.wait(10)


@pytest.mark.parametrize("bad, message", [
    (dict(cron="61 * * * *"), "bad cron expression '61 \\* \\* \\* \\*'"),
    (dict(cron="every day"), "bad cron expression"),
    (dict(name="Bad Name"), "schedule name 'Bad Name'"),
])
def test_bad_schedules_are_refused_clearly(bad, message):
    with pytest.raises(ValueError, match=message):
        Schedule(**{"name": "ok", "cron": "* * * * *", "kind": "k", **bad})
