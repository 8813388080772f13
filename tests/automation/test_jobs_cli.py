"""`tessera jobs` (list, filter, requeue, cancel) and `tessera serve`'s in-process worker."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from tessera.automation import claim, enqueue, fail, get_job
from tessera.cli import _register, cli
from tessera.storage.engine import begin_read, begin_write

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
_register() if not cli.commands else None


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def make_dead_job(engine):
    with begin_write(engine) as conn:
        job_id = enqueue(conn, "mail.send", {"to": "x"}, max_attempts=1)
    with begin_write(engine) as conn:
        [job] = claim(conn, "w1")
        fail(conn, "w1", job, "Traceback ...\nConnectionRefusedError: [Errno 111] Connection refused")
    return job_id


def test_jobs_lists_filters_requeues_and_cancels(db_url, queue_engine):
    dead = make_dead_job(queue_engine)
    with begin_write(queue_engine) as conn:
        waiting = enqueue(conn, "report.build", {}, queue="reports")
    r = run("jobs", "--database", db_url)
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0] == "ready: 1  running: 0  done: 0  retry: 0  dead: 1  cancelled: 0"
    assert lines[1].split() == ["ID", "QUEUE", "KIND", "STATUS", "TRIES", "RUN", "AT", "(UTC)", "LAST", "ERROR"]
    assert lines[2].split()[:5] == [str(waiting), "reports", "report.build", "ready", "0/20"]
    assert lines[3].split()[:5] == [str(dead), "default", "mail.send", "dead", "1/1"]
    assert lines[3].endswith("ConnectionRefusedError: [Errno 111] Connection refused")

    r = run("jobs", "--status", "dead", "--database", db_url)
    assert [line.split()[0] for line in r.output.splitlines()[2:]] == [str(dead)]
    assert "no jobs with status running" in run("jobs", "--status", "running", "--database", db_url).output

    r = run("jobs", "--requeue", str(dead), "--database", db_url)
    assert (r.exit_code, r.output.strip()) == (0, f"job {dead} (mail.send) is ready")
    with begin_read(queue_engine) as conn:
        assert get_job(conn, dead).attempts == 0
    r = run("jobs", "--cancel", str(waiting), "--database", db_url)
    assert (r.exit_code, r.output.strip()) == (0, f"job {waiting} (report.build) is cancelled")


def test_jobs_refuses_bad_requests_clearly(db_url, queue_engine):
    with begin_write(queue_engine) as conn:
        ready = enqueue(conn, "k", {})
    for args, message in ((("--requeue", "424242"), "error: there is no job 424242"),
                          (("--requeue", str(ready)), f"error: job {ready} is ready; only dead or cancelled"),
                          (("--requeue", "1", "--cancel", "1"), "error: give --requeue or --cancel, not both")):
        r = CliRunner().invoke(cli, ["jobs", *args, "--database", db_url])
        assert r.exit_code == 1 and message in r.output, r.output
    r = CliRunner().invoke(cli, ["jobs", "--status", "lost", "--database", db_url])
    assert r.exit_code == 2 and "'lost' is not one of" in r.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(db_url, log, *args):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "platform"), str(HERE)]),
           "TESSERA_JOB_MODULES": "automation_test_handlers", "TESSERA_ADMIN_PASSWORD": "orchid-lantern-42"}
    proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "serve", "--database", db_url,
                             "--port", str(_free_port()), *args], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while "Tessera is running" not in log.read_text():
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    return proc


def _stop(proc):
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(15)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_serve_runs_jobs_in_process_unless_told_not_to(db_url, queue_engine, tmp_path):
    out = tmp_path / "effects.txt"
    with begin_write(queue_engine) as conn:
        job_id = enqueue(conn, "test.append", {"path": str(out), "n": 1})
    proc = _serve(db_url, tmp_path / "no-worker.log", "--no-worker")
    try:
        time.sleep(1.0)
        with begin_read(queue_engine) as conn:
            assert get_job(conn, job_id).status == "ready"
    finally:
        _stop(proc)
    log = tmp_path / "worker.log"
    proc = _serve(db_url, log)
    try:
        assert "one job worker process" in log.read_text()
        deadline = time.monotonic() + 10
        while True:
            with begin_read(queue_engine) as conn:
                if get_job(conn, job_id).status == "done":
                    break
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        assert out.read_text().split()[0] == "1"
    finally:
        _stop(proc)
