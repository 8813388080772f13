"""Outgoing webhooks end to end: a workflow's webhook action (REST writes), real workers, a real
HTTP receiver on 127.0.0.1, Standard Webhooks signatures checked by the `standardwebhooks`
package on the receiver's side. Both databases. No traffic ever leaves the loopback interface:
the SSRF tests prove the refusal happens before any connection."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from standardwebhooks import Webhook
from webhook_receiver import Receiver, free_port

from tessera.automation import Backoff, HandlerRegistry, list_jobs, registry, webhooks
from tessera.automation.credentials import set_credential
from tessera.meta.errors import MetadataInvalid
from tessera.storage.engine import begin_read

ROOT = Path(__file__).resolve().parents[2]
FAST = Backoff(base=0.05, cap=0.2)


def apply(services, workflows):
    components = {"workflows": {name: {"source": f"workflows/{name}.yaml", "doc": {"name": name, **doc}}
                                for name, doc in workflows.items()}}
    return services.changes.apply_org({"manifest": None, "components": components}, author="test", message="hooks")


def hook_on_deal_create(*urls, **options):
    return {"object": "deal", "trigger": {"event": "create"},
            "actions": [{"type": "webhook", "url": url, "credential": "crm_hooks", **options} for url in urls]}


def wait_for(predicate, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def loopback_allowed(monkeypatch):
    """Tests send to 127.0.0.1 receivers: the operator's allow-list admits exactly that address."""
    monkeypatch.setenv("TESSERA_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.1/32")
    monkeypatch.delenv("TESSERA_WEBHOOK_ALLOW_PRIVATE", raising=False)


@pytest.fixture
def secret(services):
    generated, created = set_credential(services.engine, "crm_hooks", "webhook_signing")
    assert created and generated.startswith("whsec_")
    return generated


@pytest.fixture
def receivers():
    started = []

    def start(plan=(), port=0):
        r = Receiver(plan, port)
        started.append(r)
        return r
    yield start
    for r in started:
        r.stop()


@pytest.fixture
def workers(services, worker_threads):
    """Real workers running the real webhook handler, with retry delays of milliseconds."""
    handlers = HandlerRegistry()
    handlers.register(webhooks.KIND, webhooks.deliver, backoff=FAST)
    return lambda concurrency=2: worker_threads.start(services, registry=handlers, concurrency=concurrency)


def deliveries(api, **params):
    response = api.get("/api/v1/webhook-deliveries", query_string=params)
    assert response.status_code == 200, response.json
    return response.json["deliveries"]


def delivery(api, delivery_id):
    response = api.get(f"/api/v1/webhook-deliveries/{delivery_id}")
    assert response.status_code == 200, response.json
    return response.json


def settled(api, n=1):
    """The deliveries once n of them are no longer pending."""
    return wait_for(lambda: (lambda found: found if len([d for d in found if d["status"] != "pending"]) >= n else None)(
        deliveries(api)), what=f"{n} settled deliveries")


# -- delivery -------------------------------------------------------------------------------------

def test_a_created_record_is_posted_signed_and_logged(services, api, secret, receivers, workers, loopback_allowed):
    receiver = receivers()
    apply(services, {"deal_to_erp": hook_on_deal_create(receiver.url)})
    deal = api.post("/api/v1/records/deal", json={"name": "Signed deal", "amount": 1200}).json
    workers()
    [done] = settled(api)
    assert done["status"] == "delivered" and done["attempts"] == 1 and done["last_status_code"] == 200
    assert receiver.count == 1
    headers, body = receiver.requests[0]
    payload = Webhook(secret).verify(body, headers)       # raises unless the signature is right
    assert headers["webhook-id"] == done["id"] and headers["content-type"] == "application/json"
    assert payload["type"] == "deal.create" and payload["data"]["id"] == deal["id"]
    assert payload["data"]["name"] == "Signed deal" and payload["data"]["amount"] == deal["amount"]
    with pytest.raises(Exception):
        Webhook("whsec_" + "A" * 43).verify(body, headers)  # another key does not verify
    detail = delivery(api, done["id"])
    assert detail["request"]["body"] == payload and [a["status_code"] for a in detail["attempt_log"]] == [200]
    run = api.get("/api/v1/workflow-runs", query_string={"workflow": "deal_to_erp"}).json["runs"][0]
    assert run["steps"][0]["detail"]["delivery"] == done["id"]


def test_payload_fields_and_event_name(services, api, secret, receivers, workers, loopback_allowed):
    receiver = receivers()
    apply(services, {"deal_small": hook_on_deal_create(receiver.url, event="deal.opened", payload=["name", "stage"])})
    deal = api.post("/api/v1/records/deal", json={"name": "Small", "amount": 5}).json
    workers()
    settled(api)
    payload = Webhook(secret).verify(receiver.requests[0][1], receiver.requests[0][0])
    assert payload["type"] == "deal.opened"
    assert payload["data"] == {"id": deal["id"], "name": "Small", "stage": "New"}


