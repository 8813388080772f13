"""Components a new package version no longer ships are deprecated, not dropped: their tables,
columns and data stay, hidden from the API and layouts, listed, and deleted only on purpose."""
from __future__ import annotations

from archive_helpers import run
from sqlalchemy import inspect, text
from upgrade_helpers import addon_v1, addon_v2, source

from tessera.security.actor import SYSTEM


def _columns(services, table):
    with services.engine.connect() as conn:
        return {c["name"] for c in inspect(conn).get_columns(table)}


def _count(services, table):
    with services.engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()


def test_an_upgrade_deprecates_what_it_no_longer_ships_and_a_purge_deletes_it(services, api, db_url, tmp_path):
    changes = services.changes
    changes.install_packages([source(tmp_path, addon_v1(), "v1")], author="test")
    services.runtimes.refresh()
    services.records.create(SYSTEM, "addon_item", {"name": "Bolt", "old_note": "keep me", "code": "B-1", "qty": 3})
    services.records.create(SYSTEM, "addon_legacy", {"name": "Old one"})

    upgrade = changes.install_packages([source(tmp_path, addon_v2(), "v2")], author="test", check_only=True)
    lines = [op.describe() for op in upgrade.plan]
    assert "upgrade package addon 1.0.0 → 1.1.0" in lines
    assert any(line.startswith("deprecate object addon_legacy: no longer shipped") for line in lines)
    assert any(line.startswith("deprecate field addon_item.old_note") for line in lines)
    assert not [line for line in lines if line.startswith(("drop field", "drop object"))], lines
    notes = {op.describe(): impact.notes for op, impact in upgrade.steps()}
    assert ["keeps 1 record"] in notes.values() and ["keeps 1 value"] in notes.values()

    changes.install_packages([source(tmp_path, addon_v2(), "v2")], author="test")
    services.runtimes.refresh()
    # the data stays in the database ...
    assert _count(services, "obj_addon_legacy") == 1
    assert "old_note" in _columns(services, "obj_addon_item")
    # ... and leaves what people and programs use
    described = api.get("/api/v1/objects/addon_item").get_json()
    assert "old_note" not in str(described) and "sku" in str(described)
    assert api.get("/api/v1/objects/addon_legacy").status_code == 404
    assert "addon_legacy" not in str(api.get("/api/v1/openapi.json").get_json()["paths"])
    item = api.get("/api/v1/records/addon_item").get_json()["records"][0]
    assert item["sku"] == "B-1" and "old_note" not in item and "code" not in item
    created = api.post("/api/v1/records/addon_item", json={"name": "Nut", "old_note": "x"})
    assert created.status_code == 422      # not a field any more
    assert created.get_json()["error"]["fields"] == {"old_note": ["is not a field of addon_item"]}
    assert api.post("/api/v1/records/addon_item", json={"name": "Nut"}).status_code == 201   # the column is no hindrance

    listed = run("packages", "--deprecated", "--database", db_url)
    assert listed.exit_code == 0, listed.output
    assert "addon  object addon_legacy  deprecated since 1.1.0  1 record kept" in listed.output
    assert "addon  field addon_item.old_note  deprecated since 1.1.0  1 value kept" in listed.output
    assert "addon  list view list_views/addon_legacies  deprecated since 1.1.0" in listed.output

    # a later upgrade keeps them deprecated
    v3 = {**addon_v2(), "package.yaml": addon_v2()["package.yaml"].replace(b"1.1.0", b"1.2.0")}
    changes.install_packages([source(tmp_path, v3, "v3")], author="test")
    assert "1 record kept" in run("packages", "--deprecated", "--database", db_url).output

    refused = run("package", "purge", "addon", "addon_item.old_note", "--database", db_url)
    assert refused.exit_code == 1
    assert "drop field addon_item.old_note (text)" in refused.output and "would delete 1 value" in refused.output
    purged = run("package", "purge", "addon", "addon_item.old_note", "--allow-destructive", "--database", db_url)
    assert purged.exit_code == 0, purged.output
    assert "old_note" not in _columns(services, "obj_addon_item")
    assert run("package", "purge", "addon", "addon_legacy", "--allow-destructive", "--database", db_url).exit_code == 0
    assert "obj_addon_legacy" not in inspect(services.engine).get_table_names()
    assert run("packages", "--deprecated", "--database", db_url).output.splitlines() == [
        "addon  list view list_views/addon_legacies  deprecated since 1.1.0"]

    unknown = run("package", "purge", "addon", "nothing_here", "--database", db_url)
    assert unknown.exit_code == 1
    assert "package addon has no deprecated component 'nothing_here' (deprecated: list_views/addon_legacies)" \
        in unknown.output


def test_shipping_a_deprecated_component_again_restores_it_with_its_data(services, tmp_path):
    changes = services.changes
    changes.install_packages([source(tmp_path, addon_v1(), "v1")], author="test")
    services.runtimes.refresh()
    services.records.create(SYSTEM, "addon_legacy", {"name": "Old one"})
    changes.install_packages([source(tmp_path, addon_v2(), "v2")], author="test")
    back = {**addon_v1(), "package.yaml": addon_v1()["package.yaml"].replace(b"1.0.0", b"1.2.0")}
    back["objects/addon_item.yaml"] = addon_v2()["objects/addon_item.yaml"]
    back["layouts/addon_item.yaml"] = addon_v2()["layouts/addon_item.yaml"]
    result = changes.install_packages([source(tmp_path, back, "v3")], author="test")
    assert "restore deprecated object addon_legacy: shipped again, with the data it kept" in \
        [op.describe() for op in result.plan]
    services.runtimes.refresh()
    assert [r["name"] for r in services.records.query(SYSTEM, "addon_legacy").records] == ["Old one"]
    addon = next(p for p in changes.active().snapshot["packages"] if p["manifest"]["name"] == "addon")
    assert addon["deprecated"] == {"fields": {"addon_item": {"old_note": {"doc": {"type": "text"}, "since": "1.1.0"}}}}
