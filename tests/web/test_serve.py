"""`tessera serve` as operators run it: a real subprocess on a free port — gunicorn with 2 worker
processes and one job worker process — answering sign-in and the API, sharing rate-limit counts
between its workers, and stopping cleanly on SIGTERM; `--dev` keeps Flask's server. Both databases."""
from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tessera.automation import enqueue, get_job
from tessera.storage.engine import begin_read, begin_write

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = ROOT / "tests" / "automation"     # automation_test_handlers: the `test.append` job
ADMIN_PASSWORD = "orchid-lantern-42"
START_TIMEOUT = 90    # a liveness deadline, not a timing: importing the app is slow on a loaded machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A `tessera serve` subprocess; killed with everything it started at teardown if still up."""

    def __init__(self, db_url, log: Path, *args, env=None):
        self.port = free_port()
        self.log = log
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "platform"), str(HANDLERS)]),
                       "TESSERA_JOB_MODULES": "automation_test_handlers", **(env or {})}
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "serve", "--database", db_url,
                                      "--port", str(self.port), *args],
                                     env=environment, stdout=log.open("w"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while "Tessera is running" not in log.read_text():
            assert self.proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
        # --dev says so just before Flask's server binds its socket: wait until it accepts
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=5).close()
                break
            except ConnectionRefusedError:
                assert self.proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.1)

    def request(self, method, path, headers=None, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers={"Connection": "close", **(headers or {})})
            response = conn.getresponse()
            return response.status, response.headers, response.read().decode()
        finally:
            conn.close()

    def children(self) -> dict[int, str]:
        """pid -> command line of this server's child processes (Linux /proc)."""
        out = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                out[int(entry.name)] = cmdline
        return out

    def http_workers(self) -> set[int]:
        return {pid for pid, cmd in self.children().items() if " worker " not in cmd}

    def job_workers(self) -> set[int]:
        return {pid for pid, cmd in self.children().items() if "-m tessera worker" in cmd}

    def stop(self, sig=signal.SIGTERM, timeout=60) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout)

    def kill(self):
        for pid in self.children():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


@pytest.fixture
def serve(db_url, tmp_path):
    started = []

    def start(*args, env=None):
        server = Server(db_url, tmp_path / f"serve-{len(started)}.log", *args, env=env)
        started.append(server)
        return server
    yield start
    for server in started:
        server.kill()


def sign_in(server, username, password, address_headers=None):
    """GET /login then POST it as a browser does; returns (status of the POST, session cookie)."""
    status, headers, html = server.request("GET", "/login")
    assert status == 200
    cookie = headers["Set-Cookie"].split(";")[0]
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    status, headers, _ = server.request(
        "POST", "/login", body=urlencode({"csrf_token": token, "username": username, "password": password}),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie, **(address_headers or {})})
    return status, (headers["Set-Cookie"].split(";")[0] if headers["Set-Cookie"] else cookie), headers


def api_token(services) -> str:
    admin = services.identity.find_user("admin")
    return services.identity.tokens.create(uuid.UUID(admin["id"]), name="serve")[1]