def test_a_rolled_back_write_enqueues_nothing(services, api, secret, receivers, loopback_allowed):
    receiver = receivers()
    apply(services, {"deal_hook_then_fail": {
        "object": "deal", "trigger": {"event": "create"},
        "actions": [{"type": "webhook", "url": receiver.url, "credential": "crm_hooks"},
                    {"type": "create_record", "object": "deal", "values": {"name": "'x'", "amount": "-1"}}]}})
    refused = api.post("/api/v1/records/deal", json={"name": "Doomed"})
    assert refused.status_code == 422 and refused.json["error"]["code"] == "workflow_failed"
    assert deliveries(api) == []
    with begin_read(services.engine) as conn:
        assert list_jobs(conn, kind=webhooks.KIND) == []


def test_a_missing_credential_fails_the_write_naming_it(services, api, receivers, loopback_allowed):
    apply(services, {"deal_hook": hook_on_deal_create(receivers().url)})
    refused = api.post("/api/v1/records/deal", json={"name": "No key"})
    assert refused.status_code == 422, refused.json
    assert "crm_hooks" in refused.json["error"]["message"] and "tessera credential set" in refused.json["error"]["message"]
    assert api.get("/api/v1/records/deal").json["records"] == []


def test_a_receiver_that_is_down_gets_retries_with_one_webhook_id(services, api, secret, receivers, workers,
                                                                    loopback_allowed):
    port = free_port()                              # nothing listens there yet: connection refused
    url = f"http://127.0.0.1:{port}/hooks"
    apply(services, {"deal_to_erp": hook_on_deal_create(url)})
    api.post("/api/v1/records/deal", json={"name": "Retried"})
    workers()
    [pending] = deliveries(api)
    wait_for(lambda: delivery(api, pending["id"])["attempts"] >= 2, what="two failed attempts")
    receiver = receivers(plan=[(500, 0), (503, 0)], port=port)   # up, but failing twice, then 200
    [done] = settled(api)
    assert done["status"] == "delivered" and done["last_status_code"] == 200
    log = delivery(api, done["id"])["attempt_log"]
    assert len(log) == done["attempts"] >= 5 and [a["attempt"] for a in log] == list(range(1, len(log) + 1))
    assert all(a["status_code"] is None and "failed" in a["error"] for a in log[:2])   # refused connections
    assert [a["status_code"] for a in log[-3:]] == [500, 503, 200]
    assert {h["webhook-id"] for h, _ in receiver.requests} == {done["id"]}   # the same id every time
    assert receiver.applied == {done["id"]: 1}                               # the side effect once
    for headers, body in receiver.requests:
        Webhook(secret).verify(body, headers)
    with begin_read(services.engine) as conn:
        [job] = list_jobs(conn, kind=webhooks.KIND)
    assert job.status == "done" and job.attempts == done["attempts"] and job.max_attempts == webhooks.MAX_ATTEMPTS


def test_a_receiver_slower_than_the_timeout_is_retried(services, api, secret, receivers, workers, loopback_allowed,
                                                       monkeypatch):
    monkeypatch.setenv("TESSERA_WEBHOOK_TIMEOUT", "0.3")
    receiver = receivers(plan=[(200, 1.5)])         # the first answer comes too late
    apply(services, {"deal_to_erp": hook_on_deal_create(receiver.url)})
    api.post("/api/v1/records/deal", json={"name": "Slow"})
    workers()
    [done] = settled(api)
    assert done["status"] == "delivered" and done["attempts"] == 2
    first = delivery(api, done["id"])["attempt_log"][0]
    assert first["status_code"] is None and "timeout" in first["error"]
    assert {h["webhook-id"] for h, _ in receiver.requests} == {done["id"]}


