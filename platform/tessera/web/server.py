"""`tessera serve`'s production server: gunicorn (its embedding API) with the Flask app, plus one
job worker process.

Processes. The `tessera serve` process bootstraps the database, builds the app once and becomes
gunicorn's arbiter; gunicorn forks the HTTP workers from it (`preload_app`: the compiled Runtime,
templates and Casbin policy are shared copy-on-write, and a worker is ready at once). The job
worker is a child process of the arbiter running `tessera worker` — exactly one however many HTTP
workers there are (jobs are claimed atomically, so more would only be safe, not needed). Its own
process rather than a thread of the arbiter: gunicorn forks workers again later (after a crash,
on SIGHUP or TTIN), and forking a process whose other threads hold locks or open connections
copies them mid-use. The arbiter restarts the job worker if it dies.

Fork safety. Engines must not cross a fork: a pooled SQLite or PostgreSQL connection used by two
processes corrupts both. The arbiter disposes of its pool (closing its connections) before it
forks, and each worker drops whatever pool it inherited without closing it (`post_fork`), so a
worker opens its own connections on first use.

Signals. SIGTERM and SIGINT (Ctrl-C) both stop gracefully: the listening socket closes, HTTP
workers finish their requests (up to GRACEFUL_TIMEOUT), the job worker finishes or releases its
jobs. A second SIGINT during that stops at once. SIGHUP reloads the workers.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter

GRACEFUL_TIMEOUT = 30        # seconds HTTP workers get to finish their requests on shutdown
WORKER_TIMEOUT = 120         # a worker silent for this long is restarted (a long report or export)
JOB_WORKER_GRACE = 30        # `tessera worker` lets running jobs finish for ~25 s before releasing them
JOB_WORKER_RESTART_EVERY = 10.0


def _stop_with_parent() -> None:
    """In the job worker's process before it runs: SIGTERM it when the arbiter dies, however it
    dies (even SIGKILL), so no orphan keeps taking jobs. Linux's prctl(PR_SET_PDEATHSIG)."""
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)   # 1 = PR_SET_PDEATHSIG


class JobWorkerProcess:
    """The `tessera worker` child of the arbiter (same interpreter, same code, same environment)."""

    def __init__(self, database_url: str, *, concurrency: int = 1):
        import tessera
        platform_dir = str(Path(tessera.__file__).resolve().parents[1])
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [platform_dir, *filter(None, [os.environ.get("PYTHONPATH")])])}
        self.command = [sys.executable, "-m", "tessera", "worker", "--database", database_url,
                        "--concurrency", str(concurrency)]
        self.process: subprocess.Popen | None = None
        self.started_at = 0.0
        self.stopping = False

    def start(self, log) -> None:
        self.started_at = time.monotonic()
        # its own session: a Ctrl-C reaches it through the arbiter (which stops it after the
        # HTTP workers), not straight from the terminal
        self.process = subprocess.Popen(self.command, env=self.env, start_new_session=True,
                                        preexec_fn=_stop_with_parent if sys.platform.startswith("linux") else None)
        log.info("Job worker started (pid %s)", self.process.pid)

    def keep_alive(self, log) -> None:
        """Restart it if it died (at most every JOB_WORKER_RESTART_EVERY seconds)."""
        if self.stopping or self.process is None or self.process.poll() is None:
            return
        if time.monotonic() - self.started_at < JOB_WORKER_RESTART_EVERY:
            return
        log.error("Job worker (pid %s) exited with %s: restarting it", self.process.pid, self.process.returncode)
        self.start(log)

    def terminate(self) -> None:
        self.stopping = True
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self, log) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(JOB_WORKER_GRACE)
        except subprocess.TimeoutExpired:
            log.error("Job worker (pid %s) did not stop in %s s: killed", self.process.pid, JOB_WORKER_GRACE)
            self.process.kill()
            self.process.wait()


class TesseraArbiter(Arbiter):
    """gunicorn's arbiter, minding the job worker too, and stopping gracefully on SIGINT."""

    def __init__(self, app, job_worker: JobWorkerProcess | None):
        self.job_worker = job_worker
        super().__init__(app)

    def handle_int(self):
        raise StopIteration   # as SIGTERM: halt() stops gracefully; a second SIGINT hurries it

    def manage_workers(self):
        super().manage_workers()
        if self.job_worker is not None:
            self.job_worker.keep_alive(self.log)

    def stop(self, graceful=True):
        if self.job_worker is not None:
            self.job_worker.terminate()   # it drains while the HTTP workers do
        super().stop(graceful)
        if self.job_worker is not None:
            self.job_worker.wait(self.log)


class TesseraServer(BaseApplication):
    def __init__(self, app, engine, *, host: str, port: int, workers: int, threads: int,
                 job_worker: JobWorkerProcess | None, on_ready=None):
        self.application = app
        self.engine = engine
        self.job_worker = job_worker
        self.on_ready = on_ready
        self.options = {
            "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "preload_app": True,
            "timeout": WORKER_TIMEOUT,
            "graceful_timeout": GRACEFUL_TIMEOUT,
            "accesslog": "-",      # stdout
            "errorlog": "-",       # stderr
            "loglevel": "info",
            # X-Forwarded-* are believed by the app, from the proxies it trusts (web/proxies.py):
            # one place decides, the same under `--dev` and in tests
            "forwarded_allow_ips": "",
            "control_socket_disable": True,   # two servers on one machine would share its path
            "proc_name": "tessera",
            "post_fork": self._post_fork,
            "when_ready": self._when_ready,
        }
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.application

    def run(self):
        self.engine.dispose()   # no connection of the arbiter's may be inherited by a fork
        try:
            TesseraArbiter(self, self.job_worker).run()
        except RuntimeError as exc:
            print(f"\nError: {exc}\n", file=sys.stderr)
            sys.exit(1)

    # gunicorn checks a hook's arity on its positional parameters: plain closures, not methods
    @property
    def _post_fork(self):
        engine = self.engine

        def post_fork(_server, _worker):
            engine.dispose(close=False)   # the arbiter's pool object: dropped, never closed here
        return post_fork

    @property
    def _when_ready(self):
        def when_ready(server):
            if self.job_worker is not None:
                self.job_worker.start(server.log)
            if self.on_ready is not None:
                self.on_ready()
        return when_ready
