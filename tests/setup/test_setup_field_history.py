"""The field editor's "Track history" checkbox: it shows the effective setting (the object's unless
the field has its own), saves `track_history` on the field only when it differs from the object's,
and the record service then records changes that the history API returns."""
from __future__ import annotations

from pathlib import Path

from tessera.meta.source import load_package
from tessera.security.actor import SYSTEM

TESTPKG = Path(__file__).resolve().parents[1] / "fixtures" / "testpkg"


def org_doc(services, dirname, name):
    item = services.changes.active().snapshot["org"]["components"][dirname].get(name)
    return item["doc"] if item else None


def history(api, object_name, record_id) -> list[dict]:
    r = api.get(f"/api/v1/records/{object_name}/{record_id}/history")
    assert r.status_code == 200, r.get_json()
    return r.get_json()["entries"]


def checkbox(page: str) -> str:
    start = page.index('id="track_history"')
    return page[start:page.index(">", start)]


def _invoice(admin, **extra):
    admin.change("/setup/objects/new", {"label": "Invoice", "name_type": "text", "sharing_model": "private", **extra})


def test_turning_history_on_for_a_field_records_its_changes(admin, services, api):
    _invoice(admin)   # the object does not track history
    page = admin.get("/setup/objects/invoice/fields/new?type=text").get_data(as_text=True)
    assert "checked" not in checkbox(page) and "default: off" in page
    admin.change("/setup/objects/invoice/fields/new?type=text", {"label": "Reference", "track_history": "1"})
    admin.change("/setup/objects/invoice/fields/new?type=text", {"label": "Memo"})
    fields = org_doc(services, "objects", "invoice")["fields"]
    assert fields["reference"]["track_history"] is True and "track_history" not in fields["memo"]
    assert services.runtimes.current().metadata.objects["invoice"].history_fields == ("reference",)
    page = admin.get("/setup/objects/invoice/fields/reference/").get_data(as_text=True)
    assert "checked" in checkbox(page)

    rec = services.records.create(SYSTEM, "invoice", {"name": "I-1", "reference": "R-1", "memo": "a"})
    services.records.update(SYSTEM, "invoice", rec["id"], {"reference": "R-2", "memo": "b"})
    entries = history(api, "invoice", rec["id"])
    assert [(e["field"], e["old_value"], e["new_value"]) for e in entries] == [("reference", "R-1", "R-2")]

    # off again: back to the object's setting, nothing left on the field
    admin.change("/setup/objects/invoice/fields/reference/", {"label": "Reference", "type": "text"})
    assert "track_history" not in org_doc(services, "objects", "invoice")["fields"]["reference"]
    services.records.update(SYSTEM, "invoice", rec["id"], {"reference": "R-3"})
    assert len(history(api, "invoice", rec["id"])) == 1


def test_a_field_of_a_tracking_object_inherits_and_may_opt_out(admin, services):
    _invoice(admin, track_history="1")
    page = admin.get("/setup/objects/invoice/fields/new?type=text").get_data(as_text=True)
    assert "checked" in checkbox(page) and "default: on" in page   # inherited from the object
    admin.change("/setup/objects/invoice/fields/new?type=text", {"label": "Reference", "track_history": "1"})
    admin.change("/setup/objects/invoice/fields/new?type=text", {"label": "Scratch"})   # box cleared
    fields = org_doc(services, "objects", "invoice")["fields"]
    assert "track_history" not in fields["reference"]            # same as the object: the YAML stays clean
    assert fields["scratch"]["track_history"] is False
    assert "scratch" not in services.runtimes.current().metadata.objects["invoice"].history_fields


def test_computed_fields_have_no_history_setting(admin, services):
    _invoice(admin)
    page = admin.get("/setup/objects/invoice/fields/new?type=formula").get_data(as_text=True)
    box = page.rindex("<div", 0, page.index('id="track_history"'))
    wrapper = page[box:page.index(">", box)]       # hidden for formulas, and not shown if the type switches to one
    assert "d-none" in wrapper and "formula" not in wrapper.split('data-types="')[1].split('"')[0].split()
    admin.change("/setup/objects/invoice/fields/new?type=formula",
                 {"label": "Doubled", "returns": "text", "expression": "name + name", "track_history": "1"})
    assert "track_history" not in org_doc(services, "objects", "invoice")["fields"]["doubled"]


def test_package_fields_history_is_customizable(admin, services, api):
    # company tracks history; its package turns it off for website and says nothing for industry
    page = admin.get("/setup/objects/company/fields/website/").get_data(as_text=True)
    assert "checked" not in checkbox(page) and "disabled" not in checkbox(page)
    assert "checked" in checkbox(admin.get("/setup/objects/company/fields/industry/").get_data(as_text=True))
    admin.change("/setup/objects/company/fields/website/", {"label": "", "help": "", "track_history": "1"})
    admin.change("/setup/objects/company/fields/industry/", {"label": "", "help": ""})
    assert org_doc(services, "objects", "company")["fields"] == {"website": {"track_history": True},
                                                                 "industry": {"track_history": False}}
    company = services.records.create(SYSTEM, "company", {"name": "Acme", "website": "https://a.example",
                                                          "industry": "Energy"})
    services.records.update(SYSTEM, "company", company["id"], {"website": "https://b.example", "industry": "Retail"})
    entries = history(api, "company", company["id"])
    assert [(e["field"], e["new_value"]) for e in entries] == [("website", "https://b.example")]
    # back to what the package says: the customizations leave the org layer
    admin.change("/setup/objects/company/fields/website/", {"label": "", "help": ""})
    admin.change("/setup/objects/company/fields/industry/", {"label": "", "help": "", "track_history": "1"})
    assert org_doc(services, "objects", "company") is None


def test_a_package_that_keeps_the_choice_shows_the_box_disabled(admin, services):
    pkg = load_package(TESTPKG)
    pkg["manifest"] = {**pkg["manifest"], "version": "1.0.1", "customizable": {"field": ["label", "help"]}}
    services.changes.install_packages([pkg], author="test")
    page = admin.get("/setup/objects/company/fields/website/").get_data(as_text=True)
    assert "disabled" in checkbox(page) and "checked" not in checkbox(page)
    # a posted box is not the org's to set: the package's setting stays
    admin.change("/setup/objects/company/fields/website/", {"label": "Site", "help": "", "track_history": "1"})
    assert org_doc(services, "objects", "company")["fields"] == {"website": {"label": "Site"}}
    assert "website" not in services.runtimes.current().metadata.objects["company"].history_fields
