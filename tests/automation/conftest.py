"""Fixtures of the job-queue tests: a database with the platform tables (no packages needed)."""
from __future__ import annotations

import threading

import pytest

from tessera.automation import HandlerRegistry, Worker
from tessera.changes import ensure_platform_tables
from tessera.services import Services


@pytest.fixture
def queue_engine(engine):
    ensure_platform_tables(engine)
    return engine


@pytest.fixture
def queue_services(db_url):
    services = Services.open(db_url, poll_seconds=0)
    yield services
    services.engine.dispose()


@pytest.fixture
def handlers():
    return HandlerRegistry()


@pytest.fixture
def start_worker(queue_services, handlers):
    """Start in-process workers (threads) over the test database; all stopped at teardown."""
    started = []

    def start(**options):
        options.setdefault("poll_interval", 0.05)
        worker = Worker(queue_services, registry=handlers, **options)
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        started.append((worker, thread))
        return worker

    yield start
    for worker, thread in started:
        worker.stop()
        thread.join(timeout=10)
