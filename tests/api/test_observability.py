"""Request ids (header, error bodies, audit entries, log lines), the slow-request log, JSON logs and
the guarded Prometheus /metrics endpoint."""
from __future__ import annotations

import io
import json
import logging

import pytest
from sqlalchemy import select

from tessera.automation.queue import enqueue
from tessera.environment import EnvironmentSettingError
from tessera.logs import configure_logging
from tessera.storage.engine import begin_write
from tessera.storage.platform_tables import audit_log
from tessera.web.app import create_app


def test_every_answer_has_a_request_id_and_error_bodies_carry_it(api):
    ok = api.get("/api/v1/records/company")
    assert ok.status_code == 200 and len(ok.headers["X-Request-Id"]) == 32
    missing = api.get("/api/v1/records/company/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    body = missing.get_json()
    assert body["error"]["request_id"] == missing.headers["X-Request-Id"]
    assert body["error"]["code"]          # the error body is otherwise as it was
    # a proxy's id is kept when it is a plain token; anything else is replaced
    given = api.get("/api/v1/records/company", headers={"X-Request-Id": "edge-7f3a9c1d2b"})
    assert given.headers["X-Request-Id"] == "edge-7f3a9c1d2b"
    forged = api.get("/api/v1/records/company", headers={"X-Request-Id": "<script>alert(1)</script>"})
    assert forged.headers["X-Request-Id"] != "<script>alert(1)</script>" and len(forged.headers["X-Request-Id"]) == 32


def test_audit_entries_made_while_serving_name_the_request(app, services):
    client = app.test_client()
    page = client.get("/login", base_url="https://localhost").get_data(as_text=True)
    import re
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/login", base_url="https://localhost", headers={"Referer": "https://localhost/login"},
                    data={"csrf_token": token, "username": "admin", "password": "orchid-lantern-42"})
    assert r.status_code == 302
    with services.engine.connect() as conn:
        details = [row.detail for row in conn.execute(select(audit_log).order_by(audit_log.c.id.desc()).limit(3))]
    assert any(d.get("request_id") == r.headers["X-Request-Id"] for d in details), details


def test_slow_requests_are_logged_with_their_route_and_id(services, monkeypatch, caplog):
    monkeypatch.setenv("TESSERA_SLOW_REQUEST_MS", "0")     # every request counts as slow
    app = create_app(services=services)
    with caplog.at_level(logging.WARNING, logger="tessera.requests"):
        r = app.test_client().get("/api/v1/openapi.json")
    slow = [rec for rec in caplog.records if rec.name == "tessera.requests"]
    assert slow and "slow request: GET /api/v1/openapi.json" in slow[-1].getMessage()
    assert slow[-1].route == "/api/v1/openapi.json" and slow[-1].status == r.status_code


def test_json_logs_carry_the_request_id(app):
    stream = io.StringIO()
    configure_logging({"TESSERA_LOG_FORMAT": "json"}, stream=stream)
    try:
        @app.get("/_log_probe")
        def probe():
            logging.getLogger("tessera.probe").warning("probing")
            return "ok"
        r = app.test_client().get("/_log_probe")
        lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
        probe_line = next(line for line in lines if line.get("message") == "probing")
        assert probe_line["request_id"] == r.headers["X-Request-Id"]
        assert probe_line["level"] == "WARNING" and probe_line["logger"] == "tessera.probe"
    finally:
        root = logging.getLogger()
        for handler in [h for h in root.handlers if getattr(h, "_tessera", False)]:
            root.removeHandler(handler)


def test_metrics_count_requests_and_read_the_queue(api, app, services):
    api.get("/api/v1/records/company")
    with begin_write(services.engine) as conn:
        enqueue(conn, "nothing.handles.this", {}, queue="reports")
    scraped = app.test_client().get("/metrics")
    assert scraped.status_code == 200 and scraped.mimetype == "text/plain"
    text = scraped.get_data(as_text=True)
    assert 'tessera_http_requests_total{method="GET",route="/api/v1/records/<object_name>",status="200"}' in text \
        or 'route="/api/v1/records/<object>"' in text, text[:3000]
    assert "tessera_http_request_duration_seconds_bucket" in text
    assert 'tessera_jobs_waiting{queue="reports"} 1.0' in text
    assert f"tessera_metadata_version {float(services.changes.active_number())}" in text
    assert "tessera_jobs_oldest_waiting_seconds" in text and "tessera_workflow_runs_failed" in text


def test_metrics_are_refused_to_other_addresses_unless_they_bring_the_token(services, monkeypatch):
    app = create_app(services=services)
    far = app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert far.status_code == 403 and far.get_json()["error"]["code"] == "forbidden"
    monkeypatch.setenv("TESSERA_METRICS_TOKEN", "scrape-me-please-0123")
    monkeypatch.setenv("TESSERA_METRICS_ALLOW", "10.0.0.0/8")
    app = create_app(services=services)
    client = app.test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 403
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"},
                      headers={"Authorization": "Bearer scrape-me-please-0123"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"},
                      headers={"Authorization": "Bearer wrong-token-0000000"}).status_code == 403


@pytest.mark.parametrize("name, value", [
    ("TESSERA_METRICS_ALLOW", "the office"), ("TESSERA_METRICS_TOKEN", "short"),
    ("TESSERA_SLOW_REQUEST_MS", "soon"),
])
def test_bad_observability_settings_stop_the_app_naming_them(services, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(EnvironmentSettingError, match=name):
        create_app(services=services)
