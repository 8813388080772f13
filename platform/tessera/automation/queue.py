"""The durable job queue: a platform table (`tessera_job`) in the org's own database, so the
embedded SQLite setup needs no broker, and a job is written in the SAME transaction as the record
change that caused it: if that transaction rolls back, the job never existed; if it commits, the
job exists (no lost and no phantom jobs). The model is Solid Queue's, Oban's and pgqueuer's.

Life of a job (`status`):

    ready ──claim──▶ running ──complete──▶ done            (pruned after the retention period)
      ▲                 │
      │                 ├──fail──▶ retry ──(run_at passes)──claim──▶ running ...
      │                 │            └──(attempts == max_attempts)──▶ dead
      │                 └──lease expires (worker lost)──▶ retry, or dead when out of attempts
      └──requeue (attempts reset)── dead / cancelled ◀──cancel── ready / retry

Claiming. A claim picks the first claimable jobs of some queues — status ready or retry, run_at
passed — in (priority, run_at, id) order, lower priority first, and in the same statement marks
them running, counts the attempt and leases them to the claiming worker:
- PostgreSQL: `WITH picked AS (SELECT id … ORDER BY … LIMIT n FOR UPDATE SKIP LOCKED)
  UPDATE tessera_job … WHERE id IN (SELECT id FROM picked) RETURNING …`. Concurrent claimers skip
  each other's locked rows instead of waiting for them, so workers never block each other and never
  claim the same job. (Under READ COMMITTED, a row another claimer committed meanwhile is re-checked
  against the WHERE when locked, and dropped.)
- SQLite: the same single `UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING …` (FOR UPDATE is not
  rendered), run in a write transaction that `storage.engine.begin_write` opens with BEGIN
  IMMEDIATE: SQLite has one writer at a time, so the statement is atomic against every other
  claimer by construction.
Claims take up to `limit` jobs at once (a worker asks for as many as it has free threads), which
is most of the throughput: one transaction per batch, not per job.

Leases (at-least-once). A claimed job is leased to its worker until `lease_until` (30 s by
default); the worker's heartbeat renews the lease of every job it is running (every lease/3).
`reap_expired` (every worker runs it periodically) turns a running job whose lease expired — its
worker was killed, lost its database connection, or hung — back into `retry` (claimable at once),
or into `dead` when that was its last attempt, so a job that kills its worker cannot loop forever.
`complete` and `fail` only touch a job still leased to the caller: a worker that lost its lease
cannot overwrite the outcome of the worker that took the job over. Handlers therefore run at least
once, and (rarely) more than once: side effects must be idempotent (see the idempotency key).

Backoff. A failed attempt n (1-based) waits a random delay in [0, min(cap, base·2^(n-1))] seconds
— exponential backoff with "full jitter" (AWS architecture blog, "Exponential Backoff And
Jitter"): retries of many jobs that failed together (an SMTP outage) spread out instead of coming
back in waves. Defaults: base 5 s, cap 1 h, 20 attempts (≈ 5 h of trying on average).

Idempotency. `unique_key` (nullable) is unique among the jobs the table holds (a unique index;
NULLs never collide): enqueueing a key that exists inserts nothing (`INSERT … ON CONFLICT
(unique_key) DO NOTHING` on both databases — not SQLite's INSERT OR IGNORE, which would also
silently drop rows that break a NOT NULL constraint) and does not abort the caller's transaction;
concurrent inserts of one key collide in the index and exactly one wins. Done and cancelled jobs
are pruned after the retention period (7 days by default), which frees their keys; dead jobs stay
until an admin requeues or cancels them. The cron scheduler relies on this: a firing's key
`schedule:<name>:<iso fire time>` makes it exist once however many schedulers run.
Handlers get a separate key derived from the job (`handlers.idempotency_key`) to hand to the
other side of a side effect (an email's Message-ID, a webhook's Idempotency-Key header).

Time comes from the application's clock (UTC), not the database's: the same code on both
databases, and `now` can be given (tests). Worker hosts of one PostgreSQL database must keep their
clocks in sync (NTP); a lease of 30 s tolerates ordinary skew.

Every function takes a SQLAlchemy Connection inside a transaction the caller owns; functions that
write need a write transaction (`begin_write`) on SQLite.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from sqlalchemy import String, bindparam, case, cast, delete, func, literal, select, update
from sqlalchemy.engine import Connection

from ..records.writer import InsertWriter
from ..storage.platform_tables import jobs

READY, RUNNING, DONE, RETRY, DEAD, CANCELLED = "ready", "running", "done", "retry", "dead", "cancelled"
STATUSES = (READY, RUNNING, DONE, RETRY, DEAD, CANCELLED)
WAITING = (READY, RETRY)            # claimable once run_at has passed

DEFAULT_QUEUE = "default"
DEFAULT_MAX_ATTEMPTS = 20
DEFAULT_LEASE = timedelta(seconds=30)
DEFAULT_RETENTION = timedelta(days=7)
ERROR_LIMIT = 4000                  # characters of last_error kept (the end of a traceback matters most)
PRUNE_BATCH = 10_000


class QueueError(Exception):
    code = "queue_error"


class JobNotFound(QueueError):
    code = "not_found"


class JobStateError(QueueError):
    code = "invalid_state"


@dataclass(frozen=True)
class Backoff:
    """Delay before retry n: uniform in [0, min(cap, base · 2^(n-1))] seconds (full jitter)."""
    base: float = 5.0
    cap: float = 3600.0

    def ceiling(self, attempt: int) -> float:
        return min(self.cap, self.base * 2.0 ** min(max(attempt - 1, 0), 60))

    def delay(self, attempt: int) -> timedelta:
        return timedelta(seconds=random.uniform(0.0, self.ceiling(attempt)))


@dataclass(frozen=True)
class Job:
    id: int
    queue: str
    kind: str
    payload: Any
    status: str
    priority: int
    run_at: datetime
    attempts: int
    max_attempts: int
    last_error: str | None
    lease_owner: str | None
    lease_until: datetime | None
    unique_key: str | None
    created_at: datetime
    finished_at: datetime | None
    version: int | None


def _status_in(statuses) -> object:
    """`status IN ('ready', 'retry')` with the values inlined, not bound: the partial indexes
    (platform_tables) are declared for these constants, and PostgreSQL only uses a partial index
    when it can prove the query's condition implies the index's — never through a generic plan's
    parameters (psycopg prepares a statement after a few executions)."""
    return jobs.c.status.in_([literal(s, literal_execute=True) for s in statuses])


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive: they were stored in UTC."""
    return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("job times must be timezone-aware (UTC): got a naive datetime")
    return value.astimezone(timezone.utc)


