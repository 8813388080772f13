"""The queue's protocol through its public functions, on a real database: transactional enqueue,
claim order and leases, retry with backoff, dead and requeue, cancel, expired leases, pruning,
unique keys under concurrency."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select

from tessera.automation import (Backoff, JobNotFound, JobStateError, cancel, claim, complete, count_by_status,
                                enqueue, enqueue_job, fail, get_job, heartbeat, list_jobs, prune, reap_expired,
                                release, requeue)
from tessera.storage.engine import begin_read, begin_write
from tessera.storage.platform_tables import jobs, settings

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def put(engine, kind="k", payload=None, **kw):
    kw.setdefault("now", T0)
    with begin_write(engine) as conn:
        return enqueue(conn, kind, payload, **kw)


def take(engine, owner="w1", now=T0, **kw):
    with begin_write(engine) as conn:
        return claim(conn, owner, now=now, **kw)


def job(engine, job_id):
    with begin_read(engine) as conn:
        return get_job(conn, job_id)


def test_enqueue_is_part_of_the_callers_transaction(queue_engine):
    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        with begin_write(queue_engine) as conn:
            conn.execute(insert(settings).values(key="cause", value="x"))
            enqueue(conn, "k", {"n": 1}, now=T0)
            raise Abort
    with begin_read(queue_engine) as conn:
        assert conn.execute(select(jobs)).all() == []
        assert conn.execute(select(settings).where(settings.c.key == "cause")).all() == []
    with begin_write(queue_engine) as conn:
        conn.execute(insert(settings).values(key="cause", value="x"))
        job_id = enqueue(conn, "k", {"n": 1}, now=T0, version=7)
    created = job(queue_engine, job_id)
    assert (created.status, created.payload, created.attempts, created.version) == ("ready", {"n": 1}, 0, 7)


def test_claim_takes_the_due_jobs_by_priority_then_run_at_and_leases_them(queue_engine):
    late = put(queue_engine, run_at=at(60))
    low = put(queue_engine, priority=5)
    first = put(queue_engine, priority=-1, run_at=at(1))
    second = put(queue_engine, priority=-1)
    other_queue = put(queue_engine, queue="mail")
    claimed = take(queue_engine, now=at(2), limit=10, lease=timedelta(seconds=30))
    assert [j.id for j in claimed] == [second, first, low]
    assert all(j.status == "running" and j.attempts == 1 and j.lease_owner == "w1" for j in claimed)
    assert claimed[0].lease_until == at(32)
    assert take(queue_engine, "w2", now=at(2)) == []                     # nothing due is left
    assert [j.id for j in take(queue_engine, "w2", now=at(2), queues=["mail"])] == [other_queue]
    assert [j.id for j in take(queue_engine, "w2", now=at(61))] == [late]
    with begin_write(queue_engine) as conn:
        assert complete(conn, "w2", [second], now=at(3)) == set()        # not w2's lease
        assert complete(conn, "w1", [second, first], now=at(3)) == {second, first}
    done = job(queue_engine, second)
    assert (done.status, done.finished_at, done.lease_owner) == ("done", at(3), None)


def test_retry_with_backoff_then_dead_then_requeue_then_done(queue_engine):
    backoff = Backoff(base=10, cap=25)
    job_id = put(queue_engine, max_attempts=3)
    now = T0
    for attempt, ceiling in ((1, 10), (2, 20)):
        [claimed] = take(queue_engine, now=now)
        assert claimed.attempts == attempt
        with begin_write(queue_engine) as conn:
            assert fail(conn, "w1", claimed, f"boom {attempt}", backoff=backoff, now=now) == "retry"
        waiting = job(queue_engine, job_id)
        assert waiting.status == "retry" and waiting.last_error == f"boom {attempt}"
        assert now <= waiting.run_at <= now + timedelta(seconds=ceiling)   # full jitter in [0, base·2^(n-1)]
        if waiting.run_at > now:
            assert take(queue_engine, now=now) == []                      # not before run_at
        now = waiting.run_at
    [claimed] = take(queue_engine, now=now)
    with begin_write(queue_engine) as conn:
        assert fail(conn, "w1", claimed, "boom 3", backoff=backoff, now=now) == "dead"
    dead = job(queue_engine, job_id)
    assert (dead.status, dead.attempts, dead.finished_at) == ("dead", 3, now)
    assert take(queue_engine, now=now + timedelta(days=1)) == []
    with begin_write(queue_engine) as conn:
        assert [j.id for j in list_jobs(conn, status="dead")] == [job_id]
        requeued = requeue(conn, job_id, now=now)
    assert (requeued.status, requeued.attempts, requeued.finished_at) == ("ready", 0, None)
    [claimed] = take(queue_engine, now=now)
    assert claimed.attempts == 1
    with begin_write(queue_engine) as conn:
        complete(conn, "w1", [claimed.id], now=now)
        assert count_by_status(conn) == {"done": 1}


def test_backoff_ceiling_doubles_up_to_the_cap():
    backoff = Backoff(base=2, cap=30)
    assert [backoff.ceiling(n) for n in (1, 2, 3, 4, 5, 1000)] == [2, 4, 8, 16, 30, 30]
    delays = [backoff.delay(3).total_seconds() for _ in range(200)]
    assert all(0 <= d <= 8 for d in delays) and max(delays) > 4 > min(delays)   # spread, not fixed


def test_an_expired_lease_makes_the_job_claimable_again_and_the_lost_worker_cannot_finish_it(queue_engine):
    job_id = put(queue_engine, max_attempts=2)
    take(queue_engine, "lost", now=T0, lease=timedelta(seconds=10))
    with begin_write(queue_engine) as conn:
        assert heartbeat(conn, "lost", [job_id], lease=timedelta(seconds=10), now=at(5)) == {job_id}
        assert reap_expired(conn, now=at(14)) == 0                       # renewed until 15
        assert reap_expired(conn, now=at(16)) == 1
    reaped = job(queue_engine, job_id)
    assert reaped.status == "retry" and "lease expired: worker lost" in reaped.last_error
    [again] = take(queue_engine, "w2", now=at(16), lease=timedelta(seconds=10))
    assert again.attempts == 2
    with begin_write(queue_engine) as conn:
        assert heartbeat(conn, "lost", [job_id], now=at(17)) == set()
        assert complete(conn, "lost", [job_id], now=at(17)) == set()
        # its last attempt's worker is lost too: dead, not claimable forever
        assert reap_expired(conn, now=at(30)) == 1
    assert job(queue_engine, job_id).status == "dead"


def test_release_gives_the_job_back_without_counting_the_attempt(queue_engine):
    job_id = put(queue_engine)
    take(queue_engine)
    with begin_write(queue_engine) as conn:
        assert release(conn, "w1", [job_id], now=at(1)) == {job_id}
    released = job(queue_engine, job_id)
    assert (released.status, released.attempts, released.lease_owner) == ("ready", 0, None)


def test_cancel_and_requeue_rules(queue_engine):
    waiting, running = put(queue_engine), put(queue_engine, priority=-1)
    take(queue_engine, limit=1)
    with begin_write(queue_engine) as conn:
        assert cancel(conn, waiting, now=at(1)).status == "cancelled"
        with pytest.raises(JobStateError, match=f"job {running} is running"):
            cancel(conn, running)
        with pytest.raises(JobStateError, match="only dead or cancelled jobs can be requeued"):
            requeue(conn, running)
        with pytest.raises(JobNotFound, match="there is no job 999"):
            requeue(conn, 999)
    assert take(queue_engine, "w2", now=at(2)) == []


def test_prune_deletes_finished_jobs_after_the_retention_period_only(queue_engine):
    done_id, dead_id, waiting_id = put(queue_engine), put(queue_engine, max_attempts=1), put(queue_engine, run_at=at(999))
    claimed = take(queue_engine, limit=2)
    with begin_write(queue_engine) as conn:
        complete(conn, "w1", [done_id], now=T0)
        fail(conn, "w1", next(j for j in claimed if j.id == dead_id), "x", now=T0)
        assert prune(conn, retention=timedelta(days=1), now=T0 + timedelta(hours=23)) == 0
        assert prune(conn, retention=timedelta(days=1), now=T0 + timedelta(days=2)) == 1
        assert {j.id for j in list_jobs(conn)} == {dead_id, waiting_id}   # dead jobs wait for an admin


def test_a_unique_key_makes_one_job_without_aborting_the_transaction(queue_engine):
    with begin_write(queue_engine) as conn:
        first, created = enqueue_job(conn, "k", {"n": 1}, unique_key="once", now=T0)
        again, created_again = enqueue_job(conn, "k", {"n": 2}, unique_key="once", now=T0)
        conn.execute(insert(settings).values(key="after", value="still in the transaction"))
    assert (first, created, again, created_again) == (first, True, first, False)
    with begin_read(queue_engine) as conn:
        assert conn.execute(select(jobs.c.payload)).scalars().all() == [{"n": 1}]
        assert conn.execute(select(settings.c.value).where(settings.c.key == "after")).scalar() is not None


def test_concurrent_enqueues_of_one_key_create_one_job(queue_engine):
    """Transactions overlap (each holds its insert open a moment before committing): the unique
    index makes the later ones wait and insert nothing, none fails."""
    n = 4
    barrier, results, errors = threading.Barrier(n), [], []

    def enqueue_once(i):
        try:
            barrier.wait()
            with begin_write(queue_engine) as conn:
                job_id, created = enqueue_job(conn, "k", {"by": i}, unique_key="schedule:x:1")
                threading.Event().wait(0.2)
            results.append(created)
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=enqueue_once, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert errors == [] and sorted(results) == [False] * (n - 1) + [True]
    with begin_read(queue_engine) as conn:
        assert conn.execute(select(jobs.c.id)).scalars().all() != [] and len(list_jobs(conn)) == 1


def test_concurrent_claimers_never_take_the_same_job(queue_engine):
    with begin_write(queue_engine) as conn:
        ids = {enqueue(conn, "k", {"n": i}, now=T0) for i in range(60)}
    taken, lock = [], threading.Lock()

    def claimer(owner):
        while True:
            batch = take(queue_engine, owner, now=at(1), limit=4)
            if not batch:
                return
            with lock:
                taken.extend(j.id for j in batch)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert sorted(taken) == sorted(ids)


@pytest.mark.parametrize("bad, message", [
    (dict(kind=""), "job kind must be a non-empty string"),
    (dict(payload={"when": datetime.now()}), "job payload must be JSON"),
    (dict(max_attempts=0), "max_attempts must be a positive integer"),
    (dict(run_at=datetime(2030, 1, 1)), "timezone-aware"),
    (dict(unique_key="x" * 300), "unique_key must be a non-empty string of at most 255"),
])
def test_bad_enqueue_arguments_are_refused_clearly(queue_engine, bad, message):
    args = {"kind": "k", "payload": {}, **bad}
    with begin_write(queue_engine) as conn:
        with pytest.raises(ValueError, match=message):
            enqueue(conn, args.pop("kind"), args.pop("payload"), **args)
    with pytest.raises(ValueError, match="unknown job status"):
        with begin_read(queue_engine) as conn:
            list_jobs(conn, status="lost")
