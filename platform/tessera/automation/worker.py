"""The worker: claims jobs and runs their handlers on a pool of threads.

One dispatcher thread (the caller of `Worker.run`) does all the database work of the queue: in
one short write transaction it records the outcomes of the jobs that finished (done, or failed →
retry / dead) and claims as many jobs as that leaves threads free (queue.claim), then hands them
to the pool. It sleeps `poll_interval` when there is nothing to do, and is woken early when a job
finishes (or by `wake()`). Every few seconds it also reaps expired leases, fires due schedules and,
now and then, prunes old jobs: every worker does this housekeeping, so no process is special.

A heartbeat thread renews the leases of the jobs being run every lease/3. Stopping (the stop
event, or SIGTERM/SIGINT with `install_signal_handlers`): no more claims; running handlers get
`shutdown_grace` seconds to finish and have their outcome recorded; jobs still running after that
are released (claimable again at once) before `run` returns — if the process is killed instead,
their leases expire and another worker takes them over.
"""
from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import threading
import time
import traceback
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Callable, Iterable

from sqlalchemy import func, select

from ..storage.engine import begin_write
from . import queue as q
from .handlers import HandlerRegistry, JobContext, idempotency_key, registry as default_registry
from .schedule import Schedule, schedule_due

log = logging.getLogger(__name__)

PRUNE_EVERY = 600.0         # seconds between prunes of old done/cancelled jobs
SCHEDULE_EVERY = 1.0        # seconds between scheduler ticks


@dataclass
class WorkerStats:
    completed: int = 0
    failed: int = 0          # attempts that raised (retried or dead)
    lost: int = 0            # outcomes not recorded: the lease had been lost
    released: int = 0
    scheduled: int = 0
    reaped: int = 0
    errors: list[str] = field(default_factory=list)   # database errors the loop survived


