"""Setup → Deploys: the org's deploy history, each deploy's record and plan, and undo through the
change pipeline's review page."""
from __future__ import annotations

from tessera.deploys import DeployService, DeploySource
from tessera.meta.source import empty_org

INVOICE = {"name": "invoice", "label": "Invoice", "plural_label": "Invoices",
           "fields": {"name": {"type": "text", "label": "Number", "required": True, "max_length": 40}}}


def _deploy(services, **kw):
    layer = empty_org()
    layer["components"]["objects"]["invoice"] = {"doc": INVOICE, "source": "objects/invoice.yaml"}
    return DeployService(services.changes).deploy(
        DeploySource("sqlite:///sandbox.db", layer, None), author="release-bot", message="Invoices", **kw)


def test_the_history_lists_deploys_and_a_deploy_shows_its_plan(admin, services):
    empty = admin.get("/setup/deploys/").get_data(as_text=True)
    assert 'id="no-deploys"' in empty
    _deploy(services, check_only=True)
    done = _deploy(services)
    page = admin.get("/setup/deploys/").get_data(as_text=True)
    assert f'data-deploy="{done.deploy_id}"' in page and "succeeded" in page and "validated" in page
    assert "release-bot" in page and "sqlite:///sandbox.db" in page
    detail = admin.get(f"/setup/deploys/{done.deploy_id}").get_data(as_text=True)
    assert "create object invoice" in detail and 'id="undo-form"' in detail
    validation = admin.get(f"/setup/deploys/{done.deploy_id - 1}").get_data(as_text=True)
    assert 'id="undo-form"' not in validation     # a validation changed nothing: no undo
    assert admin.get("/setup/deploys/999").status_code == 404


def test_undo_shows_the_plan_then_returns_to_the_version_before(admin, services):
    before = services.changes.active_number()
    done = _deploy(services)
    review, confirmed = admin.change(f"/setup/deploys/{done.deploy_id}/undo", {"include_later": "1"},
                                     allow_destructive=True)
    assert "drop object invoice" in review.get_data(as_text=True)
    assert confirmed.status_code == 302
    assert "invoice" not in services.runtimes.current().metadata.objects
    history = DeployService(services.changes).history()
    assert history[0]["kind"] == "undo" and history[0]["status"] == "succeeded"
    assert history[1]["status"] == "undone"
    assert services.changes.get(services.changes.active_number()).snapshot == services.changes.get(before).snapshot
    again = admin.post(f"/setup/deploys/{done.deploy_id}/undo", {"include_later": "1"}, follow_redirects=True)
    assert "undone already" in again.get_data(as_text=True)
