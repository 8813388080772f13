"""The worker in process (threads): runs handlers with their context, records outcomes, retries,
gives up, reports unknown kinds, renews leases of long jobs, stops gracefully."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import insert, select

from tessera.automation import Backoff, Worker, enqueue, get_job, list_jobs, requeue
from tessera.storage.engine import begin_read, begin_write
from tessera.storage.platform_tables import settings


def put(engine, kind, payload=None, **kw):
    with begin_write(engine) as conn:
        return enqueue(conn, kind, payload, **kw)


def wait_for(engine, predicate, timeout=10.0):
    """Poll the job table until predicate(jobs) holds; returns the jobs."""
    deadline = time.monotonic() + timeout
    while True:
        with begin_read(engine) as conn:
            listed = list_jobs(conn, limit=1000)
        if predicate(listed):
            return listed
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; jobs: {[(j.id, j.kind, j.status, j.attempts) for j in listed]}")
        time.sleep(0.05)


def test_a_worker_runs_each_job_once_with_its_context(queue_services, handlers, start_worker):
    seen = []
    handlers.register("greet", lambda payload, ctx: seen.append((payload["name"], ctx)))
    ids = [put(queue_services.engine, "greet", {"name": n}, version=3) for n in ("ada", "bob", "cy")]
    start_worker(concurrency=2)
    wait_for(queue_services.engine, lambda js: all(j.status == "done" for j in js))
    assert sorted(name for name, _ in seen) == ["ada", "bob", "cy"]
    context = next(ctx for name, ctx in seen if name == "ada")
    assert (context.job_id, context.attempt, context.version, context.services) == (ids[0], 1, 3, queue_services)
    keys = {ctx.idempotency_key for _, ctx in seen}
    assert len(keys) == 3 and all(k.startswith("tessera-job-") for k in keys)


def test_failures_retry_with_backoff_then_die_then_a_requeue_succeeds(queue_services, handlers, start_worker):
    calls, broken = [], threading.Event()
    broken.set()

    def flaky(payload, ctx):
        calls.append(ctx.attempt)
        if broken.is_set():
            raise RuntimeError(f"mail server down (attempt {ctx.attempt})")

    handlers.register("mail", flaky)
    job_id = put(queue_services.engine, "mail", {}, max_attempts=3)
    start_worker(backoff=Backoff(base=0.05, cap=0.2))
    [dead] = wait_for(queue_services.engine, lambda js: js[0].status == "dead")
    assert calls == [1, 2, 3] and dead.attempts == 3
    assert "RuntimeError: mail server down (attempt 3)" in dead.last_error and "Traceback" in dead.last_error
    broken.clear()
    with begin_write(queue_services.engine) as conn:
        requeue(conn, job_id)
    [done] = wait_for(queue_services.engine, lambda js: js[0].status == "done")
    assert calls == [1, 2, 3, 1] and done.attempts == 1


def test_an_unknown_kind_is_a_failure_with_a_clear_error_and_the_worker_goes_on(queue_services, handlers,
                                                                               start_worker):
    handlers.register("known", lambda payload, ctx: None)
    unknown = put(queue_services.engine, "no.such.kind", {}, max_attempts=1)
    known = put(queue_services.engine, "known", {})
    worker = start_worker()
    jobs = {j.id: j for j in wait_for(queue_services.engine, lambda js: {j.status for j in js} == {"dead", "done"})}
    assert jobs[known].status == "done" and jobs[unknown].status == "dead"
    assert "no handler is registered for job kind 'no.such.kind'" in jobs[unknown].last_error
    assert "known kinds: known" in jobs[unknown].last_error
    assert worker.stats.failed == 1 and worker.stats.completed == 1


def test_the_heartbeat_keeps_a_long_job_leased_past_its_lease(queue_services, handlers, start_worker):
    """A job running 4× its lease is not taken by a second worker: the heartbeat renews it."""
    runs = []
    handlers.register("slow", lambda payload, ctx: (runs.append(ctx.attempt), time.sleep(1.6)))
    put(queue_services.engine, "slow", {})
    start_worker(lease=0.4)
    start_worker(lease=0.4)
    [done] = wait_for(queue_services.engine, lambda js: js[0].status == "done")
    assert runs == [1] and done.attempts == 1


def test_stopping_lets_running_jobs_finish_and_releases_those_past_the_grace_period(queue_services, handlers):
    started, finish = threading.Event(), threading.Event()

    def short(payload, ctx):
        started.set()
        time.sleep(0.3)

    def stuck(payload, ctx):
        finish.wait(10)

    handlers.register("short", short)
    handlers.register("stuck", stuck)
    short_id = put(queue_services.engine, "short", {})
    worker = Worker(queue_services, registry=handlers, poll_interval=0.05, shutdown_grace=1.0)
    thread = threading.Thread(target=worker.run)
    thread.start()
    assert started.wait(5)
    worker.stop()
    thread.join(5)
    with begin_read(queue_services.engine) as conn:
        assert get_job(conn, short_id).status == "done"      # finished within the grace period

    stuck_id = put(queue_services.engine, "stuck", {})
    worker = Worker(queue_services, registry=handlers, poll_interval=0.05, shutdown_grace=0.3)
    thread = threading.Thread(target=worker.run)
    thread.start()
    wait_for(queue_services.engine, lambda js: any(j.id == stuck_id and j.status == "running" for j in js))
    worker.stop()
    thread.join(5)
    finish.set()
    assert not thread.is_alive() and worker.stats.released == 1
    with begin_read(queue_services.engine) as conn:
        released = get_job(conn, stuck_id)
    assert (released.status, released.attempts, released.lease_owner) == ("ready", 0, None)


def test_worker_options_are_checked(queue_services):
    with pytest.raises(ValueError, match="concurrency must be at least 1"):
        Worker(queue_services, concurrency=0)


def _save_settings(conn, items):
    """An outcome writer: each item (key, value) becomes a tessera_setting row."""
    if any(key.startswith("bad") for key, _ in items):
        raise ValueError("a bookkeeping write that fails")
    conn.execute(insert(settings), [{"key": key, "value": value} for key, value in items])


def test_outcome_writes_commit_with_the_jobs_outcomes_batched_and_a_failing_one_blocks_nothing(
        queue_services, handlers, start_worker):
    engine = queue_services.engine
    handlers.register("note", lambda payload, ctx: ctx.write_with_outcome(_save_settings, (payload["key"], "done")))

    def note_then_fail(payload, ctx):
        ctx.write_with_outcome(_save_settings, (payload["key"], "attempted"))
        raise RuntimeError("the side effect failed after its attempt was noted")

    handlers.register("note_then_fail", note_then_fail)
    keys = [f"note_{i}" for i in range(12)]
    for key in keys:
        put(engine, "note", {"key": key})
    put(engine, "note", {"key": "bad_one"})
    put(engine, "note_then_fail", {"key": "failed_attempt"}, max_attempts=1)
    worker = start_worker(concurrency=4)
    jobs = wait_for(engine, lambda js: len(js) == 14 and all(j.status in ("done", "dead") for j in js))
    with begin_read(engine) as conn:
        saved = {key: value for key, value in conn.execute(select(settings.c.key, settings.c.value))
                 if key.startswith(("note_", "bad_", "failed_"))}     # not the org's own settings
    # every job's outcome was recorded, the one whose bookkeeping failed too (its write is dropped)
    assert sorted(j.status for j in jobs) == ["dead"] + ["done"] * 13
    assert saved == {**{key: "done" for key in keys}, "failed_attempt": "attempted"}
    assert worker.stats.completed == 13 and worker.stats.failed == 1 and not worker.stats.errors


def test_outcome_writes_outside_a_worker_are_written_at_once(queue_services):
    from tessera.automation import JobContext
    context = JobContext(job_id=1, kind="note", queue="default", attempt=1, max_attempts=1, idempotency_key="k",
                         version=None, services=queue_services)
    context.write_with_outcome(_save_settings, ("direct", "yes"))
    with begin_read(queue_services.engine) as conn:
        assert conn.execute(select(settings.c.value).where(settings.c.key == "direct")).scalar() == "yes"
