"""`tessera worker` processes against one database: N jobs done exactly once by two workers; a
worker killed with SIGKILL mid-job → another takes the job over when the lease expires; SIGTERM
stops a worker cleanly. Handlers come from TESSERA_JOB_MODULES (automation_test_handlers.py)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tessera.automation import enqueue, list_jobs
from tessera.storage.engine import begin_read, begin_write

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


@pytest.fixture
def workers(db_url, queue_engine, tmp_path):
    """start() launches `tessera worker` over the test database; all are killed at teardown."""
    procs = []

    def start(*args):
        log = tmp_path / f"worker-{len(procs)}.log"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "platform"), str(HERE)]),
               "TESSERA_JOB_MODULES": "automation_test_handlers"}
        proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "worker", "--database", db_url,
                                 "--poll-interval", "0.05", *args],
                                env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"))
        proc.log = log
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def wait_until_started(*procs, timeout=60.0):
    # a liveness deadline, not a timing: importing the app takes a worker 9-12 s at a load average of 16
    deadline = time.monotonic() + timeout
    for proc in procs:
        while "worker started" not in proc.log.read_text():
            assert proc.poll() is None, proc.log.read_text()
            assert time.monotonic() < deadline, "worker did not start"
            time.sleep(0.05)


def wait_for_jobs(engine, predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        with begin_read(engine) as conn:
            listed = list_jobs(conn, limit=10_000)
        if predicate(listed):
            return listed
        assert time.monotonic() < deadline, f"timed out: {Counter(j.status for j in listed)}"
        time.sleep(0.1)


def test_two_worker_processes_do_every_job_exactly_once(workers, queue_engine, tmp_path):
    out = tmp_path / "effects.txt"
    first, second = workers("--concurrency", "2"), workers("--concurrency", "2")
    wait_until_started(first, second)
    n = 150
    with begin_write(queue_engine) as conn:
        for i in range(n):
            enqueue(conn, "test.append", {"path": str(out), "n": i, "sleep": 0.01})
    done = wait_for_jobs(queue_engine, lambda js: all(j.status == "done" for j in js))
    assert len(done) == n and all(j.attempts == 1 for j in done)
    lines = [line.split() for line in out.read_text().splitlines()]
    assert sorted(int(n_) for n_, _pid, _attempt in lines) == list(range(n))      # each once, none twice
    assert {int(pid) for _n, pid, _attempt in lines} == {first.pid, second.pid}   # both took part
    for proc in (first, second):
        proc.send_signal(signal.SIGTERM)
    for proc in (first, second):
        assert proc.wait(15) == 0, proc.log.read_text()
        assert "worker stopped" in proc.log.read_text()


def test_a_job_whose_worker_is_killed_is_finished_by_another_after_the_lease_expires(workers, queue_engine,
                                                                                        tmp_path):
    out = tmp_path / "effects.txt"
    procs = {p.pid: p for p in (workers("--lease", "1"), workers("--lease", "1"))}
    wait_until_started(*procs.values())
    with begin_write(queue_engine) as conn:
        job_id = enqueue(conn, "test.hang_first", {"path": str(out)})
    deadline = time.monotonic() + 10
    while not out.exists() or "start" not in out.read_text():
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.05)
    _, pid, attempt = out.read_text().split()
    assert attempt == "1"
    procs[int(pid)].kill()                                    # SIGKILL mid-job: no release, no outcome
    [done] = wait_for_jobs(queue_engine, lambda js: js[0].status == "done")
    assert (done.id, done.attempts) == (job_id, 2)
    assert "lease expired" in done.last_error
    [survivor] = [p for p in procs.values() if p.pid != int(pid)]
    assert out.read_text().splitlines()[1:] == [f"start {survivor.pid} 2", f"done {survivor.pid} 2"]


def test_a_missing_handler_module_stops_the_worker_with_a_clear_error(db_url, queue_engine):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "platform"), "TESSERA_JOB_MODULES": "no_such_handlers_module"}
    result = subprocess.run([sys.executable, str(ROOT / "cli.py"), "worker", "--database", db_url],
                            env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "error: cannot import job handler module 'no_such_handlers_module'" in result.stderr
    assert "Traceback" not in result.stderr