def _job(row) -> Job:
    m = row._mapping
    return Job(**{name: (_aware(m[name]) if isinstance(m[name], datetime) else m[name]) for name in Job.__dataclass_fields__})


def _check_name(what: str, value, limit: int) -> None:
    if not isinstance(value, str) or not value or len(value) > limit:
        raise ValueError(f"job {what} must be a non-empty string of at most {limit} characters, got {value!r}")


# -- enqueue -----------------------------------------------------------------------------------
def enqueue(conn: Connection, kind: str, payload: Any = None, *, run_at: datetime | None = None,
            unique_key: str | None = None, max_attempts: int = DEFAULT_MAX_ATTEMPTS, priority: int = 0,
            queue: str = DEFAULT_QUEUE, version: int | None = None, now: datetime | None = None) -> int | None:
    """Add a job in the caller's transaction (`conn`): it exists exactly when that commits.

    `payload`: any JSON value (default `{}`); `run_at`: not before then (default now);
    `unique_key`: when a job with this key exists already, nothing is inserted and the existing
    job's id is returned (None if it is not visible to this transaction); the caller's transaction
    goes on either way. Returns the job's id."""
    job_id, _created = enqueue_job(conn, kind, payload, run_at=run_at, unique_key=unique_key,
                                   max_attempts=max_attempts, priority=priority, queue=queue, version=version, now=now)
    return job_id


def enqueue_job(conn: Connection, kind: str, payload: Any = None, *, run_at: datetime | None = None,
                unique_key: str | None = None, max_attempts: int = DEFAULT_MAX_ATTEMPTS, priority: int = 0,
                queue: str = DEFAULT_QUEUE, version: int | None = None,
                now: datetime | None = None) -> tuple[int | None, bool]:
    """`enqueue`, also saying whether this call created the job (False: the key existed)."""
    _check_name("kind", kind, _KIND_LENGTH)
    _check_name("queue", queue, _QUEUE_LENGTH)
    if unique_key is not None:
        _check_name("unique_key", unique_key, _KEY_LENGTH)
    if not isinstance(max_attempts, int) or max_attempts < 1:
        raise ValueError(f"max_attempts must be a positive integer, got {max_attempts!r}")
    if not isinstance(priority, int):
        raise ValueError(f"priority must be an integer, got {priority!r}")
    payload = {} if payload is None else payload
    try:
        json.dumps(payload, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"job payload must be JSON (dicts, lists, strings, numbers, booleans, null): {exc}") from None
    now = _utc(now or utcnow())
    values = dict(queue=queue, kind=kind, payload=payload, status=READY, priority=priority,
                  run_at=_utc(run_at) if run_at else now, attempts=0, max_attempts=max_attempts,
                  unique_key=unique_key, created_at=now, version=version)
    if unique_key is None:
        return _plain_insert(conn.dialect).insert_one(conn, values), True
    job_id = conn.execute(_insert_unless_key_exists(conn.dialect.name), values).scalar()
    if job_id is not None:
        return job_id, True
    return conn.execute(select(jobs.c.id).where(jobs.c.unique_key == unique_key)).scalar(), False


