"""Setup → Automation → Named Credentials: create (then a webhook workflow signs with it, checked
by a real receiver), rotate, delete (refused while a workflow names it); the secret never appears
in any page. Through the setup UI; both databases."""
from __future__ import annotations

import base64
import re
import sys
from pathlib import Path

import pytest
from standardwebhooks import Webhook

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "automation"))
from webhook_receiver import Receiver  # noqa: E402
from worker_threads import run_jobs  # noqa: E402

from tessera.automation.credentials import get_credential, list_credentials  # noqa: E402
from tessera.storage.engine import begin_read  # noqa: E402
from tessera.storage.platform_tables import named_credentials  # noqa: E402

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
ROTATED = "whsec_" + base64.b64encode(b"r" * 32).decode()


def flashes(html: str) -> list[str]:
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", m)).replace("×", "").strip()
            for m in re.findall(r'<div class="alert alert-[a-z]+ alert-dismissible[^"]*"[^>]*>(.*?)</div>', html, re.S)]


def stored_secret(services, name):
    with begin_read(services.engine) as conn:
        return conn.execute(named_credentials.select().where(named_credentials.c.name == name)).first().secret


def hook_workflow(url, credential="crm_hooks") -> dict:
    return {"manifest": None, "components": {"workflows": {"deal_hook": {
        "source": "workflows/deal_hook.yaml",
        "doc": {"name": "deal_hook", "object": "deal", "trigger": {"event": "create"},
                "actions": [{"type": "if", "condition": "amount > 0",
                             "then": [{"type": "webhook", "url": url, "credential": credential}]}]}}}}}


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


def test_create_a_credential_and_a_webhook_workflow_signs_with_it(admin, services, api, receiver, monkeypatch):
    form = admin.get("/setup/credentials/new").get_data(as_text=True)
    assert re.search(r'<input type="password"[^>]*name="secret"', form)
    r = admin.post("/setup/credentials/new", {"name": "crm_hooks", "kind": "webhook_signing", "secret": SECRET})
    assert r.status_code == 302 and r.headers["Location"].endswith("/setup/credentials/")
    listing = admin.get("/setup/credentials/").get_data(as_text=True)
    assert any("crm_hooks (webhook_signing) created" in f for f in flashes(listing))
    assert 'data-credential="crm_hooks"' in listing and SECRET not in listing
    assert stored_secret(services, "crm_hooks") == SECRET

    services.changes.apply_org(hook_workflow(receiver.url), author="test", message="hook")
    row = admin.get("/setup/credentials/").get_data(as_text=True)
    row = row[row.index('data-credential="crm_hooks"'):]
    row = row[:row.index("</tr>")]
    assert ">deal_hook</a>" in row                                 # found inside the workflow's if branch

    monkeypatch.setenv("TESSERA_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.1/32")
    api.post("/api/v1/records/deal", json={"name": "Signed", "amount": 3})
    run_jobs(services, until=lambda: receiver.count == 1)
    headers, body = receiver.requests[0]
    assert Webhook(SECRET).verify(body, headers)["data"]["name"] == "Signed"

    # rotate: the next delivery is signed with the new secret
    assert SECRET not in admin.get("/setup/credentials/crm_hooks/rotate").get_data(as_text=True)
    r = admin.post("/setup/credentials/crm_hooks/rotate", {"secret": ROTATED})
    assert r.status_code == 302
    assert get_credential(services.engine, "crm_hooks").rotated_at is not None
    api.post("/api/v1/records/deal", json={"name": "Rotated", "amount": 4})
    run_jobs(services, until=lambda: receiver.count == 2)
    headers, body = receiver.requests[1]
    assert Webhook(ROTATED).verify(body, headers)["data"]["name"] == "Rotated"
    with pytest.raises(Exception):
        Webhook(SECRET).verify(body, headers)

    # every page of setup's automation section, and the delivery log: no secret anywhere
    delivery = api.get("/api/v1/webhook-deliveries").json["deliveries"][0]["id"]
    for url in ("/setup/credentials/", "/setup/credentials/new", "/setup/credentials/crm_hooks/rotate",
                "/setup/jobs/", "/setup/jobs/1", "/setup/webhook-deliveries/", f"/setup/webhook-deliveries/{delivery}",
                "/setup/email-outbox/", "/setup/workflows/", "/setup/workflows/deal_hook/", "/setup/workflow-runs/"):
        page = admin.get(url)
        html = page.get_data(as_text=True)
        assert page.status_code == 200, url
        for secret in (SECRET, ROTATED, SECRET[6:], ROTATED[6:]):
            assert secret not in html, url


