"""Versions and every plan review show what actually differs — fields and their values, layout
moves, permission changes — not only the pipeline's step names (changes/differences.py)."""
from __future__ import annotations

import copy
import html as html_lib
import json


def _text(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def test_a_field_change_review_and_the_versions_page_show_old_and_new_values(admin, services):
    before = services.changes.active().number
    review, done = admin.change("/setup/objects/company/fields/name/",
                                {"label": "Legal Name", "help": "As registered", "track_history": "1"})
    page = _text(review)
    assert 'id="differences"' in page
    assert "object</span> <strong>company</strong>" in page
    assert "field name › label: 'Company Name' → 'Legal Name'" in page
    assert "field name › help: (none) → 'As registered'" in page
    after = services.changes.active().number
    diff = _text(admin.get(f"/setup/versions/diff?a={before}&b={after}"))
    assert "field name › label: 'Company Name' → 'Legal Name'" in diff
    back = _text(admin.get(f"/setup/versions/diff?a={after}&b={before}"))
    assert "field name › label: 'Legal Name' → 'Company Name'" in back


def test_a_layout_review_shows_fields_moved_between_sections(admin):
    layout = {"label": "Company Layout",
              "sections": [{"label": "Details", "columns": 2, "fields": ["name", "code", "industry", "revenue", "employees"]},
                           {"label": "Online", "columns": 1, "fields": ["website", "email"]}],
              "related_lists": [{"relation": "deal.company", "label": "Deals", "columns": ["name", "amount", "stage"]}]}
    review = admin.post("/setup/layouts/company/", {"layout_json": json.dumps(layout)})
    page = _text(review)
    assert review.status_code == 200
    assert "field website moved from section 'Details' to 'Online'" in page
    assert "field email added to section 'Online'" in page
    assert "section 'Online' added" in page


def test_permission_and_new_component_differences_through_the_service(services):
    snapshot = copy.deepcopy(services.changes.active().snapshot)
    pkg = next(p for p in snapshot["packages"] if p["manifest"]["name"] == "testpkg")
    profile = pkg["components"]["profiles"]["tp_rep"]["doc"]
    profile["objects"]["company"] = ["read"]                  # create and edit taken away
    profile["system_permissions"] = ["api_access", "export_data"]
    diffs = {(d.kind, d.name): d for d in services.changes.differences_from_active(snapshot)}
    lines = diffs[("profile", "tp_rep")].lines
    assert "objects › company: − 'create'" in lines and "objects › company: − 'edit'" in lines
    assert "system_permissions: + 'export_data'" in lines
    assert diffs[("profile", "tp_rep")].status == "changed" and len(diffs) == 1


def test_nothing_differs_between_a_version_and_itself(admin, services):
    n = services.changes.active().number
    assert services.changes.differences(n, n) == []
    assert 'id="differences"' not in admin.get(f"/setup/versions/diff?a={n}&b={n}").get_data(as_text=True)