def test_gunicorn_serves_sign_in_api_and_jobs_then_stops_cleanly_on_sigterm(services, serve, tmp_path):
    out = tmp_path / "effects.txt"
    with begin_write(services.engine) as conn:
        job_id = enqueue(conn, "test.append", {"path": str(out), "n": 7})
    token = api_token(services)
    server = serve("--workers", "2", "--threads", "2")
    assert "Serving with gunicorn: 2 worker process(es) × 2 thread(s)" in server.log.read_text()
    wait_until(lambda: len(server.http_workers()) == 2 and server.job_workers(), server)
    time.sleep(0.5)
    assert len(server.http_workers()) == 2 and len(server.job_workers()) == 1   # one job worker, not one each

    status, cookie, headers = sign_in(server, "admin", ADMIN_PASSWORD)
    assert status == 302 and "; Secure" not in headers["Set-Cookie"]    # plain HTTP: the cookie comes back
    status, _headers, html = server.request("GET", "/app/", headers={"Cookie": cookie})
    assert status == 200 and "Sign in" not in html
    status, headers, body = server.request("GET", "/api/v1/records/user?limit=1",
                                           headers={"Authorization": f"Bearer {token}"})
    assert status == 200 and '"username"' in body
    assert not re.search(r"\d", headers.get("Server", "")), headers.get("Server")   # no version banner
    assert "Strict-Transport-Security" not in headers

    deadline = time.monotonic() + 30
    while True:   # the job worker process runs the queued job
        with begin_read(services.engine) as conn:
            if get_job(conn, job_id).status == "done":
                break
        assert time.monotonic() < deadline, server.log.read_text()[-3000:]
        time.sleep(0.1)
    assert out.read_text().split()[0] == "7"

    children = server.children()
    assert server.stop(signal.SIGTERM) == 0
    log = server.log.read_text()
    assert "Shutting down: Master" in log and "Traceback" not in log
    assert '"GET /api/v1/records/user?limit=1 HTTP/1.1" 200' in log        # the access log, on stdout
    assert not any(Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text()
                   for pid in children), "a child outlived the server"


def wait_until(predicate, server):
    deadline = time.monotonic() + START_TIMEOUT
    while not predicate():
        assert time.monotonic() < deadline, server.log.read_text()[-3000:]
        time.sleep(0.1)


def wait_for_new_workers(server, old: set[int], count: int = 2) -> None:
    def replaced():
        now = server.http_workers()
        return len(now) == count and not now & old and all(
            f"Booting worker with pid: {pid}" in server.log.read_text() for pid in now)
    wait_until(replaced, server)


def test_rate_limits_are_counted_across_worker_processes(services, serve):
    """Half the allowance is used, every HTTP worker is replaced by a new process, and the new
    ones refuse what is over the limit: the count lives in the database, not in a worker."""
    token = api_token(services)
    server = serve("--workers", "2", "--no-worker",
                   env={"TESSERA_RATE_LIMIT_API": "4/minute", "TESSERA_RATE_LIMIT_LOGIN": "2/minute"})
    bearer = {"Authorization": f"Bearer {token}"}
    assert [server.request("GET", "/api/v1/records/user?limit=1", headers=bearer)[0] for _ in range(2)] == [200, 200]
    assert sign_in(server, "admin", "wrong")[0] == 401

    old = server.http_workers()
    for pid in old:
        os.kill(pid, signal.SIGTERM)       # gunicorn replaces each with a fresh process
    wait_for_new_workers(server, old)

    assert [server.request("GET", "/api/v1/records/user?limit=1", headers=bearer)[0] for _ in range(2)] == [200, 200]
    status, headers, body = server.request("GET", "/api/v1/records/user?limit=1", headers=bearer)
    assert status == 429 and '"code":"rate_limited"' in body.replace(" ", "")
    assert 1 <= int(headers["Retry-After"]) <= 61
    assert sign_in(server, "admin", "wrong")[0] == 401
    status, _cookie, headers = sign_in(server, "admin", "wrong")
    assert status == 429 and 1 <= int(headers["Retry-After"]) <= 61
    assert server.stop(signal.SIGINT) == 0      # Ctrl-C stops gracefully too


def test_no_process_outlives_a_killed_server(services, serve):
    """SIGKILL leaves gunicorn no time to stop anything: the job worker is told by the kernel
    (parent-death signal) and the HTTP workers notice their parent is gone."""
    server = serve("--workers", "2")
    wait_until(lambda: len(server.http_workers()) == 2 and server.job_workers(), server)
    children = set(server.children())
    server.proc.kill()
    server.proc.wait(10)

    def gone():
        return not any(Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text()
                       for pid in children)
    wait_until(gone, server)


def test_dev_keeps_the_development_server_without_a_version_banner(services, serve):
    server = serve("--dev", "--no-worker")
    status, headers, body = server.request("GET", "/healthz")
    assert status == 200 and '"ok"' in body
    assert headers["Server"] == "Tessera"
    assert "gunicorn" not in server.log.read_text()
    server.stop(signal.SIGINT)
