"""Setup → Automation operations in Chromium: an admin opens Jobs from the menu and re-queues a dead
job; every operations page (jobs, job, outbox, email, deliveries, delivery, credentials, credential
form) at desktop (1280×800) and phone (390×844) size, with no page wider than the screen (tables
scroll inside their card) and no CSP violation; the email's HTML body shows in its sandboxed frame
and its script never runs."""
from __future__ import annotations

import uuid

from browser_helpers import screenshot, sign_in

from tessera.automation import DEAD, READY, claim, email_outbox, enqueue, fail, get_job, webhooks
from tessera.automation.credentials import set_credential
from tessera.storage.engine import begin_read, begin_write

TEST_QUEUE = "browser_ops"     # nothing else claims from it: the dead job is this test's own


def make_dead_job(services) -> int:
    """Enqueue a one-attempt job, claim it as a worker would and record its failure: dead."""
    with begin_write(services.engine) as conn:
        job_id = enqueue(conn, "report.export", {"report": "weekly"}, max_attempts=1, queue=TEST_QUEUE)
    with begin_write(services.engine) as conn:
        [job] = claim(conn, "browser-test-worker", queues=[TEST_QUEUE])
        assert fail(conn, "browser-test-worker", job, "ConnectionError: the report store did not answer") == DEAD
    return job_id


def job_status(services, job_id):
    with begin_read(services.engine) as conn:
        return get_job(conn, job_id).status


def operations_data(services) -> dict:
    """An outbox message with a hostile HTML body, a webhook delivery and a credential to look at."""
    html = ('<h1 style="color:#2f6fd0">Welcome aboard</h1><p>Your case <b>CS-0042</b> is open.</p>'
            '<script>document.title = "pwned"</script><img src="https://tracker.example/p.gif">')
    with begin_write(services.engine) as conn:
        outbox_id, _job = email_outbox.queue_email(
            conn, to=["ann.customer@example.com"], cc=[], template="case_auto_response", workflow="case_auto_response",
            object_name=None, record_id=None, version=None,
            message=email_outbox.Rendered(subject="We received your case CS-0042", text="Hello Ann,\nwe are on it.\n",
                                          html=html))
        delivery_id = webhooks.enqueue_delivery(conn, workflow="deal_to_erp", url="https://erp.example.com/hooks/tessera",
                                                credential="erp_hooks", event="opportunity.update",
                                                data={"id": str(uuid.uuid4()), "name": "Northwind renewal",
                                                      "amount": 125000})
    set_credential(services.engine, "erp_hooks", "webhook_signing")
    return {"email": str(outbox_id), "delivery": delivery_id}


def test_admin_requeues_a_dead_job_and_every_operations_page_fits(browser, live_server, live_services):
    base = live_server
    job_id = make_dead_job(live_services)
    ids = operations_data(live_services)
    violations = []
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    sign_in(page, base)

    page.goto(f"{base}/setup/")
    with page.expect_navigation():
        page.click(".ts-menu a:has-text('Jobs')")
    row = page.locator(f"tr[data-job='{job_id}']")
    assert "Dead" in row.inner_text() and "report store did not answer" in row.inner_text()
    dead_count = page.locator("#job-counts [data-status='dead'] .ops-count-n").inner_text()
    assert int(dead_count) >= 1
    screenshot(page, "setup_ops_jobs_with_a_dead_job_desktop")
    with page.expect_navigation():
        row.locator(f"button[data-requeue='{job_id}']").click()
    assert "is queued again" in page.locator(".ts-flash").first.inner_text()
    assert job_status(live_services, job_id) == READY
    assert page.locator(f"tr[data-job='{job_id}'] button[data-requeue]").count() == 0

    pages = {"jobs": "/setup/jobs/", "job": f"/setup/jobs/{job_id}", "outbox": "/setup/email-outbox/",
             "email": f"/setup/email-outbox/{ids['email']}", "deliveries": "/setup/webhook-deliveries/",
             "delivery": f"/setup/webhook-deliveries/{ids['delivery']}", "credentials": "/setup/credentials/",
             "credential_new": "/setup/credentials/new"}
    for size, viewport in (("desktop", {"width": 1280, "height": 800}), ("phone", {"width": 390, "height": 844})):
        page.set_viewport_size(viewport)
        for name, path in pages.items():
            response = page.goto(base + path)
            assert response.status == 200, path
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} is {overflow}px wider than a {size} screen"
            if name == "email":
                frame = page.frame_locator("#email-html-preview")
                assert frame.locator("h1").inner_text() == "Welcome aboard"    # the HTML body, rendered in its frame
                assert page.title() != "pwned" and frame.locator("body").evaluate("b => document.title") != "pwned"
            screenshot(page, f"setup_ops_{name}_{size}")
    # a CSP report would mean something on these pages tried to load or run what the policy forbids
    # (the sandboxed email frame inherits the policy: its remote image is blocked, which is the point)
    assert [v for v in violations if "tracker.example" not in v] == []
    context.close()
