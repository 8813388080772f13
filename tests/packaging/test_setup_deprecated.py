"""Setup → Installed Packages lists deprecated components with the data they keep, and deletes
one on purpose: the plan (with its counts) first, the data loss accepted explicitly."""
from __future__ import annotations

from sqlalchemy import inspect
from upgrade_helpers import addon_v1, addon_v2, source

from tessera.security.actor import SYSTEM


def test_deprecated_components_are_listed_and_deleted_through_the_plan(admin, services, tmp_path):
    services.changes.install_packages([source(tmp_path, addon_v1(), "v1")], author="test")
    services.runtimes.refresh()
    services.records.create(SYSTEM, "addon_item", {"name": "Bolt", "old_note": "heavy"})
    services.changes.install_packages([source(tmp_path, addon_v2(), "v2")], author="test")

    page = admin.get("/setup/packages/").get_data(as_text=True)
    assert 'data-deprecated="addon:addon_item.old_note"' in page and 'data-deprecated="addon:addon_legacy"' in page
    assert "1 value" in page and 'data-purge="list_views/addon_legacies"' in page

    before = services.changes.active().number
    review = admin.post("/setup/packages/addon/purge", {"component": "addon_item.old_note"})
    html = review.get_data(as_text=True)
    assert review.status_code == 200
    assert "drop field addon_item.old_note (text)" in html and "would delete 1 value" in html
    assert services.changes.active().number == before          # the review changed nothing
    _review, done = admin.change("/setup/packages/addon/purge", {"component": "addon_item.old_note"},
                                 allow_destructive=True)
    assert done.status_code == 302
    assert services.changes.active().message == "Delete deprecated addon_item.old_note of addon"
    assert "old_note" not in {c["name"] for c in inspect(services.engine).get_columns("obj_addon_item")}
    assert 'data-deprecated="addon:addon_item.old_note"' not in admin.get("/setup/packages/").get_data(as_text=True)

    unknown = admin.post("/setup/packages/addon/purge", {"component": "nothing"})
    assert unknown.status_code == 302
    shown = admin.get("/setup/packages/").get_data(as_text=True)
    assert "nothing cannot be deleted:" in shown and "has no deprecated component" in shown
