"""What operators see of the running app: request ids, a slow-request log and Prometheus metrics.

- Every request gets an id: the caller's `X-Request-Id` when it is a plain token (a proxy's), else
  a new one. It is echoed in the `X-Request-Id` response header, added to every JSON error body
  (`error.request_id`), to every log line written while serving (logs.py) and to audit entries
  (security/audit.py), so one id finds a failure in all of them.
- Requests slower than TESSERA_SLOW_REQUEST_MS (default 2000) are logged as warnings with the
  route, status, duration and user.
- `GET /metrics` (Prometheus text format, prometheus-client): requests by route and status,
  latency histograms by route, and — read from the database at each scrape — job queue depth and
  the age of the oldest waiting job per queue, dead jobs, failed workflow runs, the active metadata
  version and the database pool's connections. Served to addresses in TESSERA_METRICS_ALLOW
  (comma-separated IPs or networks; default: this machine only) or to a bearer token equal to
  TESSERA_METRICS_TOKEN; anyone else gets 403. Under a server with several worker processes,
  PROMETHEUS_MULTIPROC_DIR (set by `tessera serve`) makes every scrape count all of them.
"""
from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import os
import re
import time
import uuid
from datetime import timezone

from flask import Response, g, jsonify, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select

from ..environment import EnvironmentSettingError
from ..request_context import current_request_id
from ..storage.engine import begin_read
from ..storage.platform_tables import jobs, versions, workflow_runs

_INCOMING_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
WAITING = ("ready", "retry")
log = logging.getLogger("tessera.requests")


def slow_request_ms(environ=os.environ) -> int:
    text = (environ.get("TESSERA_SLOW_REQUEST_MS") or "").strip() or "2000"
    if not text.isdigit():
        raise EnvironmentSettingError(f"TESSERA_SLOW_REQUEST_MS must be a whole number of milliseconds, not {text!r}")
    return int(text)


def metrics_access(environ=os.environ) -> tuple[list, str | None]:
    """(allowed networks, token) from TESSERA_METRICS_ALLOW and TESSERA_METRICS_TOKEN."""
    text = (environ.get("TESSERA_METRICS_ALLOW") or "").strip() or "127.0.0.1,::1"
    networks = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise EnvironmentSettingError(f"TESSERA_METRICS_ALLOW: {item!r} is not an IP address or network") from None
    token = (environ.get("TESSERA_METRICS_TOKEN") or "").strip() or None
    if token is not None and len(token) < 16:
        raise EnvironmentSettingError("TESSERA_METRICS_TOKEN must be at least 16 characters")
    return networks, token


class DatabaseCollector:
    """Gauges read from the database when Prometheus scrapes (never on the request path)."""

    def __init__(self, engine):
        self.engine = engine

    def collect(self):
        depth = GaugeMetricFamily("tessera_jobs_waiting", "Jobs waiting to run (ready or retrying), by queue",
                                  labels=["queue"])
        age = GaugeMetricFamily("tessera_jobs_oldest_waiting_seconds",
                                "How long the oldest due job of each queue has waited", labels=["queue"])
        running = GaugeMetricFamily("tessera_jobs_running", "Jobs being run by a worker now")
        dead = GaugeMetricFamily("tessera_jobs_dead", "Jobs that failed every attempt (kept for retention)")
        failed = GaugeMetricFamily("tessera_workflow_runs_failed", "Workflow runs that failed (in the run log)")
        version = GaugeMetricFamily("tessera_metadata_version", "The active metadata version")
        now = time.time()
        with begin_read(self.engine) as conn:
            rows = conn.execute(select(jobs.c.queue, func.count(), func.min(jobs.c.run_at))
                                .where(jobs.c.status.in_(WAITING)).group_by(jobs.c.queue)).all()
            counts = dict(conn.execute(select(jobs.c.status, func.count())
                                       .where(jobs.c.status.in_(("running", "dead"))).group_by(jobs.c.status)).all())
            failed_runs = conn.execute(select(func.count()).select_from(workflow_runs)
                                       .where(workflow_runs.c.status == "failed")).scalar()
            active = conn.execute(select(versions.c.number).where(versions.c.active == True)).scalar()  # noqa: E712
        for queue, count, oldest in rows:
            depth.add_metric([queue], count)
            if oldest is not None:
                stamp = oldest.timestamp() if oldest.tzinfo else oldest.replace(tzinfo=timezone.utc).timestamp()
                age.add_metric([queue], max(0.0, now - stamp))
        running.add_metric([], counts.get("running", 0))
        dead.add_metric([], counts.get("dead", 0))
        failed.add_metric([], failed_runs or 0)
        version.add_metric([], active or 0)
        yield from (depth, age, running, dead, failed, version)
        pool = self.engine.pool
        if hasattr(pool, "checkedout") and hasattr(pool, "size"):
            conns = GaugeMetricFamily("tessera_db_pool_connections", "Database connections of this process's pool",
                                      labels=["state"])
            conns.add_metric(["in_use"], pool.checkedout())
            conns.add_metric(["pool_size"], pool.size())
            yield conns


