"""Email: templates as metadata (checked at metadata time, rendered in a sandbox), the send_email
workflow action (outbox row and job in the write's transaction), delivery by the worker to a REAL
local SMTP server (aiosmtpd) or to .eml files, retries, the outbox API and CLI. Both databases."""
from __future__ import annotations

import email
import email.policy
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from tessera.automation import Backoff, email_outbox, registry
from tessera.meta.errors import MetadataInvalid
from tessera.meta.source import load_package
from tessera.storage.engine import begin_read
from tessera.storage.platform_tables import email_outbox as outbox_table, jobs

ROOT = Path(__file__).resolve().parents[2]

GREETING = {"object": "deal",
            "subject": "Deal {{ record.number }}: {{ record.name }}",
            "text_body": "Hello,\nthe deal {{ record.name }} of {{ record.company.name }} is worth {{ record.amount }}.\n",
            "html_body": "<p>The deal <b>{{ record.name }}</b> of {{ record.company.name }}</p>"}
SEND = {"object": "deal", "trigger": {"event": "create"},
        "actions": [{"type": "send_email", "template": "deal_greeting", "to": ["company.email"],
                     "cc": ["'boss@example.com'"]}]}


def org(templates: dict, workflows: dict | None = None) -> dict:
    components = {"email_templates": {name: {"source": f"email_templates/{name}.yaml", "doc": {"name": name, **doc}}
                                      for name, doc in templates.items()}}
    components["workflows"] = {name: {"source": f"workflows/{name}.yaml", "doc": {"name": name, **doc}}
                               for name, doc in (workflows or {}).items()}
    return {"manifest": None, "components": components}


def apply(services, templates, workflows=None):
    return services.changes.apply_org(org(templates, workflows), author="test", message="email")


def outbox_rows(services):
    with begin_read(services.engine) as conn:
        return conn.execute(outbox_table.select().order_by(outbox_table.c.created_at)).all()


def email_jobs(services):
    with begin_read(services.engine) as conn:
        return conn.execute(jobs.select().where(jobs.c.kind == "email.send")).all()


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def messages(self):
        return [email.message_from_bytes(e.content, policy=email.policy.default) for e in self.envelopes]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(monkeypatch):
    """A real SMTP server on 127.0.0.1 (started by the test; `start()` again after `stop()`)."""
    inbox = Inbox()
    port = free_port()
    state = {}

    def start():
        state["controller"] = Controller(inbox, hostname="127.0.0.1", port=port)
        state["controller"].start()

    def stop():
        state.pop("controller").stop()

    monkeypatch.setenv("TESSERA_SMTP_URL", f"smtp://127.0.0.1:{port}?timeout=5")
    inbox.start, inbox.stop, inbox.port = start, stop, port
    yield inbox
    if "controller" in state:
        stop()


@pytest.fixture
def worker(services, worker_threads):
    """An in-process worker with the process's default handlers (email.send is built in)."""
    return lambda: worker_threads.start(services, backoff=Backoff(base=0.05, cap=0.2), lease=10)


@pytest.fixture
def greeting(services, api):
    apply(services, {"deal_greeting": GREETING}, {"send_greeting": SEND})
    return services


# -- templates: checked at metadata time ------------------------------------------------------------

@pytest.mark.parametrize("change, part, words", [
    ({"subject": "Hi {{ record.nmae }}"}, "subject", "'deal' has no field 'nmae'"),
    ({"text_body": "line one\n{{ record.company.nope }}"}, "text_body", "line 2: 'deal' has no field 'company.nope'"),
    ({"html_body": "<p>{% if record.name %}</p>"}, "html_body", "template syntax error"),
    ({"text_body": "{{ secret }}"}, "text_body", "unknown variable 'secret'"),
    ({"text_body": "{{ record }}"}, "text_body", "not 'record' itself"),
    ({"text_body": "{{ record.name.__class__ }}"}, "text_body", "has no field 'name.__class__'"),
    ({"object": "nothing"}, "object", "there is no object 'nothing'"),
])
def test_invalid_templates_are_refused_naming_file_part_and_line(services, change, part, words):
    with pytest.raises(MetadataInvalid) as info:
        apply(services, {"bad": {**GREETING, **change}})
    found = [(e.source, e.path, e.message) for e in info.value.errors]
    assert any(src == "email_templates/bad.yaml" and path == part and words in message
               for src, path, message in found), found


def test_schema_refuses_a_template_without_a_body(services):
    with pytest.raises(MetadataInvalid) as info:
        apply(services, {"bad": {k: v for k, v in GREETING.items() if k != "text_body"}})
    assert any(e.path == "text_body" for e in info.value.errors), info.value.errors


