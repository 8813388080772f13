"""Setup → Automation operations: Jobs (dead jobs re-queued and run by a real worker), the Email
Outbox (the HTML body never rendered into the page), Webhook Deliveries (replayed to a real local
receiver through the same function as the API). Through the setup UI; both databases."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "automation"))
from webhook_receiver import Receiver  # noqa: E402
from worker_threads import run_jobs  # noqa: E402

from tessera.automation import DEAD, DONE, READY, HandlerRegistry, enqueue, get_job  # noqa: E402
from tessera.automation.credentials import set_credential  # noqa: E402
from tessera.storage.engine import begin_read, begin_write  # noqa: E402


def jobs_registry(ran: list) -> HandlerRegistry:
    handlers = HandlerRegistry()
    handlers.register("report.export", lambda payload, context: ran.append(payload))
    return handlers


def dead_job(services, kind="report.export", payload=None) -> int:
    """A job that died for real: a worker that knows no handler for its kind tried it, once."""
    with begin_write(services.engine) as conn:
        job_id = enqueue(conn, kind, payload or {"report": "q3"}, max_attempts=1)
    run_jobs(services, registry=HandlerRegistry(), until=lambda: job(services, job_id).status == DEAD)
    assert job(services, job_id).status == DEAD
    return job_id


def job(services, job_id):
    with begin_read(services.engine) as conn:
        return get_job(conn, job_id)


def flashes(html: str) -> list[str]:
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", m)).replace("×", "").strip()
            for m in re.findall(r'<div class="alert alert-[a-z]+ alert-dismissible[^"]*"[^>]*>(.*?)</div>', html, re.S)]


def org(workflows=None, templates=None) -> dict:
    components = {"workflows": {n: {"source": f"workflows/{n}.yaml", "doc": {"name": n, **d}}
                                for n, d in (workflows or {}).items()},
                  "email_templates": {n: {"source": f"email_templates/{n}.yaml", "doc": {"name": n, **d}}
                                      for n, d in (templates or {}).items()}}
    return {"manifest": None, "components": components}


# -- Jobs --------------------------------------------------------------------------------------------

def test_a_dead_job_is_listed_with_its_error_requeued_and_then_runs(admin, services):
    job_id = dead_job(services)
    page = admin.get("/setup/jobs/?status=dead")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    row = html[html.index(f'data-job="{job_id}"'):]
    row = row[:row.index("</tr>")]
    assert "report.export" in row and "Dead" in row and "1 / 1" in row and "no handler is registered" in row
    counts = html[html.index('id="job-counts"'):html.index('id="job-filters"')]
    assert re.search(r'data-status="dead">\s*<span class="ops-count-n[^"]*">1</span>', counts)

    detail = admin.get(f"/setup/jobs/{job_id}").get_data(as_text=True)
    assert "&#34;report&#34;: &#34;q3&#34;" in detail and "no handler is registered for job kind" in detail

    done = admin.post(f"/setup/jobs/{job_id}/requeue", {"next": "/setup/jobs/?status=dead"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/setup/jobs/?status=dead")
    after = job(services, job_id)
    assert after.status == READY and after.attempts == 0
    assert "is queued again" in " ".join(flashes(admin.get("/setup/jobs/").get_data(as_text=True)))

    ran: list = []
    run_jobs(services, registry=jobs_registry(ran), until=lambda: job(services, job_id).status == DONE)
    assert job(services, job_id).status == DONE and ran == [{"report": "q3"}]


def test_only_a_dead_job_is_requeued_and_the_refusal_says_why(admin, services):
    with begin_write(services.engine) as conn:
        waiting = enqueue(conn, "report.export", {"report": "q4"})
    r = admin.post(f"/setup/jobs/{waiting}/requeue")
    assert r.status_code == 302
    html = admin.get(r.headers["Location"]).get_data(as_text=True)
    assert any("Not re-queued" in f and "is ready" in f for f in flashes(html))
    assert job(services, waiting).status == READY and job(services, waiting).attempts == 0
    assert admin.post("/setup/jobs/999999/requeue").status_code == 404
    # a state change needs the form's CSRF token
    dead = dead_job(services)
    assert admin.post(f"/setup/jobs/{dead}/requeue", csrf=False).status_code == 400
    assert job(services, dead).status == DEAD
    assert admin.get(f"/setup/jobs/{dead}/requeue").status_code == 405     # never over GET


def test_requeue_every_dead_job_of_a_kind(admin, services):
    first, second = dead_job(services), dead_job(services, payload={"report": "q1"})
    other = dead_job(services, kind="other.kind")
    r = admin.post("/setup/jobs/requeue-dead", {"kind": "report.export"})
    assert r.status_code == 302
    assert [job(services, i).status for i in (first, second, other)] == [READY, READY, DEAD]
    html = admin.get(r.headers["Location"]).get_data(as_text=True)
    assert any("2 dead report.export jobs queued again" in f for f in flashes(html))
    r = admin.post("/setup/jobs/requeue-dead", {"kind": "report.export"})
    assert any("no dead report.export job" in f for f in flashes(admin.get(r.headers["Location"]).get_data(as_text=True)))


def test_job_filters_and_paging(admin, services):
    with begin_write(services.engine) as conn:
        ids = [enqueue(conn, "page.kind", {"n": n}) for n in range(55)]
        enqueue(conn, "lonely.kind", {})
    html = admin.get("/setup/jobs/?kind=page.kind&status=ready").get_data(as_text=True)
    shown = [int(i) for i in re.findall(r'<tr data-job="(\d+)"', html)]
    assert shown == sorted(ids, reverse=True)[:50] and 'rel="next"' in html
    html = admin.get("/setup/jobs/?kind=page.kind&status=ready&page=2").get_data(as_text=True)
    assert [int(i) for i in re.findall(r'<tr data-job="(\d+)"', html)] == sorted(ids, reverse=True)[50:]
    assert 'rel="prev"' in html and 'rel="next"' not in html
    # nonsense filters and pages never fail: they are ignored
    for url in ("/setup/jobs/?status=nope", "/setup/jobs/?page=-3", "/setup/jobs/?page=abc", "/setup/jobs/?kind=%00",
                "/setup/email-outbox/?status=%00", "/setup/webhook-deliveries/?status=x&page=0"):
        assert admin.get(url).status_code == 200, url
    # ids no row can have (PostgreSQL text holds no NUL) are simply not found
    for url in ("/setup/webhook-deliveries/msg%00", "/setup/credentials/a%00/rotate", "/setup/email-outbox/%00"):
        assert admin.get(url).status_code == 404, url
    for url in ("/setup/webhook-deliveries/msg%00/replay", "/setup/credentials/a%00/delete"):
        assert admin.post(url).status_code == 404, url
    assert admin.post("/setup/jobs/requeue-dead", {"kind": "a\x00"}).status_code == 302
    assert admin.get("/setup/jobs/123456").status_code == 404
    assert admin.get("/setup/jobs/99999999999999999999999").status_code == 404


# -- Email Outbox ------------------------------------------------------------------------------------

HOSTILE = {"object": "deal", "subject": "Hello {{ record.name }}", "text_body": "Text for {{ record.name }}",
           "html_body": '<p>Deal <b>{{ record.name }}</b></p><script>alert("tpl")</script><img src="https://tracker.example/p.gif">'}


def test_outbox_lists_and_shows_a_message_without_ever_rendering_its_html(admin, services, api):
    services.changes.apply_org(org({"greet": {"object": "deal", "trigger": {"event": "create"},
                                              "actions": [{"type": "send_email", "template": "greet",
                                                           "to": ["'ann@example.com'"]}]}},
                                   {"greet": HOSTILE}), author="test", message="email")
    api.post("/api/v1/records/deal", json={"name": "<img src=x onerror=alert(1)>", "amount": 10})
    html = admin.get("/setup/email-outbox/?status=queued").get_data(as_text=True)
    [message_id] = re.findall(r'<tr data-email="([^"]+)" data-status="queued"', html)
    assert "ann@example.com" in html and "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert admin.get("/setup/email-outbox/?status=sent").get_data(as_text=True).count("data-email=") == 0

    page = admin.get(f"/setup/email-outbox/{message_id}")
    detail = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<script>alert" not in detail and 'src="https://tracker' not in detail   # nothing of the body is live markup
    assert "&lt;script&gt;alert(&#34;tpl&#34;)&lt;/script&gt;" in detail           # the source, shown as text
    frame = re.search(r'<iframe[^>]*id="email-html-preview"[^>]*>', detail).group(0)
    assert 'sandbox=""' in frame and 'srcdoc="&lt;p&gt;Deal' in frame
    assert "Text for &lt;img src=x onerror=alert(1)&gt;" in detail
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert admin.get("/setup/email-outbox/not-an-id").status_code == 404
    assert admin.get("/setup/email-outbox/00000000-0000-0000-0000-000000000000").status_code == 404


# -- Webhook Deliveries ---------------------------------------------------------------------------

@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


def test_a_failed_delivery_is_shown_and_replayed_to_a_real_receiver(admin, services, api, receiver, monkeypatch):
    secret, _ = set_credential(services.engine, "crm_hooks", "webhook_signing")
    services.changes.apply_org(org({"deal_hook": {"object": "deal", "trigger": {"event": "create"},
                                                  "actions": [{"type": "webhook", "url": receiver.url,
                                                               "credential": "crm_hooks"}]}}),
                               author="test", message="hook")
    monkeypatch.delenv("TESSERA_WEBHOOK_ALLOWED_NETWORKS", raising=False)
    monkeypatch.delenv("TESSERA_WEBHOOK_ALLOW_PRIVATE", raising=False)
    api.post("/api/v1/records/deal", json={"name": "Hooked", "amount": 5})
    # the first attempt is refused (a loopback address is not allowed yet): failed, not retried, nothing sent
    listed = lambda: api.get("/api/v1/webhook-deliveries").json["deliveries"]  # noqa: E731
    run_jobs(services, until=lambda: listed()[0]["status"] == "failed")
    [failed] = listed()
    assert receiver.count == 0 and failed["attempts"] == 1

    html = admin.get("/setup/webhook-deliveries/?status=failed").get_data(as_text=True)
    row = html[html.index(f'data-delivery="{failed["id"]}"'):]
    row = row[:row.index("</tr>")]
    assert receiver.url in row and "failed" in row and "deal.create" in row
    detail = admin.get(f"/setup/webhook-deliveries/{failed['id']}").get_data(as_text=True)
    assert "&#34;name&#34;: &#34;Hooked&#34;" in detail and failed["id"] in detail and 'id="replay"' in detail
    assert secret not in detail

    monkeypatch.setenv("TESSERA_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.1/32")
    r = admin.post(f"/setup/webhook-deliveries/{failed['id']}/replay")
    assert r.status_code == 302
    assert any("queued again" in f for f in flashes(admin.get(r.headers["Location"]).get_data(as_text=True)))
    assert listed()[0]["status"] == "pending"
    # replaying a pending one is refused with the reason
    r = admin.post(f"/setup/webhook-deliveries/{failed['id']}/replay")
    assert any("pending already" in f for f in flashes(admin.get(r.headers["Location"]).get_data(as_text=True)))

    run_jobs(services, until=lambda: listed()[0]["status"] == "delivered")
    assert receiver.count == 1 and receiver.requests[0][0]["webhook-id"] == failed["id"]
    detail = admin.get(f"/setup/webhook-deliveries/{failed['id']}").get_data(as_text=True)
    assert re.search(r'data-attempt="2">\s*<td>2</td>\s*<td[^>]*>[^<]*</td>\s*<td>200</td>', detail)
    assert admin.post("/setup/webhook-deliveries/msg_nope/replay").status_code == 404
    assert admin.get("/setup/webhook-deliveries/msg_nope").status_code == 404


def test_a_disabled_endpoint_is_flagged_and_its_delivery_not_replayed(admin, services, api, receiver, monkeypatch):
    monkeypatch.setenv("TESSERA_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.1/32")
    receiver.plan = [(410, 0)]
    set_credential(services.engine, "crm_hooks", "webhook_signing")
    services.changes.apply_org(org({"deal_hook": {"object": "deal", "trigger": {"event": "create"},
                                                  "actions": [{"type": "webhook", "url": receiver.url,
                                                               "credential": "crm_hooks"}]}}),
                               author="test", message="hook")
    api.post("/api/v1/records/deal", json={"name": "Gone", "amount": 5})
    listed = lambda: api.get("/api/v1/webhook-deliveries").json["deliveries"]  # noqa: E731
    run_jobs(services, until=lambda: listed()[0]["status"] == "disabled")
    html = admin.get("/setup/webhook-deliveries/").get_data(as_text=True)
    assert 'id="disabled-endpoints"' in html and "endpoint disabled" in html
    delivery_id = listed()[0]["id"]
    detail = admin.get(f"/setup/webhook-deliveries/{delivery_id}").get_data(as_text=True)
    assert 'id="replay"' not in detail and "The endpoint is disabled" in detail
    r = admin.post(f"/setup/webhook-deliveries/{delivery_id}/replay")
    assert any("is disabled" in f for f in flashes(admin.get(r.headers["Location"]).get_data(as_text=True)))
    assert receiver.count == 1


# -- access ----------------------------------------------------------------------------------------

def test_operations_pages_are_for_admins(make_browser, services):
    rep = make_browser("rita")
    dead = dead_job(services)
    for url in ("/setup/jobs/", f"/setup/jobs/{dead}", "/setup/email-outbox/", "/setup/webhook-deliveries/",
                "/setup/credentials/", "/setup/credentials/new"):
        assert rep.get(url).status_code == 403, url
    for url in (f"/setup/jobs/{dead}/requeue", "/setup/jobs/requeue-dead", "/setup/webhook-deliveries/x/replay",
                "/setup/credentials/new"):
        assert rep.post(url, {"kind": "report.export", "name": "x", "secret": "y"}).status_code == 403, url
    assert job(services, dead).status == DEAD
