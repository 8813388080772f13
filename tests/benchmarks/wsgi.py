"""Gunicorn entry points for the server benchmark (each worker opens its own engine; no preload).

    gunicorn --chdir tests/benchmarks 'wsgi:tessera_app()'     # BENCH_DATABASE_URL
    gunicorn --chdir tests/benchmarks 'wsgi:baseline_app()'    # BENCH_DATABASE_URL, BENCH_USER_ID
"""
from __future__ import annotations

import os
import uuid

import common  # noqa: F401  (import path)


def tessera_app():
    from tessera.web.app import create_app
    return create_app(os.environ["BENCH_DATABASE_URL"])


def baseline_app():
    from baseline import create_baseline_app
    return create_baseline_app(os.environ["BENCH_DATABASE_URL"], uuid.UUID(os.environ["BENCH_USER_ID"]))