@pytest.mark.parametrize("action, where, words", [
    ({"template": "nope", "to": ["'a@example.com'"]}, "actions.0.template", "there is no email template 'nope'"),
    ({"template": "company_note", "to": ["'a@example.com'"]}, "actions.0.template", "is about 'company' records"),
    ({"template": "deal_greeting", "to": ["amount"]}, "actions.0.to.0", "must give a text"),
    ({"template": "deal_greeting", "to": ["company.nope"]}, "actions.0.to.0", "nope"),
    ({"template": "deal_greeting", "to": ["'a@example.com'"], "title": "'x'"}, "actions.0.title", "does not apply"),
])
def test_invalid_send_email_actions_are_refused(services, action, where, words):
    templates = {"deal_greeting": GREETING, "company_note": {"object": "company", "subject": "s", "text_body": "t"}}
    with pytest.raises(MetadataInvalid) as info:
        apply(services, templates, {"w": {"object": "deal", "trigger": {"event": "create"},
                                          "actions": [{"type": "send_email", **action}]}})
    found = [(e.source, e.path, e.message) for e in info.value.errors]
    assert any(src == "workflows/w.yaml" and path == where and words in message for src, path, message in found), found


def test_send_email_is_after_save_and_not_on_delete(services):
    for trigger, words in (({"event": "create", "timing": "before_save"}, "needs timing: after_save"),
                           ({"event": "delete"}, "the record is deleted")):
        with pytest.raises(MetadataInvalid) as info:
            apply(services, {"deal_greeting": GREETING},
                  {"w": {"object": "deal", "trigger": trigger,
                         "actions": [{"type": "send_email", "template": "deal_greeting", "to": ["'a@b.example'"]}]}})
        assert any(words in e.message for e in info.value.errors), info.value.errors


def test_templates_are_planned_and_versioned_like_every_component(services):
    change = apply(services, {"deal_greeting": GREETING})
    assert any("email template deal_greeting" in line for line in change.plan.lines()), change.plan.lines()
    assert "deal_greeting" in services.runtimes.current().metadata.email_templates


# -- the send_email action: rendered and queued in the write's transaction ---------------------------

def test_a_workflow_queues_the_rendered_message_with_its_job(greeting, api):
    company = api.post("/api/v1/records/company", json={"name": "Acme <script>alert(1)</script>",
                                                        "email": "buyer@acme.example"}).json
    deal = api.post("/api/v1/records/deal", json={"name": "Big\r\nBcc: victim@evil.example <b>", "amount": 12,
                                                  "company": company["id"]})
    assert deal.status_code == 201, deal.json
    [row] = outbox_rows(greeting)
    assert row.status == "queued" and row.to == ["buyer@acme.example"] and row.cc == ["boss@example.com"]
    # the subject lost its line breaks: the value cannot add a Bcc header
    assert row.subject == f"Deal {deal.json['number']}: Big Bcc: victim@evil.example <b>"
    assert "\r" not in row.subject and "\n" not in row.subject
    # HTML escaped, text as typed
    assert "Acme &lt;script&gt;alert(1)&lt;/script&gt;" in row.html and "<script>" not in row.html
    assert "<b>Big\r\nBcc: victim@evil.example &lt;b&gt;</b>" in row.html
    assert "of Acme <script>alert(1)</script> is worth 12" in row.text
    [job] = email_jobs(greeting)
    assert job.status == "ready" and job.payload == {"outbox_id": str(row.id)} and row.job_id == job.id
    assert row.record_id is not None and str(row.record_id) == deal.json["id"] and row.workflow == "send_greeting"
    [run] = api.get("/api/v1/workflow-runs", query_string={"workflow": "send_greeting"}).json["runs"]
    assert run["steps"][0]["detail"]["outbox_id"] == str(row.id)


def test_a_rolled_back_write_queues_nothing(greeting, api):
    company = api.post("/api/v1/records/company", json={"name": "Acme", "email": "buyer@acme.example"}).json
    refused = api.post("/api/v1/records/deal", json={"name": "Bad", "amount": -5, "company": company["id"]})
    assert refused.status_code == 422      # a validation rule: the write rolls back
    assert outbox_rows(greeting) == [] and email_jobs(greeting) == []


def test_a_failing_later_action_rolls_back_the_queued_email(services, api):
    apply(services, {"deal_greeting": GREETING}, {"w": {
        "object": "deal", "trigger": {"event": "create"},
        "actions": [{"type": "send_email", "template": "deal_greeting", "to": ["'a@example.com'"]},
                    {"type": "update_record", "values": {"amount": "-1"}}]}})   # refused by a rule
    assert api.post("/api/v1/records/deal", json={"name": "x"}).status_code == 422
    assert outbox_rows(services) == [] and email_jobs(services) == []