_KIND_LENGTH, _QUEUE_LENGTH, _KEY_LENGTH = (jobs.c[name].type.length for name in ("kind", "queue", "unique_key"))
_ENQUEUED_COLUMNS = ["queue", "kind", "payload", "status", "priority", "run_at", "attempts", "max_attempts",
                     "unique_key", "created_at", "version"]


class _JobInsert(InsertWriter):
    """The INSERT of an enqueue, compiled once per dialect and run through the driver with the
    columns' own bind processors (records/writer.py). An enqueue runs inside the caller's record
    write, and SQLAlchemy's per-execution work (parameter processing, the compiled-cache lookup,
    the result's metadata) cost more than the INSERT itself: ~100 µs of Python per enqueue on
    SQLite against ~35 µs this way. The new id: SQLite's lastrowid, PostgreSQL's RETURNING."""
    def __init__(self, dialect):
        self.returns = dialect.name != "sqlite"
        super().__init__(jobs, dialect, columns=_ENQUEUED_COLUMNS, returning=jobs.c.id if self.returns else None)

    def insert_one(self, conn: Connection, values: dict) -> int:
        result = self.execute_row(conn, values)
        return result.scalar() if self.returns else result.lastrowid


_PLAIN_INSERTS: dict[str, _JobInsert] = {}
_UNIQUE_INSERTS: dict[str, object] = {}


def _plain_insert(dialect) -> _JobInsert:
    stmt = _PLAIN_INSERTS.get(dialect.name)
    if stmt is None:
        stmt = _PLAIN_INSERTS[dialect.name] = _JobInsert(dialect)
    return stmt


def _insert_unless_key_exists(dialect_name: str):
    stmt = _UNIQUE_INSERTS.get(dialect_name)
    if stmt is None:
        if dialect_name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        elif dialect_name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:   # Tessera runs on these two; another needs its own "insert unless the key exists"
            raise NotImplementedError(f"the job queue supports SQLite and PostgreSQL, not {dialect_name}")
        stmt = _UNIQUE_INSERTS[dialect_name] = (insert(jobs).on_conflict_do_nothing(
            index_elements=[jobs.c.unique_key], index_where=jobs.c.unique_key.is_not(None))
                                                .returning(jobs.c.id))
    return stmt


# -- workers: claim, heartbeat, finish ----------------------------------------------------------
def claim(conn: Connection, owner: str, *, queues: Iterable[str] = (DEFAULT_QUEUE,), limit: int = 1,
          lease: timedelta = DEFAULT_LEASE, now: datetime | None = None) -> list[Job]:
    """Lease up to `limit` claimable jobs of `queues` to `owner` (see the module docstring);
    returns them in claim order, each with its attempt counted. Needs a write transaction."""
    now = _utc(now or utcnow())
    claimed = [_job(row) for row in conn.execute(_claim_statement(tuple(queues)),
                                                 {"c_now": now, "c_limit": limit, "c_owner": owner,
                                                  "c_lease_until": now + lease})]
    claimed.sort(key=lambda j: (j.priority, j.run_at, j.id))   # RETURNING order is unspecified
    return claimed


_CLAIMS: dict[tuple[str, ...], object] = {}


def _claim_statement(queues: tuple[str, ...]):
    """The claim, built once per set of queues with bind parameters: a worker claims after every
    finished batch, and building and cache-keying the statement each time was a tenth of its
    dispatcher's time."""
    stmt = _CLAIMS.get(queues)
    if stmt is None:
        picked = (select(jobs.c.id)
                  .where(_status_in(WAITING), jobs.c.queue.in_(list(queues)), jobs.c.run_at <= bindparam("c_now", type_=jobs.c.run_at.type))
                  .order_by(jobs.c.priority, jobs.c.run_at, jobs.c.id)
                  .limit(bindparam("c_limit"))
                  .with_for_update(skip_locked=True)      # PostgreSQL; SQLite renders no FOR UPDATE
                  .cte("picked"))
        if len(_CLAIMS) >= 64:     # queue sets come from configuration: a few per process
            _CLAIMS.clear()
        stmt = _CLAIMS[queues] = (
            update(jobs).where(jobs.c.id.in_(select(picked.c.id)))
            .values(status=RUNNING, attempts=jobs.c.attempts + 1,
                    lease_owner=bindparam("c_owner", type_=jobs.c.lease_owner.type),
                    lease_until=bindparam("c_lease_until", type_=jobs.c.lease_until.type))
            .returning(*jobs.c))
    return stmt