class Worker:
    def __init__(self, services, *, concurrency: int = 4, queues: Iterable[str] = (q.DEFAULT_QUEUE,),
                 registry: HandlerRegistry | None = None, stop_event: threading.Event | None = None,
                 lease: float = q.DEFAULT_LEASE.total_seconds(), poll_interval: float = 0.5,
                 backoff: q.Backoff = q.Backoff(), retention: timedelta = q.DEFAULT_RETENTION,
                 schedules: Iterable[Schedule] | Callable[[], Iterable[Schedule]] | None = None,
                 shutdown_grace: float = 25.0, name: str | None = None):
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if lease <= 0 or poll_interval <= 0:
            raise ValueError("lease and poll_interval must be positive")
        self.services = services
        self.engine = services.engine
        self.concurrency = concurrency
        self.queues = tuple(queues)
        self.registry = registry or default_registry
        self.stop_event = stop_event or threading.Event()
        self.lease = timedelta(seconds=lease)
        self.poll_interval = poll_interval
        self.backoff = backoff
        self.retention = retention
        self._schedules = schedules
        self.shutdown_grace = shutdown_grace
        self.owner = name or f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(3)}"
        self.stats = WorkerStats()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._running: dict[int, q.Job] = {}           # claimed, outcome not yet recorded
        self._outcomes: deque[tuple[q.Job, str | None, list]] = deque()   # (job, error, outcome writes)
        self._schedule_since = None
        self._next = {"reap": 0.0, "prune": 0.0, "schedule": 0.0}

    # -- public --------------------------------------------------------------------------------
    def wake(self) -> None:
        """Claim now instead of at the next poll (e.g. after enqueueing in this process)."""
        self._wake.set()

    def stop(self) -> None:
        self.stop_event.set()
        self._wake.set()

    def run(self) -> WorkerStats:
        """Run until the stop event is set; returns what was done."""
        pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="tessera-job")
        beat_stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(beat_stop,), name="tessera-job-heartbeat", daemon=True)
        beat.start()
        log.info("worker %s: %d threads, queues %s", self.owner, self.concurrency, ", ".join(self.queues))
        try:
            while not self.stop_event.is_set():
                self._wake.clear()
                claimed = self._guarded(self._step, pool)
                if not self.stop_event.is_set() and not claimed:
                    self._wake.wait(self.poll_interval)
            self._drain()
        finally:
            beat_stop.set()
            pool.shutdown(wait=False, cancel_futures=True)
            beat.join(timeout=5)
        return self.stats

    # -- the dispatcher's loop -----------------------------------------------------------------
    def _step(self, pool) -> int:
        """Do the housekeeping that is due; record the outcomes of finished jobs and claim jobs for
        the free threads, in one transaction. Returns how many jobs were claimed when that filled
        every thread (more may be waiting), else 0 (the queue is drained, or nothing was free)."""
        self._housekeeping()
        batch = self._take_outcomes()
        with self._lock:
            free = self.concurrency - len(self._running) + len(batch)
        if not batch and free <= 0:
            return 0
        try:
            with self._transaction() as conn:
                recorded = self._write_outcomes(conn, batch)
                claimed = q.claim(conn, self.owner, queues=self.queues, limit=free, lease=self.lease) if free else []
        except Exception:
            self._outcomes.extendleft(reversed(batch))   # recorded at the next step
            raise
        self._count_outcomes(batch, recorded)
        with self._lock:
            for job in claimed:
                self._running[job.id] = job
        for job in claimed:
            pool.submit(self._execute, job)
        return len(claimed) if claimed and len(claimed) == free else 0

    @contextmanager
    def _transaction(self):
        """A write transaction of the queue's own bookkeeping. On PostgreSQL it commits without
        waiting for the WAL flush (synchronous_commit off, this transaction only): a crash may
        forget its last few milliseconds — a claim (the lease then expires) or a completion (the
        job then runs again) — which at-least-once delivery already allows, and the worker stops
        paying a disk flush per batch. Enqueues are never written this way: they commit with the
        caller's transaction."""
        with begin_write(self.engine) as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(select(func.set_config("synchronous_commit", "off", True)))
            yield conn

    def _execute(self, job: q.Job) -> None:
        error, writes = None, []
        try:
            handler = self.registry.get(job.kind)
            if handler is None:
                known = ", ".join(sorted(self.registry.handlers)) or "none"
                error = f"no handler is registered for job kind '{job.kind}' in worker {self.owner} (known kinds: {known})"
            else:
                handler(job.payload, JobContext(job_id=job.id, kind=job.kind, queue=job.queue, attempt=job.attempts,
                                                max_attempts=job.max_attempts, idempotency_key=idempotency_key(job),
                                                version=job.version, services=self.services, outcome_writes=writes))
        except BaseException as exc:   # noqa: BLE001 — a handler's failure (even SystemExit) is the job's, not the worker's
            error = "".join(traceback.format_exception(exc)).rstrip() or repr(exc)
        finally:
            self._outcomes.append((job, error, writes))
            self._wake.set()

    def _take_outcomes(self) -> list[tuple[q.Job, str | None, list]]:
        batch = []
        while self._outcomes:
            batch.append(self._outcomes.popleft())
        return batch

    def _write_outcomes(self, conn, batch) -> dict[int, str | None]:
        """job id -> the status recorded (done, retry, dead), None when the lease was lost. The
        handlers' outcome writes (JobContext.write_with_outcome) go first, one call per writer —
        also for a job whose lease was lost: what its handler did (an attempt sent) happened."""
        _write_handler_outcomes(conn, [w for _job, _error, writes in batch for w in writes])
        done = q.complete(conn, self.owner, [job.id for job, error, _w in batch if error is None])
        recorded: dict[int, str | None] = {}
        for job, error, _writes in batch:
            if error is None:
                recorded[job.id] = q.DONE if job.id in done else None
            else:
                recorded[job.id] = q.fail(conn, self.owner, job, error,
                                             backoff=self.registry.backoff_for(job.kind, self.backoff))
        return recorded

    def _count_outcomes(self, batch, recorded) -> None:
        with self._lock:
            for job, _error, _writes in batch:
                self._running.pop(job.id, None)
        for job, error, _writes in batch:
            status = recorded[job.id]
            if status is None:
                self.stats.lost += 1
                log.warning("job %s (%s): outcome not recorded, the lease was lost (another worker may run it)",
                            job.id, job.kind)
            elif error is None:
                self.stats.completed += 1
            else:
                self.stats.failed += 1
                log.warning("job %s (%s) attempt %d/%d failed → %s: %s", job.id, job.kind, job.attempts,
                            job.max_attempts, status, error.splitlines()[-1])

    def _record_outcomes(self) -> None:
        batch = self._take_outcomes()
        if not batch:
            return
        try:
            with self._transaction() as conn:
                recorded = self._write_outcomes(conn, batch)
        except Exception:
            self._outcomes.extendleft(reversed(batch))
            raise
        self._count_outcomes(batch, recorded)

    def _housekeeping(self) -> None:
        now = time.monotonic()
        if now >= self._next["reap"]:
            self._next["reap"] = now + min(max(self.lease.total_seconds() / 2, 0.2), 15.0)
            with begin_write(self.engine) as conn:
                reaped = q.reap_expired(conn)
            if reaped:
                self.stats.reaped += reaped
                log.warning("%d job(s) whose worker was lost (lease expired) are claimable again", reaped)
        schedules = self._current_schedules()
        if schedules and now >= self._next["schedule"]:
            self._next["schedule"] = now + SCHEDULE_EVERY
            tick = q.utcnow()
            with begin_write(self.engine) as conn:
                self.stats.scheduled += schedule_due(conn, schedules, tick, since=self._schedule_since)
            self._schedule_since = tick
        if now >= self._next["prune"]:
            self._next["prune"] = now + PRUNE_EVERY
            with begin_write(self.engine) as conn:
                q.prune(conn, retention=self.retention)

    def _current_schedules(self) -> list[Schedule]:
        source = self._schedules
        if source is None:
            found = list(self.registry.schedules.values())
            for provide in self.registry.schedule_sources:
                found += provide(self.services)
            return found
        return list(source() if callable(source) else source)

    def _heartbeat(self, beat_stop: threading.Event) -> None:
        while not beat_stop.wait(self.lease.total_seconds() / 3):
            with self._lock:
                ids = list(self._running)
            if not ids:
                continue
            try:
                with self._transaction() as conn:
                    held = q.heartbeat(conn, self.owner, ids, lease=self.lease)
                for job_id in set(ids) - held:
                    log.warning("job %s: lease lost (reaped or cancelled); its outcome will not be recorded", job_id)
            except Exception as exc:  # noqa: BLE001 — the next beat tries again; the lease has slack
                log.warning("heartbeat failed: %s", exc)

    def _drain(self) -> None:
        """Stopping: let running handlers finish within the grace period, then release the rest."""
        deadline = time.monotonic() + self.shutdown_grace
        while True:
            self._guarded(lambda: self._record_outcomes())
            with self._lock:
                left = list(self._running)
            if not left or time.monotonic() >= deadline:
                break
            self._wake.wait(0.05)
            self._wake.clear()
        if left:
            try:
                with begin_write(self.engine) as conn:
                    released = q.release(conn, self.owner, left)
                self.stats.released += len(released)
                log.warning("stopping: released %d unfinished job(s): %s", len(released), sorted(released))
            except Exception as exc:  # noqa: BLE001 — their leases expire instead
                log.warning("stopping: could not release jobs %s (their leases will expire): %s", left, exc)

    def _guarded(self, fn, *args):
        """Run one step; a database error (server restart, lock timeout) is logged and survived:
        the worker waits a poll interval and tries again."""
        try:
            return fn(*args)
        except Exception as exc:  # noqa: BLE001
            message = f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            self.stats.errors.append(message)
            log.error("worker %s: %s (retrying)", self.owner, message, exc_info=log.isEnabledFor(logging.DEBUG))
            self.stop_event.wait(self.poll_interval)
            return 0


