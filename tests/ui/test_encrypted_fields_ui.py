"""Encrypted fields in the end-user UI: the record page and the list's CSV export show them in
clear to a user with view_encrypted_data and masked to one without (tessera/encryption)."""
from __future__ import annotations

import pytest

from tessera.encryption.keys import generate_line
from tessera.meta.source import empty_org
from ui_helpers import UiClient

PATIENT = {"name": "patient", "sharing_model": "read_write", "fields": {
    "name": {"type": "text", "required": True},
    "ssn": {"type": "text", "max_length": 11, "encrypted": True}}}
CLERK = {"name": "ui_clerk", "label": "Clerk", "system_permissions": ["export_data"],
         "objects": {"patient": ["create", "read", "edit"], "user": ["read"]}}
CLINIC = {"name": "clinic", "label": "Clinic", "tabs": ["patient"]}


@pytest.fixture
def clinic(services, app, monkeypatch):
    monkeypatch.setenv("TESSERA_ENCRYPTION_KEY", generate_line("ui"))
    org = empty_org()
    for kind, doc in (("objects", PATIENT), ("profiles", CLERK), ("apps", CLINIC)):
        org["components"][kind][doc["name"]] = {"source": f"org/{kind}/{doc['name']}.yaml", "doc": doc}
    services.changes.apply_org(org, author="test", message="clinic")
    services.identity.create_user("clerk", password="harbor-violet-ledger-5", profile="ui_clerk", last_name="Clerk")
    from tessera.security.actor import SYSTEM
    return services.records.create(SYSTEM, "patient", {"name": "Ann", "ssn": "123-45-6789"})["id"]


def test_record_page_and_export_are_masked_without_the_permission(app, clinic):
    admin = UiClient(app).login("admin", "orchid-lantern-42")
    clerk = UiClient(app).login("clerk", "harbor-violet-ledger-5")
    assert "123-45-6789" in admin.html(f"/app/clinic/patient/{clinic}")
    page = clerk.html(f"/app/clinic/patient/{clinic}")
    assert "123-45-6789" not in page and "•••• 6789" in page
    admin_csv = admin.get("/app/clinic/patient/export.csv?cols=name,ssn").get_data(as_text=True)
    clerk_csv = clerk.get("/app/clinic/patient/export.csv?cols=name,ssn").get_data(as_text=True)
    assert "123-45-6789" in admin_csv
    assert "123-45-6789" not in clerk_csv and "•••• 6789" in clerk_csv


def test_the_list_offers_no_sort_or_figure_on_an_encrypted_column(app, clinic):
    clerk = UiClient(app).login("clerk", "harbor-violet-ledger-5")
    page = clerk.html("/app/clinic/patient?cols=name,ssn")
    assert "•••• 6789" in page and "123-45-6789" not in page
    assert "?sort=-name&amp;cols=name%2Cssn" in page   # the default sort is by name: its link reverses it
    assert "sort=ssn" not in page and "sort=-ssn" not in page
