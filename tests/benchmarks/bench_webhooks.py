"""9. Webhook deliveries.

Two `tessera worker` processes (4 threads each, the default) deliver webhooks — signed, SSRF-checked,
logged — to a local receiver (http.server threads on 127.0.0.1, in this process; the operator's
TESSERA_WEBHOOK_ALLOW_PRIVATE=1 lets the workers reach it). The workers are started and idle first;
then N deliveries (delivery row + job each, as a workflow's webhook action writes them) are
enqueued in one transaction and the clock runs from its commit until the last one is `delivered`
(polled every 20 ms). Median of the rounds. Target: >= 200 deliveries/s.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time

from common import HERE, PLATFORM, ROOT, Result, db_kind, isolated_database, median

TARGET_RATE = 200


def _start_worker(url: str, log_path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(PLATFORM), "TESSERA_WEBHOOK_ALLOW_PRIVATE": "1"}
    proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "worker", "--database", url, "--poll-interval", "0.05"],
                            env=env, stdout=subprocess.DEVNULL, stderr=open(log_path, "w"))
    proc.log_path = log_path
    return proc


def run(base_url, args, log) -> list[Result]:
    from sqlalchemy import func, select

    from tessera.automation import webhooks
    from tessera.automation.credentials import set_credential
    from tessera.changes import ensure_platform_tables
    from tessera.storage.engine import begin_read, begin_write, make_engine
    from tessera.storage.platform_tables import webhook_deliveries

    sys.path.insert(0, str(HERE.parent / "automation"))
    from webhook_receiver import Receiver

    kind = "sqlite" if base_url is None else db_kind(base_url)
    log(f"[{kind}] 9: webhook deliveries")
    with isolated_database(base_url, "webhooks") as url:
        engine = make_engine(url)
        ensure_platform_tables(engine)
        set_credential(engine, "bench_hooks", "webhook_signing")
        receiver = Receiver()
        procs = [_start_worker(url, tempfile.mkstemp(prefix="tessera-bench-webhook-", suffix=".log")[1])
                 for _ in range(2)]
        rates, total = [], 0
        try:
            for proc in procs:
                deadline = time.monotonic() + 60
                while "worker started" not in open(proc.log_path).read():
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"worker did not start: {open(proc.log_path).read()}")
                    time.sleep(0.05)
            for r in range(args.webhook_rounds):
                with begin_write(engine) as conn:
                    for i in range(args.webhook_deliveries):
                        webhooks.enqueue_delivery(conn, workflow="bench", url=receiver.url, credential="bench_hooks",
                                                  event="bench.created", data={"n": i, "name": f"Record {i}"})
                total += args.webhook_deliveries
                t0 = time.perf_counter()
                while True:
                    with begin_read(engine) as conn:
                        done = conn.execute(select(func.count()).select_from(webhook_deliveries)
                                            .where(webhook_deliveries.c.status == "delivered")).scalar()
                    if done >= total:
                        break
                    if time.perf_counter() - t0 > 300:
                        raise RuntimeError(f"only {done} of {total} webhooks delivered after 300 s")
                    time.sleep(0.02)
                rates.append(args.webhook_deliveries / (time.perf_counter() - t0))
                log(f"  round {r + 1}: {rates[-1]:,.0f} deliveries/s")
            if len({h["webhook-id"] for h, _ in receiver.requests}) != total:
                raise RuntimeError("the receiver did not get one request per delivery")
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                os.unlink(proc.log_path)
            receiver.stop()
            engine.dispose()
    rate = median(rates)
    return [Result("9 webhooks: deliveries/s to a local receiver, 2 worker processes × 4 threads", kind,
                   f"{rate:,.0f}/s (rounds: {', '.join(f'{x:,.0f}' for x in rates)})", f">= {TARGET_RATE}/s",
                   rate >= TARGET_RATE)]
