"""8. The job queue.

(a) Throughput: two `tessera worker` processes (4 threads each, the default) claim and complete
    jobs of a no-op handler (`bench_queue_handlers.py`, loaded through TESSERA_JOB_MODULES). The
    workers are started and idle first; then N jobs are enqueued in one transaction and the clock
    runs from its commit until the last job is done (polled every 20 ms). Median of the rounds.
    Targets: >= 300 jobs/s on SQLite, >= 1,000 jobs/s on PostgreSQL.
(b) What an enqueue adds to a record write, in the same transaction. The record service has no
    automation step to hook into yet, so the marginal cost of `enqueue` is measured inside a write
    transaction — (single-row INSERT + enqueue + COMMIT) minus (single-row INSERT + COMMIT), Core
    statements, interleaved rounds — and set against a `RecordService.create` of the same object.
    Target: <= 10 % of the record create. The ratio to the raw INSERT alone is printed too.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone

from common import HERE, PLATFORM, ROOT, Result, db_kind, isolated_database, median, open_org

TARGET_RATE = {"sqlite": 300, "postgresql": 1_000}
TARGET_OVERHEAD = 0.10


def _start_worker(url: str, log_path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PLATFORM), str(HERE)]),
           "TESSERA_JOB_MODULES": "bench_queue_handlers"}
    proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "worker", "--database", url, "--poll-interval", "0.05"],
                            env=env, stdout=subprocess.DEVNULL, stderr=open(log_path, "w"))
    proc.log_path = log_path
    return proc


def _wait_started(procs, timeout=60.0):
    deadline = time.monotonic() + timeout
    for proc in procs:
        while "worker started" not in open(proc.log_path).read():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start: {open(proc.log_path).read()}")
            time.sleep(0.05)


def run_throughput(base_url, args, log) -> list[Result]:
    from sqlalchemy import func, select

    from tessera.automation import enqueue
    from tessera.changes import ensure_platform_tables
    from tessera.storage.engine import begin_read, begin_write, make_engine
    from tessera.storage.platform_tables import jobs

    with isolated_database(base_url, "queue") as url:
        kind = db_kind(url)
        engine = make_engine(url)
        ensure_platform_tables(engine)
        procs = [_start_worker(url, tempfile.mkstemp(prefix="tessera-bench-worker-", suffix=".log")[1])
                 for _ in range(2)]
        rates, total = [], 0
        try:
            _wait_started(procs)
            for r in range(args.queue_rounds):
                with begin_write(engine) as conn:
                    for i in range(args.queue_jobs):
                        enqueue(conn, "bench.noop", {"n": i})
                total += args.queue_jobs
                t0 = time.perf_counter()
                while True:
                    with begin_read(engine) as conn:
                        done = conn.execute(select(func.count()).select_from(jobs).where(jobs.c.status == "done")).scalar()
                    if done >= total:
                        break
                    if time.perf_counter() - t0 > 300:
                        raise RuntimeError(f"only {done} of {total} jobs done after 300 s")
                    time.sleep(0.02)
                rates.append(args.queue_jobs / (time.perf_counter() - t0))
                log(f"  round {r + 1}: {rates[-1]:,.0f} jobs/s")
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                os.unlink(proc.log_path)
            engine.dispose()
    rate = median(rates)
    target = TARGET_RATE[kind]
    return [Result("8a queue: jobs/s, 2 worker processes × 4 threads, no-op handler", kind,
                   f"{rate:,.0f} jobs/s (rounds: {', '.join(f'{x:,.0f}' for x in rates)})",
                   f">= {target:,}/s", rate >= target)]


def run_enqueue_cost(base_url, args, log) -> list[Result]:
    from sqlalchemy import insert

    from tessera.automation import enqueue
    from tessera.storage.engine import begin_write

    with isolated_database(base_url, "enqueue") as url:
        kind = db_kind(url)
        org = open_org(url)
        try:
            svc = org.services
            table = svc.runtimes.current().objects["bench_account"].table
            engine = svc.engine
            n = args.enqueue_ops

            row_insert = insert(table)      # built once, as the record service's writer does

            def raw_rows(with_job: bool) -> float:
                t0 = time.perf_counter()
                for i in range(n):
                    now = datetime.now(timezone.utc)
                    rid = uuid.uuid4()
                    with begin_write(engine) as conn:
                        conn.execute(row_insert, dict(id=rid, owner=org.admin_id, created_at=now, updated_at=now,
                                                      created_by=org.admin_id, updated_by=org.admin_id,
                                                      row_version=1, name=f"Raw {i}", industry="Energy"))
                        if with_job:
                            enqueue(conn, "record.created", {"object": "bench_account", "id": str(rid)}, version=1)
                return (time.perf_counter() - t0) / n * 1e6

            def record_creates() -> float:
                t0 = time.perf_counter()
                for i in range(n):
                    svc.records.create(org.actor, "bench_account", {"name": f"Account {i}", "industry": "Energy"})
                return (time.perf_counter() - t0) / n * 1e6

            raw_rows(False), raw_rows(True), record_creates()     # warm up
            plain, with_job, creates = [], [], []
            for r in range(args.enqueue_rounds):
                plain.append(raw_rows(False))
                with_job.append(raw_rows(True))
                creates.append(record_creates())
            p, w, c = median(plain), median(with_job), median(creates)
            marginal = w - p
            log(f"  insert {p:.0f} µs, insert + enqueue {w:.0f} µs, record create {c:.0f} µs")
        finally:
            org.services.engine.dispose()
    share = marginal / c
    return [
        Result("8b enqueue in the write transaction: added cost vs RecordService.create", kind,
               f"+{marginal:.0f} µs on {c:.0f} µs = {share:+.1%}", f"<= {TARGET_OVERHEAD:.0%}", share <= TARGET_OVERHEAD),
        Result("8b enqueue in the write transaction: vs a raw single-row INSERT + COMMIT", kind,
               f"{w:.0f} µs vs {p:.0f} µs = {w / p - 1:+.1%}", "-", None),
    ]


def run(base_url, args, log) -> list[Result]:
    log(f"[{'sqlite' if base_url is None else db_kind(base_url)}] 8a: queue throughput")
    results = run_throughput(base_url, args, log)
    log(f"[{'sqlite' if base_url is None else db_kind(base_url)}] 8b: enqueue cost")
    return results + run_enqueue_cost(base_url, args, log)
