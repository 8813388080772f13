"""Job handlers: a registry `kind -> handler(payload, context)`, and how a worker finds them.

A handler is any callable taking the job's payload (JSON, as enqueued) and a `JobContext`. It
succeeds by returning and fails by raising (the job is retried with backoff, then dead). It may run
more than once for one job (at-least-once delivery, see queue.py), so its side effects must be
idempotent: a record write checks whether it happened already; an email or webhook passes
`context.idempotency_key` to the other side.

Registering: `@register("kind")` on a function in a module the worker imports;
`@register("kind", backoff=Backoff(base, cap))` gives the kind its own retry delays (a webhook
retries for a day, a quick internal job within minutes) instead of the worker's. The worker (and
`tessera serve`'s in-process worker) imports, before it starts:
- the modules named in `TESSERA_JOB_MODULES` (comma-separated module names, importable from
  PYTHONPATH) — for a deployment's own handlers and for tests;
- every module of the `tessera.jobs` entry point group — how an installed Python package adds its
  handlers: `[project.entry-points."tessera.jobs"] acme = "acme_jobs.handlers"`.
A module may also register recurring jobs with `add_schedule(Schedule(...))` (schedule.py).

Bookkeeping with the outcome. A handler that logs what it did (a webhook's attempt and the
delivery's new status) hands the write to `context.write_with_outcome(writer, item)` instead of
opening a transaction of its own: the worker calls `writer(conn, [items…])` once per batch, in the
transaction that records the jobs' outcomes — one write transaction per batch of jobs instead of
one more per job (on SQLite every write transaction queues for the single write lock).
Tessera's own handlers (`email.send`, email_outbox.py) are registered when `tessera.automation` is
imported, so every worker has them without configuration.
"""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Callable

from ..storage.engine import begin_write
from .queue import Backoff, Job
from .schedule import Schedule

MODULES_ENV = "TESSERA_JOB_MODULES"
ENTRY_POINT_GROUP = "tessera.jobs"
# imported by every worker; a bad setting of theirs raises EnvironmentSettingError naming it
BUILTIN_MODULES = ("tessera.dataio.jobs", "tessera.operations.jobs", "tessera.encryption.jobs")


@dataclass(frozen=True)
class JobContext:
    job_id: int
    kind: str
    queue: str
    attempt: int              # 1 on the first run
    max_attempts: int
    idempotency_key: str      # the same on every attempt of this job, different for every other job
    version: int | None       # the metadata version the job was enqueued under
    services: Any             # tessera.services.Services (records, identity, changes …)
    # (writer, item) pairs the worker writes with this job's outcome; None: write at once
    outcome_writes: list | None = field(default=None, repr=False, compare=False)

    def write_with_outcome(self, writer: "OutcomeWriter", item: Any) -> None:
        """Have `writer(conn, [item, …])` run in the transaction that records this job's outcome
        (done or failed), batched with the same writer's items of other jobs. Without a worker
        collecting them (a handler called directly), it runs now in its own write transaction."""
        if self.outcome_writes is None:
            with begin_write(self.services.engine) as conn:
                writer(conn, [item])
        else:
            self.outcome_writes.append((writer, item))


OutcomeWriter = Callable[[Any, list], None]
Handler = Callable[[Any, JobContext], Any]


def idempotency_key(job: Job) -> str:
    """Stable across the attempts of one job; includes the creation time so a database rebuilt
    from scratch (ids restarting at 1) never reuses an earlier job's key."""
    return f"tessera-job-{job.id}-{job.created_at.strftime('%Y%m%dT%H%M%S%f')}"


class HandlerRegistry:
    def __init__(self):
        self.handlers: dict[str, Handler] = {}
        self.backoffs: dict[str, Backoff] = {}     # kinds with their own retry delays
        self.schedules: dict[str, Schedule] = {}
        # callables (services) -> schedules, asked every scheduler tick: schedules that come from
        # the active metadata (scheduled workflows) change with it
        self.schedule_sources: list[Callable[[Any], list[Schedule]]] = []

    def register(self, kind: str, handler: Handler | None = None, *, backoff: Backoff | None = None):
        """`registry.register("kind", fn)`, or `@registry.register("kind")` as a decorator.
        `backoff`: this kind's retry delays (default: the worker's)."""
        if not isinstance(kind, str) or not kind:
            raise ValueError(f"a job kind is a non-empty string, got {kind!r}")

        def add(fn: Handler) -> Handler:
            existing = self.handlers.get(kind)
            if existing is not None and existing is not fn:
                raise ValueError(f"job kind '{kind}' already has a handler ({_name(existing)})")
            self.handlers[kind] = fn
            if backoff is not None:
                self.backoffs[kind] = backoff
            return fn
        return add(handler) if handler is not None else add

    def add_schedule(self, schedule: Schedule) -> Schedule:
        existing = self.schedules.get(schedule.name)
        if existing is not None and existing != schedule:
            raise ValueError(f"there is already a schedule named '{schedule.name}'")
        self.schedules[schedule.name] = schedule
        return schedule

    def get(self, kind: str) -> Handler | None:
        return self.handlers.get(kind)

    def backoff_for(self, kind: str, default: Backoff) -> Backoff:
        return self.backoffs.get(kind, default)


registry = HandlerRegistry()    # the process's handlers: what workers run by default
register = registry.register
add_schedule = registry.add_schedule


def load_handler_modules(names: str | None = None) -> list[str]:
    """Import the handler modules named in `names` (default: $TESSERA_JOB_MODULES) and those of
    the `tessera.jobs` entry points; returns the module names imported. A module that cannot be
    imported raises ImportError naming it (a worker without its handlers should not start)."""
    names = os.environ.get(MODULES_ENV, "") if names is None else names
    for builtin in BUILTIN_MODULES:   # Tessera's own jobs beyond email (which `automation` registers)
        importlib.import_module(builtin)
    modules = [n.strip() for n in names.split(",") if n.strip()]
    modules += [ep.value.split(":")[0] for ep in entry_points(group=ENTRY_POINT_GROUP)]
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise ImportError(f"cannot import job handler module '{name}': {exc}") from exc
    return modules


def _name(fn) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"