def test_410_disables_the_endpoint_until_an_admin_enables_it(services, api, secret, receivers, workers,
                                                              loopback_allowed, db_url):
    receiver = receivers(plan=[(410, 0)])
    apply(services, {"deal_to_erp": hook_on_deal_create(receiver.url)})
    api.post("/api/v1/records/deal", json={"name": "Gone 1"})
    workers()
    [gone] = settled(api)
    assert gone["status"] == "disabled" and gone["last_status_code"] == 410 and gone["attempts"] == 1
    listed = api.get("/api/v1/webhook-deliveries").json
    assert [e["url"] for e in listed["disabled_endpoints"]] == [receiver.url]
    api.post("/api/v1/records/deal", json={"name": "Gone 2"})
    found = settled(api, 2)
    assert [d["status"] for d in found] == ["disabled", "disabled"] and found[0]["attempts"] == 0
    assert receiver.count == 1                      # nothing more was sent
    refused = api.post(f"/api/v1/webhook-deliveries/{gone['id']}/replay")
    assert refused.status_code == 409 and "disabled" in refused.json["error"]["message"]
    cli = [sys.executable, str(ROOT / "cli.py")]
    enabled = subprocess.run([*cli, "webhooks", "--database", db_url, "--enable", receiver.url],
                             capture_output=True, text=True)
    assert enabled.returncode == 0, enabled.stderr
    replayed = subprocess.run([*cli, "webhooks", "--database", db_url, "--replay", gone["id"]],
                              capture_output=True, text=True)
    assert replayed.returncode == 0, replayed.stderr
    wait_for(lambda: delivery(api, gone["id"])["status"] == "delivered", what="the replay")
    assert receiver.requests[-1][0]["webhook-id"] == gone["id"]


# -- SSRF -----------------------------------------------------------------------------------------

def test_private_and_loopback_addresses_are_refused_before_connecting(services, api, secret, receivers, workers,
                                                                      monkeypatch):
    monkeypatch.delenv("TESSERA_WEBHOOK_ALLOWED_NETWORKS", raising=False)
    monkeypatch.delenv("TESSERA_WEBHOOK_ALLOW_PRIVATE", raising=False)
    receiver = receivers()                          # listening: a request would reach it
    targets = [receiver.url, f"http://localhost:{receiver.port}/hooks", f"http://[::1]:{receiver.port}/x",
               "http://10.0.0.1/hooks", "http://169.254.169.254/latest/meta-data/", "https://192.168.1.20/x",
               "http://[::ffff:127.0.0.1]/x", "http://0.0.0.0:9/x"]
    apply(services, {"deal_everywhere": hook_on_deal_create(*targets)})
    api.post("/api/v1/records/deal", json={"name": "SSRF"})
    workers()
    found = settled(api, len(targets))
    assert len(found) == len(targets)
    for d in found:
        assert d["status"] == "failed" and d["attempts"] == 1 and d["last_status_code"] is None, d
        assert d["last_error"].startswith("refused to connect") and "TESSERA_WEBHOOK_ALLOW_PRIVATE" in d["last_error"]
    assert receiver.count == 0
    def jobs():
        with begin_read(services.engine) as conn:
            return {(j.status, j.attempts) for j in list_jobs(conn, kind=webhooks.KIND)}
    # not retried: the jobs are done after one attempt (a job completes just after its delivery row)
    wait_for(lambda: jobs() == {("done", 1)} or None, what="webhook jobs done after one attempt")
    # the operator allows it: a replay goes through, to the loopback receiver only
    monkeypatch.setenv("TESSERA_WEBHOOK_ALLOW_PRIVATE", "1")
    mine = next(d for d in found if d["url"] == receiver.url)
    assert api.post(f"/api/v1/webhook-deliveries/{mine['id']}/replay").status_code == 202
    wait_for(lambda: delivery(api, mine["id"])["status"] == "delivered", what="the allowed replay")
    assert receiver.count == 1


# -- replay, the log's API, metadata checks --------------------------------------------------------

def test_replay_resends_with_the_same_id_and_the_log_is_for_admins(services, api, secret, receivers, workers,
                                                                   loopback_allowed, client_for):
    receiver = receivers()
    apply(services, {"deal_to_erp": hook_on_deal_create(receiver.url)})
    api.post("/api/v1/records/deal", json={"name": "Again"})
    workers()
    [done] = settled(api)
    replayed = api.post(f"/api/v1/webhook-deliveries/{done['id']}/replay")
    assert replayed.status_code == 202 and replayed.json["delivery"]["status"] == "pending"
    again = api.post(f"/api/v1/webhook-deliveries/{done['id']}/replay")
    assert again.status_code in (202, 409)          # 409 while the replay is still pending
    wait_for(lambda: receiver.count >= 2 and delivery(api, done["id"])["status"] == "delivered", what="the replay")
    assert {h["webhook-id"] for h, _ in receiver.requests} == {done["id"]}
    assert receiver.requests[0][1] == receiver.requests[1][1]   # the same body, signed afresh
    assert deliveries(api, status="delivered")[0]["attempts"] >= 2
    assert api.post("/api/v1/webhook-deliveries/msg_nope/replay").status_code == 404
    assert api.get("/api/v1/webhook-deliveries", query_string={"status": "lost"}).status_code == 400
    assert api.get("/api/v1/webhook-deliveries", query_string={"sort": "x"}).status_code == 400
    user, _ = services.identity.create_user("rep1", password="Rep-password-very-long-1", profile="standard_user")
    rep = client_for(user)
    assert rep.get("/api/v1/webhook-deliveries").status_code == 403
    assert rep.post(f"/api/v1/webhook-deliveries/{done['id']}/replay").status_code == 403