def _write_handler_outcomes(conn, writes) -> None:
    """Run the handlers' outcome writes grouped by writer, each group in a savepoint: a group
    that fails (a row deleted meanwhile, say) is retried item by item, and an item that still
    fails is logged and dropped — it must not keep the jobs' outcomes from being recorded."""
    groups: dict = {}
    for writer, item in writes:
        groups.setdefault(writer, []).append(item)
    for writer, items in groups.items():
        try:
            with conn.begin_nested():
                writer(conn, items)
            continue
        except Exception as exc:  # noqa: BLE001
            if len(items) == 1:
                log.error("outcome write %s failed, dropped: %s", getattr(writer, "__qualname__", writer), exc)
                continue
        for item in items:
            try:
                with conn.begin_nested():
                    writer(conn, [item])
            except Exception as exc:  # noqa: BLE001
                log.error("outcome write %s failed, dropped: %s", getattr(writer, "__qualname__", writer), exc)


def run_worker(services, *, concurrency: int = 4, queues: Iterable[str] = (q.DEFAULT_QUEUE,),
               stop_event: threading.Event | None = None, install_signal_handlers: bool = False,
               **options) -> WorkerStats:
    """Run a worker until `stop_event` is set (or SIGTERM/SIGINT arrives, with
    `install_signal_handlers`, from the main thread). `options`: see `Worker`."""
    worker = Worker(services, concurrency=concurrency, queues=queues, stop_event=stop_event, **options)
    if install_signal_handlers:
        def on_signal(signum, _frame):
            log.info("worker %s: %s received, stopping", worker.owner, signal.Signals(signum).name)
            worker.stop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, on_signal)
    return worker.run()
