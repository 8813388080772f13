"""Real workers of this process for tests: threads running Worker.run over a test database."""
from __future__ import annotations

import threading
import time

from tessera.automation import Worker


class WorkerThreads:
    """Real workers of this process (threads running Worker.run), stopped together."""

    def __init__(self):
        self.started: list[tuple[Worker, threading.Thread]] = []

    def start(self, services, **options) -> Worker:
        options.setdefault("poll_interval", 0.05)
        worker = Worker(services, **options)
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        self.started.append((worker, thread))
        return worker

    def stop_all(self, timeout: float = 20) -> None:
        while self.started:
            worker, thread = self.started.pop()
            worker.stop()
            thread.join(timeout=timeout)


def run_jobs(services, seconds: float = 15.0, until=None, **options) -> None:
    """A real worker of this process until `until()` holds (or the time is up)."""
    threads = WorkerThreads()
    threads.start(services, concurrency=options.pop("concurrency", 2), **options)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline and not (until and until()):
            time.sleep(0.1)
    finally:
        threads.stop_all(timeout=30)