def test_no_recipient_skips_the_step(greeting, api):
    deal = api.post("/api/v1/records/deal", json={"name": "No company"})
    assert deal.status_code == 201
    assert outbox_rows(greeting) == []
    [run] = api.get("/api/v1/workflow-runs", query_string={"workflow": "send_greeting"}).json["runs"]
    assert run["status"] == "succeeded" and run["steps"][0]["status"] == "skipped"
    odd = {**SEND, "actions": [{**SEND["actions"][0], "to": ["'not an address'", "company.email"]}]}
    apply(greeting, {"deal_greeting": GREETING}, {"send_greeting": odd})
    api.post("/api/v1/records/deal", json={"name": "Odd one"})
    latest = api.get("/api/v1/workflow-runs", query_string={"workflow": "send_greeting"}).json["runs"][0]
    assert latest["steps"][0]["status"] == "skipped" and latest["steps"][0]["detail"]["ignored"] == ["not an address"]
    assert outbox_rows(greeting) == []


# -- delivery --------------------------------------------------------------------------------------

def test_the_worker_delivers_to_a_real_smtp_server(greeting, api, smtp_server, worker):
    smtp_server.start()
    company = api.post("/api/v1/records/company", json={"name": "Acme <i>", "email": "buyer@acme.example"}).json
    deal = api.post("/api/v1/records/deal", json={"name": "Big <b>", "amount": 7.0, "company": company["id"]}).json
    worker()
    wait_for(lambda: smtp_server.envelopes)
    [envelope] = smtp_server.envelopes
    assert sorted(envelope.rcpt_tos) == ["boss@example.com", "buyer@acme.example"]
    [msg] = smtp_server.messages()
    assert msg["To"] == "buyer@acme.example" and msg["Cc"] == "boss@example.com"
    assert msg["Subject"] == f"Deal {deal['number']}: Big <b>"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n") == "Hello,\nthe deal Big <b> of Acme <i> is worth 7.\n"
    assert msg.get_body(("html",)).get_content().strip() == "<p>The deal <b>Big &lt;b&gt;</b> of Acme &lt;i&gt;</p>"
    row = wait_for(lambda: [r for r in outbox_rows(greeting) if r.status == "sent"])[0]
    assert msg["Message-ID"] == row.message_id and row.attempts == 1 and row.sent_at is not None
    listed = api.get("/api/v1/email-outbox", query_string={"status": "sent"}).json["emails"]
    assert [m["id"] for m in listed] == [str(row.id)] and listed[0]["to"] == ["buyer@acme.example"]


def test_smtp_down_is_retried_until_the_server_comes_up(greeting, api, smtp_server, worker):
    company = api.post("/api/v1/records/company", json={"name": "Acme", "email": "buyer@acme.example"}).json
    api.post("/api/v1/records/deal", json={"name": "Retry me", "company": company["id"]})
    worker()
    row = wait_for(lambda: [r for r in outbox_rows(greeting) if r.attempts >= 2])[0]
    assert row.status == "queued" and "ConnectionRefusedError" in row.last_error
    assert api.get("/api/v1/email-outbox", query_string={"status": "queued"}).json["emails"][0]["last_error"]
    smtp_server.start()
    row = wait_for(lambda: [r for r in outbox_rows(greeting) if r.status == "sent"])[0]
    assert row.last_error is None and row.attempts >= 3
    [msg] = smtp_server.messages()
    assert msg["Subject"].endswith("Retry me") and msg["Message-ID"] == row.message_id


def test_the_last_failed_attempt_marks_the_message_failed(greeting, api, smtp_server, services):
    company = api.post("/api/v1/records/company", json={"name": "Acme", "email": "buyer@acme.example"}).json
    api.post("/api/v1/records/deal", json={"name": "Doomed", "company": company["id"]})
    [row] = outbox_rows(services)
    with pytest.raises(ConnectionRefusedError):
        email_outbox.deliver(services.engine, row.id, attempt=3, max_attempts=3)
    [row] = outbox_rows(services)
    assert row.status == "failed" and row.attempts == 3
    assert [m["id"] for m in api.get("/api/v1/email-outbox", query_string={"status": "failed"}).json["emails"]] \
        == [str(row.id)]