def install(app, services, *, metrics: bool = True) -> None:
    """Request ids, the slow-request log and (unless `metrics` is False: the Setup app, mounted
    inside the main one) /metrics on `app`."""
    slow_ms = slow_request_ms()
    networks, token = metrics_access()
    registry = CollectorRegistry()
    requests_total = Counter("tessera_http_requests", "HTTP requests answered, by route and status",
                             ["method", "route", "status"], registry=registry)
    latency = Histogram("tessera_http_request_duration_seconds", "Time to answer, by route",
                        ["method", "route"], registry=registry, buckets=LATENCY_BUCKETS)
    database = DatabaseCollector(services.engine)

    @app.before_request
    def start_request():
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming if _INCOMING_ID.match(incoming) else uuid.uuid4().hex
        g.request_started = time.perf_counter()
        g.request_id_token = current_request_id.set(g.request_id)

    @app.after_request
    def finish_request(response):
        request_id = getattr(g, "request_id", None)
        if request_id is None:          # a request that failed before before_request ran
            return response
        response.headers["X-Request-Id"] = request_id
        if response.status_code >= 400 and response.is_json and not response.is_streamed:
            _add_request_id(response, request_id)
        route = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
        elapsed = time.perf_counter() - g.request_started
        if route != "/metrics":
            requests_total.labels(request.method, route, str(response.status_code)).inc()
            latency.labels(request.method, route).observe(elapsed)
        if elapsed * 1000 >= slow_ms:
            log.warning("slow request: %s %s -> %s in %.0f ms", request.method, request.path,
                        response.status_code, elapsed * 1000,
                        extra={"route": route, "status": response.status_code, "duration_ms": round(elapsed * 1000)})
        return response

    @app.teardown_request
    def forget_request(_exc=None):
        reset = getattr(g, "request_id_token", None)
        if reset is not None:
            current_request_id.reset(reset)
            g.request_id_token = None

    if metrics:
        app.add_url_rule("/metrics", "metrics", lambda: _serve_metrics(registry, database, networks, token))


def _serve_metrics(registry, database, networks, token):
    if not _may_scrape(networks, token):
        return jsonify(error={"code": "forbidden", "message": "metrics are served to the addresses in "
                              "TESSERA_METRICS_ALLOW or with the bearer token TESSERA_METRICS_TOKEN"}), 403
    scrape = registry
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        scrape = CollectorRegistry()
        MultiProcessCollector(scrape)
    body = generate_latest(scrape) + generate_latest(_OneCollector(database))
    return Response(body, mimetype="text/plain; version=0.0.4; charset=utf-8")


class _OneCollector(CollectorRegistry):
    def __init__(self, collector):
        super().__init__(auto_describe=False)
        self.register(collector)


def _may_scrape(networks, token) -> bool:
    if token is not None:
        given = request.headers.get("Authorization", "")
        if given.startswith("Bearer ") and hmac.compare_digest(given[7:].strip().encode(), token.encode()):
            return True
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in networks)


def _add_request_id(response, request_id: str) -> None:
    try:
        body = json.loads(response.get_data())
    except ValueError:
        return
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body["error"].setdefault("request_id", request_id)
        response.set_data(json.dumps(body))
