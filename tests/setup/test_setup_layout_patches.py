"""A package layout edited in Setup is saved as a patch when the edit can be one (hide, add fields
to its sections, add sections and related lists) — so the package's next version of the layout
still arrives — and as the org's whole copy otherwise. Both databases."""
from __future__ import annotations

import copy
import json
from pathlib import Path

from tessera.meta.source import load_package

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = {"label": "Company Layout",
           "sections": [{"label": "Details", "columns": 2,
                         "fields": ["name", "code", "industry", "revenue", "employees", "website"]}],
           "related_lists": [{"relation": "deal.company", "label": "Deals", "columns": ["name", "amount", "stage"]}]}


def org_doc(services, name="company"):
    item = services.changes.active().snapshot["org"]["components"].get("layouts", {}).get(name)
    return item["doc"] if item else None


def save(admin, layout):
    return admin.change("/setup/layouts/company/", {"layout_json": json.dumps(layout)})


def test_hiding_and_adding_is_saved_as_a_patch_that_survives_the_packages_upgrade(admin, services):
    edited = copy.deepcopy(SHIPPED)
    edited["sections"][0]["fields"] = ["name", "code", "email", "industry", "revenue", "website"]   # -employees +email
    edited["sections"].append({"label": "Notes", "columns": 1, "fields": ["notes", "tags"]})
    _review, done = save(admin, edited)
    assert done.status_code == 302
    assert org_doc(services) == {"patches": "company", "hide_fields": ["employees"],
                                 "add_sections": [{"label": "Notes", "columns": 1, "fields": ["notes", "tags"],
                                                   "after": "Details"}],
                                 "add_fields": [{"field": "email", "section": "Details", "after": "code"}]}
    assert services.changes.active().message.startswith("Patch page layout company (company): hide employees")
    layout = services.runtimes.current().metadata.layouts["company"]
    assert layout.package == "testpkg"
    assert layout.doc["sections"][0]["fields"] == ["name", "code", "email", "industry", "revenue", "website"]
    listing = admin.get("/setup/layouts/").get_data(as_text=True)
    assert "patched" in listing and "Revert" in listing

    # the package's next version adds a field to its layout: it arrives, the org's patch stays
    pkg = load_package(ROOT / "tests" / "fixtures" / "testpkg")
    newer = copy.deepcopy(pkg)
    newer["manifest"]["version"] = "9.0.0"
    newer["components"]["layouts"]["company"]["doc"]["sections"][0]["fields"].append("founded")
    services.changes.install_packages([newer], author="test", message="upgrade")
    fields = services.runtimes.current().metadata.layouts["company"].doc["sections"][0]["fields"]
    assert fields == ["name", "code", "email", "industry", "revenue", "website", "founded"]

    # editing it again rewrites the patch; undoing every change reverts to the package's layout
    again = copy.deepcopy(SHIPPED)
    again["sections"][0]["fields"].append("founded")
    _review, done = save(admin, again)
    assert done.status_code == 302 and org_doc(services) is None
    assert services.changes.active().message.startswith("Revert page layout company")


def test_a_change_a_patch_cannot_say_is_saved_whole(admin, services):
    moved = copy.deepcopy(SHIPPED)
    moved["sections"][0]["fields"] = ["code", "name", "industry", "revenue", "employees", "website"]   # reordered
    _review, done = save(admin, moved)
    assert done.status_code == 302
    doc = org_doc(services)
    assert "patches" not in doc and doc["sections"][0]["fields"][:2] == ["code", "name"]
    assert services.runtimes.current().metadata.layouts["company"].package is None
    assert "the org's copy replaces the package's" in services.changes.active().message
    page = admin.get("/setup/layouts/company/").get_data(as_text=True)
    assert "This is the org's copy of a package layout" in page