def test_bad_input_is_refused_at_its_field_and_the_secret_is_not_sent_back(admin, services):
    bad_secret = "whsec_notbase64!!"
    cases = [({"name": "Bad Name", "kind": "http_bearer", "secret": "tok-123456"}, "name", "not a credential name"),
             ({"name": "ok_name", "kind": "nope", "secret": "tok-123456"}, "kind", "choose a kind"),
             ({"name": "ok_name", "kind": "http_bearer", "secret": ""}, "secret", "give the secret"),
             ({"name": "ok_name", "kind": "webhook_signing", "secret": bad_secret}, "secret", "base64"),
             ({"name": "ok_name", "kind": "basic", "secret": "no-colon-here"}, "secret", "user:password")]
    for data, field, words in cases:
        r = admin.post("/setup/credentials/new", data)
        html = r.get_data(as_text=True)
        assert r.status_code == 422, data
        error = re.search(rf'data-error-for="{field}">(.*?)</div>', html, re.S)
        assert error and words in error.group(1), (data, html[:2000])
        if data["secret"]:
            assert data["secret"] not in html
    assert list_credentials(services.engine) == []
    assert admin.post("/setup/credentials/new", {"name": "dup", "kind": "http_bearer", "secret": "first-token"}).status_code == 302
    r = admin.post("/setup/credentials/new", {"name": "dup", "kind": "http_bearer", "secret": "second-token"})
    assert r.status_code == 422 and "already" in r.get_data(as_text=True) and "second-token" not in r.get_data(as_text=True)
    assert stored_secret(services, "dup") == "first-token"                     # nothing was overwritten
    r = admin.post("/setup/credentials/dup/rotate", {"secret": ""})
    assert r.status_code == 422 and stored_secret(services, "dup") == "first-token"
    assert admin.post("/setup/credentials/missing/rotate", {"secret": "x"}).status_code == 404
    assert admin.post("/setup/credentials/missing/delete").status_code == 404
    assert admin.post("/setup/credentials/new", {"name": "x", "kind": "http_bearer", "secret": "y"},
                      csrf=False).status_code == 400


def test_delete_is_refused_while_a_workflow_names_the_credential(admin, services):
    admin.post("/setup/credentials/new", {"name": "crm_hooks", "kind": "webhook_signing", "secret": SECRET})
    admin.post("/setup/credentials/new", {"name": "spare", "kind": "http_bearer", "secret": "spare-token"})
    services.changes.apply_org(hook_workflow("https://hooks.example.com/in"), author="test", message="hook")
    r = admin.post("/setup/credentials/crm_hooks/delete")
    assert r.status_code == 302
    html = admin.get(r.headers["Location"]).get_data(as_text=True)
    assert any("crm_hooks was not deleted: deal_hook uses it" in f for f in flashes(html))
    assert get_credential(services.engine, "crm_hooks") is not None
    r = admin.post("/setup/credentials/spare/delete")
    assert any("spare deleted" in f for f in flashes(admin.get(r.headers["Location"]).get_data(as_text=True)))
    assert get_credential(services.engine, "spare") is None
    # a workflow naming a credential that does not exist is called out, with a link to create it
    services.changes.apply_org(hook_workflow("https://hooks.example.com/in", credential="erp_key"), author="test",
                               message="other key")
    html = admin.get("/setup/credentials/").get_data(as_text=True)
    warning = html[html.index('id="missing-credentials"'):]
    assert "erp_key" in warning[:600] and "deal_hook" in warning[:600]
    r = admin.post("/setup/credentials/crm_hooks/delete")            # no longer named: it can go
    assert get_credential(services.engine, "crm_hooks") is None
