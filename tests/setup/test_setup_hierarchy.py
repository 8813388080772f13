"""The field editor's "Hierarchy" checkbox (issue 14 §1): a lookup to its own object becomes a
hierarchy through the pipeline; on a lookup to another object it is refused next to the input."""
from __future__ import annotations

from tessera.records.errors import ValidationFailed
from tessera.security.actor import SYSTEM


def org_doc(services, dirname, name):
    item = services.changes.active().snapshot["org"]["components"][dirname].get(name)
    return item["doc"] if item else None


def test_a_lookup_to_its_own_object_becomes_a_hierarchy(admin, services):
    admin.change("/setup/objects/new", {"label": "Region", "name_type": "text", "sharing_model": "private"})
    page = admin.get("/setup/objects/region/fields/new?type=lookup").get_data(as_text=True)
    assert 'id="hierarchy" name="hierarchy"' in page
    admin.change("/setup/objects/region/fields/new?type=lookup", {"label": "Parent", "to": "region", "hierarchy": "1"})
    assert org_doc(services, "objects", "region")["fields"]["parent"] == {"type": "lookup", "label": "Parent",
                                                                         "to": "region", "hierarchy": True}
    records = services.records
    top = records.create(SYSTEM, "region", {"name": "EMEA"})["id"]
    child = records.create(SYSTEM, "region", {"name": "France", "parent": top})["id"]
    try:
        records.update(SYSTEM, "region", top, {"parent": child})
        raise AssertionError("a cycle was saved")
    except ValidationFailed as exc:
        assert exc.fields == {"parent": ["would make a cycle: 'EMEA' → 'France' → 'EMEA' (a record cannot be below itself)"]}


def test_hierarchy_on_a_lookup_to_another_object_is_refused_at_the_input(admin, services):
    admin.change("/setup/objects/new", {"label": "Region", "name_type": "text", "sharing_model": "private"})
    r = admin.post("/setup/objects/region/fields/new?type=lookup", {"label": "Company", "to": "company", "hierarchy": "1"})
    html = r.get_data(as_text=True)
    assert "only a lookup to its own object (&#39;region&#39;) can be a hierarchy" in html, html[:3000]
    assert "company" not in org_doc(services, "objects", "region")["fields"]