@pytest.mark.parametrize("action, where, words", [
    ({"url": "ftp://example.com/x"}, "actions.0.url", "http"),
    ({"url": "https://user:pw@example.com/x"}, "actions.0.url", "named credentials"),
    ({"url": "https://example.com/x#frag"}, "actions.0.url", "fragment"),
    ({"payload": ["nope"]}, "actions.0.payload.0", "no field 'nope'"),
    ({"event": "Deal Won"}, "actions.0.event", "event name"),
    ({"credential": None}, "actions.0.credential", "required"),
])
def test_invalid_webhook_actions_are_refused(services, action, where, words):
    doc = {"type": "webhook", "url": "https://example.com/hooks", "credential": "crm_hooks", **action}
    doc = {k: v for k, v in doc.items() if v is not None}
    with pytest.raises(MetadataInvalid) as info:
        apply(services, {"bad": {"object": "deal", "trigger": {"event": "create"}, "actions": [doc]}})
    messages = [(e.path, e.message) for e in info.value.errors]
    assert any(path.startswith(where) and words in message for path, message in messages), messages


def test_webhooks_run_after_save_only(services):
    with pytest.raises(MetadataInvalid) as info:
        apply(services, {"bad": {"object": "deal", "trigger": {"event": "create", "timing": "before_save"},
                                 "actions": [{"type": "webhook", "url": "https://example.com/h", "credential": "k"}]}})
    assert any("after_save" in e.message for e in info.value.errors)


def test_every_worker_knows_webhooks_and_retries_them_for_about_a_day():
    assert registry.get(webhooks.KIND) is webhooks.deliver
    backoff = registry.backoff_for(webhooks.KIND, Backoff())
    mean_span = sum(backoff.ceiling(n) / 2 for n in range(1, webhooks.MAX_ATTEMPTS))   # full jitter: half the ceiling
    assert 20 * 3600 <= mean_span <= 30 * 3600


def test_credential_cli_shows_a_generated_secret_once_and_never_again(db_url, tmp_path):
    import os
    cli = [sys.executable, str(ROOT / "cli.py")]

    def run(*args, env=None):
        return subprocess.run([*cli, *args, "--database", db_url], capture_output=True, text=True,
                              env={**os.environ, **(env or {})})
    assert run("init").returncode == 0
    made = run("credential", "set", "erp_hooks", "--kind", "webhook_signing")
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert secret.startswith("whsec_") and "shown once" in made.stderr
    Webhook(secret)                                  # a key the Standard Webhooks library takes
    given = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # base64 of 24 bytes
    rotated = run("credential", "set", "erp_hooks", "--kind", "webhook_signing", "--secret-from-env", "HOOK_KEY",
                  env={"HOOK_KEY": given})
    assert rotated.returncode == 0 and rotated.stdout == "" and "rotated" in rotated.stderr
    assert run("credential", "set", "api_x", "--kind", "http_bearer").returncode == 0
    listed = run("credential", "list")
    assert listed.returncode == 0 and "erp_hooks  webhook_signing" in listed.stdout and "api_x  http_bearer" in listed.stdout
    assert secret not in listed.stdout and given not in listed.stdout and "whsec_" not in listed.stdout
    bad = run("credential", "set", "weak", "--kind", "webhook_signing", "--secret-from-env", "HOOK_KEY",
              env={"HOOK_KEY": "whsec_c2hvcnQ="})
    assert bad.returncode != 0 and "24 to 64" in bad.stderr and "Traceback" not in bad.stderr
    assert "not set" in run("credential", "set", "x", "--kind", "basic", "--secret-from-env", "NOPE_VAR").stderr
    assert "not a credential name" in run("credential", "set", "Bad-Name", "--kind", "http_bearer").stderr
    assert "delete it first" in run("credential", "set", "api_x", "--kind", "webhook_signing").stderr
    assert run("credential", "delete", "api_x").returncode == 0
    assert run("credential", "delete", "api_x").returncode != 0
    # secrets are data, not metadata: an export of the org's metadata never carries them
    export = subprocess.run([*cli, "export", str(tmp_path / "out"), "--database", db_url], capture_output=True, text=True)
    assert export.returncode == 0, export.stderr
    exported = "".join(p.read_text() for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert exported and given not in exported and "whsec_" not in exported
    empty = run("webhooks")
    assert empty.returncode == 0 and "no webhook deliveries" in empty.stdout
    assert "no webhook delivery 'msg_x'" in run("webhooks", "--replay", "msg_x").stderr
