"""Fixtures of the job-queue tests: a database with the platform tables (no packages needed)."""
from __future__ import annotations

import pytest

from tessera.automation import HandlerRegistry
from tessera.changes import ensure_platform_tables
from tessera.services import Services
from worker_threads import WorkerThreads


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
def worker_threads():
    threads = WorkerThreads()
    yield threads
    threads.stop_all()


@pytest.fixture
def start_worker(queue_services, handlers, worker_threads):
    """Start in-process workers (threads) over the test database; all stopped at teardown."""
    return lambda **options: worker_threads.start(queue_services, registry=handlers, **options)