def heartbeat(conn: Connection, owner: str, ids: Iterable[int], *, lease: timedelta = DEFAULT_LEASE,
              now: datetime | None = None) -> set[int]:
    """Extend the leases `owner` holds on `ids`; returns the ids still held (a job missing from it
    was reaped or cancelled: its outcome will not be recorded by this owner)."""
    ids = list(ids)
    if not ids:
        return set()
    now = _utc(now or utcnow())
    stmt = (update(jobs).where(jobs.c.id.in_(ids), jobs.c.lease_owner == owner, jobs.c.status == RUNNING)
            .values(lease_until=now + lease).returning(jobs.c.id))
    return set(conn.execute(stmt).scalars())


def complete(conn: Connection, owner: str, ids: Iterable[int], *, now: datetime | None = None) -> set[int]:
    """Mark done the jobs of `ids` still leased to `owner`; returns those."""
    ids = list(ids)
    if not ids:
        return set()
    now = _utc(now or utcnow())
    stmt = (update(jobs).where(jobs.c.id.in_(ids), jobs.c.lease_owner == owner, jobs.c.status == RUNNING)
            .values(status=DONE, finished_at=now, lease_owner=None, lease_until=None).returning(jobs.c.id))
    return set(conn.execute(stmt).scalars())


def fail(conn: Connection, owner: str, job: Job, error: str, *, backoff: Backoff = Backoff(),
         now: datetime | None = None) -> str | None:
    """Record a failed attempt of `job` (as claimed by `owner`): `retry` after a backoff delay, or
    `dead` when it was the last attempt. Returns the new status (None: the lease was lost)."""
    now = _utc(now or utcnow())
    last = job.attempts >= job.max_attempts
    status = DEAD if last else RETRY
    values = dict(status=status, last_error=truncate_error(error), lease_owner=None, lease_until=None)
    values.update(finished_at=now) if last else values.update(run_at=now + backoff.delay(job.attempts))
    result = conn.execute(update(jobs).where(jobs.c.id == job.id, jobs.c.lease_owner == owner,
                                             jobs.c.status == RUNNING).values(values))
    return status if result.rowcount else None


def release(conn: Connection, owner: str, ids: Iterable[int], *, now: datetime | None = None) -> set[int]:
    """Give back jobs `owner` claimed but will not finish (a worker stopping): ready again at
    once, the attempt not counted."""
    ids = list(ids)
    if not ids:
        return set()
    now = _utc(now or utcnow())
    stmt = (update(jobs).where(jobs.c.id.in_(ids), jobs.c.lease_owner == owner, jobs.c.status == RUNNING)
            .values(status=READY, run_at=now, attempts=jobs.c.attempts - 1, lease_owner=None, lease_until=None)
            .returning(jobs.c.id))
    return set(conn.execute(stmt).scalars())


def reap_expired(conn: Connection, *, now: datetime | None = None) -> int:
    """Running jobs whose lease expired (their worker is gone): claimable again at once, or dead
    when that was their last attempt. Returns how many."""
    now = _utc(now or utcnow())
    last = jobs.c.attempts >= jobs.c.max_attempts
    stmt = (update(jobs).where(_status_in([RUNNING]), jobs.c.lease_until < now)
            .values(status=case((last, DEAD), else_=RETRY),
                    finished_at=case((last, now), else_=None),
                    run_at=now,
                    last_error=literal("lease expired: worker ") + func.coalesce(jobs.c.lease_owner, "?")
                    + literal(" stopped renewing it during attempt ") + cast(jobs.c.attempts, String),
                    lease_owner=None, lease_until=None))
    return conn.execute(stmt).rowcount


def prune(conn: Connection, *, retention: timedelta = DEFAULT_RETENTION, now: datetime | None = None) -> int:
    """Delete done and cancelled jobs finished more than `retention` ago (at most PRUNE_BATCH at a
    time, so one call never holds the table long). Returns how many."""
    now = _utc(now or utcnow())
    old = (select(jobs.c.id).where(_status_in((DONE, CANCELLED)), jobs.c.finished_at < now - retention)
           .limit(PRUNE_BATCH))
    return conn.execute(delete(jobs).where(jobs.c.id.in_(old))).rowcount