def test_without_smtp_messages_are_written_as_eml_files(greeting, api, worker, monkeypatch, tmp_path):
    monkeypatch.delenv("TESSERA_SMTP_URL", raising=False)
    monkeypatch.setenv("TESSERA_MAIL_DIR", str(tmp_path / "outgoing"))
    monkeypatch.setenv("TESSERA_MAIL_FROM", "Support <support@acme.example>")
    company = api.post("/api/v1/records/company", json={"name": "Acme", "email": "buyer@acme.example"}).json
    api.post("/api/v1/records/deal", json={"name": "Filed", "company": company["id"]})
    worker()
    [path] = wait_for(lambda: list((tmp_path / "outgoing").glob("*.eml")))
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    [row] = wait_for(lambda: [r for r in outbox_rows(greeting) if r.status == "sent"])
    assert path.name.endswith(f"-{row.id}.eml")
    assert msg["From"] == "Support <support@acme.example>" and msg["To"] == "buyer@acme.example"
    assert msg["Message-ID"] == row.message_id and row.message_id.endswith("@acme.example>")
    assert "the deal Filed of Acme" in msg.get_body(("plain",)).get_content()
    # sent already: delivering again does nothing (a stale retry cannot send twice)
    assert email_outbox.deliver(greeting.engine, row.id) == "sent already"


def test_the_email_handler_is_built_in():
    assert registry.get("email.send") is email_outbox.send_email_job


# -- visibility --------------------------------------------------------------------------------------

def test_outbox_api_is_for_admins_and_checks_its_parameters(greeting, api, client_for):
    assert api.get("/api/v1/email-outbox").json == {"emails": []}
    assert api.get("/api/v1/email-outbox", query_string={"status": "lost"}).status_code == 400
    assert api.get("/api/v1/email-outbox", query_string={"limit": "0"}).status_code == 400
    assert api.get("/api/v1/email-outbox", query_string={"sort": "x"}).status_code == 400
    user, _ = greeting.identity.create_user("plain", password="Tq7-violet-harbor-92", profile="standard_user")
    refused = client_for(user).get("/api/v1/email-outbox")
    assert refused.status_code == 403 and refused.json["error"]["code"]


def test_tessera_emails_lists_the_outbox(greeting, api, db_url):
    company = api.post("/api/v1/records/company", json={"name": "Acme", "email": "buyer@acme.example"}).json
    api.post("/api/v1/records/deal", json={"name": "Listed", "company": company["id"]})
    run = [sys.executable, str(ROOT / "cli.py")]
    out = subprocess.run([*run, "emails", "--database", db_url, "--body"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "queued" in out.stdout and "buyer@acme.example" in out.stdout and "Listed" in out.stdout
    assert "| the deal Listed of Acme" in out.stdout
    none = subprocess.run([*run, "emails", "--database", db_url, "--status", "failed"], capture_output=True, text=True)
    assert none.returncode == 0 and "No failed emails." in none.stdout
    bad = subprocess.run([*run, "emails", "--database", db_url, "--status", "lost"], capture_output=True, text=True)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr


# -- the stock Service app ----------------------------------------------------------------------------

@pytest.fixture
def service_app(services):
    services.changes.install_packages([load_package(ROOT / "apps" / p) for p in ("sales", "marketing", "service")],
                                      author="test", message="service")
    return services


def test_a_new_case_sends_the_contact_an_acknowledgement(service_app, api, smtp_server, worker):
    smtp_server.start()
    contact = api.post("/api/v1/records/contact", json={"first_name": "Grace", "last_name": "Hopper",
                                                        "email": "grace@navy.example"}).json
    case = api.post("/api/v1/records/case", json={"subject": "Printer <on> fire", "contact": contact["id"]})
    assert case.status_code == 201, case.json
    api.post("/api/v1/records/case", json={"subject": "Nobody to tell"})       # no address: the workflow stays out
    web = api.post("/api/v1/records/case", json={"subject": "From the web", "supplied_name": "Alan",
                                                 "supplied_email": "alan@web.example"}).json
    worker()
    wait_for(lambda: len(smtp_server.envelopes) == 2)
    by_to = {m["To"]: m for m in smtp_server.messages()}
    msg = by_to["grace@navy.example"]
    number = case.json["case_number"]
    assert msg["Subject"] == f"[{number}] We received your request: Printer <on> fire"
    assert "Hello Grace," in msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert f"<strong>{number}</strong>" in html and "Printer &lt;on&gt; fire" in html
    assert "Hello Alan," in by_to["alan@web.example"].get_body(("plain",)).get_content()
    assert web["case_number"] in by_to["alan@web.example"]["Subject"]
    runs = api.get("/api/v1/workflow-runs", query_string={"workflow": "case_auto_response"}).json["runs"]
    assert len(runs) == 2
