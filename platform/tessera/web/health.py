"""Health endpoints for load balancers and orchestrators (no sign-in, JSON, never cached).

    /healthz   the process is alive and answering: no database access, always 200
    /readyz    it can serve: the database answers, an active metadata version is loaded, the job
               queue's table can be read — 200, else 503 naming the failed checks

A failed check says what kind of error it met (the exception's class), not its text: these are
public, and a driver's message may name hosts, users or databases. The details go to the log.
"""
from __future__ import annotations

import logging
import os

from flask import Blueprint, current_app, jsonify
from sqlalchemy import literal, select

from ..storage.engine import begin_read
from ..storage.platform_tables import jobs

health = Blueprint("health", __name__)
log = logging.getLogger("tessera.web")


@health.get("/healthz")
def healthz():
    return jsonify(status="ok")


class NotReady(Exception):
    pass


def _database(services) -> dict:
    url = services.engine.url
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
            and not os.path.exists(url.database):
        # connecting would create an empty file and hide that the org's database is gone
        raise NotReady("database file not found")
    with begin_read(services.engine) as conn:
        conn.execute(select(literal(1))).scalar()
    return {}


def _metadata(services) -> dict:
    runtime = services.runtimes.current()   # polls the active version; rebuilds when it moved
    if runtime.version is None:
        raise NotReady("no active metadata version (run `tessera init`)")
    return {"version": runtime.version}


def _queue(services) -> dict:
    with begin_read(services.engine) as conn:
        conn.execute(select(jobs.c.id).limit(1)).first()
    return {}


CHECKS = {"database": _database, "metadata": _metadata, "queue": _queue}


@health.get("/readyz")
def readyz():
    services = current_app.extensions["tessera"]
    checks, ready = {}, True
    for name, check in CHECKS.items():
        try:
            checks[name] = {"ok": True, **check(services)}
        except NotReady as exc:
            checks[name], ready = {"ok": False, "error": str(exc)}, False
        except Exception as exc:   # any failure means not ready; the answer names its kind only
            log.warning("readiness check %s failed: %s", name, exc)
            checks[name], ready = {"ok": False, "error": type(exc).__name__}, False
        if not ready and name == "database":
            break   # nothing else can pass without it
    return jsonify(status="ready" if ready else "unavailable", checks=checks), 200 if ready else 503