def truncate_error(error: str) -> str:
    error = str(error)
    if len(error) <= ERROR_LIMIT:
        return error
    return "…" + error[-(ERROR_LIMIT - 1):]


# -- admin -------------------------------------------------------------------------------------
def get_job(conn: Connection, job_id: int) -> Job | None:
    row = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
    return _job(row) if row else None


def list_jobs(conn: Connection, *, status: str | None = None, queue: str | None = None, kind: str | None = None,
              limit: int = 100, offset: int = 0) -> list[Job]:
    """Newest first; `offset` skips that many (pages of the setup Jobs list)."""
    if status is not None and status not in STATUSES:
        raise ValueError(f"unknown job status {status!r} (one of: {', '.join(STATUSES)})")
    stmt = select(jobs).order_by(jobs.c.id.desc()).limit(limit).offset(offset)
    if status is not None:
        stmt = stmt.where(_status_in([status]))
    for column, value in ((jobs.c.queue, queue), (jobs.c.kind, kind)):
        if value is not None:
            stmt = stmt.where(column == value)
    return [_job(row) for row in conn.execute(stmt)]


def count_by_status(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(jobs.c.status, func.count()).group_by(jobs.c.status))
    return {status: n for status, n in rows}


def requeue(conn: Connection, job_id: int, *, now: datetime | None = None,
            only: tuple[str, ...] = (DEAD, CANCELLED)) -> Job:
    """A dead (or cancelled) job runs again from attempt 1, at once; it keeps its last error.
    `only=(DEAD,)`: refuse a cancelled one too (the setup Jobs page re-queues dead jobs only)."""
    return _transition(conn, job_id, only, now,
                       dict(status=READY, attempts=0, run_at=_utc(now or utcnow()), finished_at=None))


def requeue_dead(conn: Connection, kind: str, *, now: datetime | None = None) -> int:
    """Every dead job of `kind` runs again from attempt 1 (after an outage was fixed); returns how many."""
    now = _utc(now or utcnow())
    return conn.execute(update(jobs).where(_status_in([DEAD]), jobs.c.kind == kind)
                        .values(status=READY, attempts=0, run_at=now, finished_at=None)).rowcount


def count_by_kind(conn: Connection, status: str | None = None) -> dict[str, int]:
    """{kind: jobs of it} (of one status), for the setup Jobs page's kind filter."""
    stmt = select(jobs.c.kind, func.count()).group_by(jobs.c.kind).order_by(jobs.c.kind)
    if status is not None:
        stmt = stmt.where(_status_in([status]))
    return {kind: n for kind, n in conn.execute(stmt)}


def cancel(conn: Connection, job_id: int, *, now: datetime | None = None) -> Job:
    """A waiting (ready, retry) or dead job will not run. A running job cannot be cancelled: it
    finishes, or its lease expires."""
    return _transition(conn, job_id, (READY, RETRY, DEAD), now, dict(status=CANCELLED, finished_at=_utc(now or utcnow())))


def cancel_key(conn: Connection, unique_key: str, *, now: datetime | None = None) -> bool:
    """Cancel the waiting job with this unique key, if there is one (a plan that changed)."""
    done = conn.execute(update(jobs).where(jobs.c.unique_key == unique_key, jobs.c.status.in_((READY, RETRY)))
                        .values(status=CANCELLED, finished_at=_utc(now or utcnow())))
    return done.rowcount == 1


def enqueue_or_revive(conn: Connection, kind: str, payload: Any, *, unique_key: str, run_at: datetime,
                      **options) -> int | None:
    """`enqueue` for a plan keyed by what it is for (a record's time-relative workflow at one
    fire time): a job of that key cancelled earlier, while the plan was off, is made waiting again
    instead of being kept out by its key; a done one is not run twice."""
    job_id, created = enqueue_job(conn, kind, payload, unique_key=unique_key, run_at=run_at, **options)
    if not created and job_id is not None:
        conn.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.status == CANCELLED)
                     .values(status=READY, attempts=0, run_at=_utc(run_at), finished_at=None))
    return job_id


def _transition(conn, job_id, allowed, now, values) -> Job:
    row = conn.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.status.in_(allowed)).values(values)
                       .returning(*jobs.c)).first()
    if row is not None:
        return _job(row)
    job = get_job(conn, job_id)
    if job is None:
        raise JobNotFound(f"there is no job {job_id}")
    raise JobStateError(f"job {job_id} is {job.status}; only {' or '.join(allowed)} jobs can be "
                        f"{'requeued' if values['status'] == READY else 'cancelled'}")
