"""A partner package's life in a subscriber org, from archives: build → install (seed data) →
upgrade (an added field, a declared rename, deprecations, a data patch) → uninstall, with records
in every table and the subscriber's customizations in place: no row and no customization is lost
until the subscriber deletes them on purpose."""
from __future__ import annotations

import yaml
from archive_helpers import run
from sqlalchemy import column, func, inspect, select, table
from upgrade_helpers import addon_v1, addon_v2, write

from tessera.meta.merge import build_metadata
from tessera.meta.source import load_org
from tessera.security.actor import SYSTEM

SEED = b"name,code,qty,old_note\nBolt,B-1,3,heavy\nNut,N-1,1,\n"
PATCH = yaml.safe_dump({"description": "Colour bulk items",
                        "operations": [{"update": "addon_item", "where": "qty > 1", "values": {"color": "Red"}}]})


def _rows(services, name):
    with services.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table(name))).scalar()


def _build(tmp_path, files, tag):
    out = tmp_path / f"addon-{tag}.tpkg"
    result = run("package", "build", write(tmp_path / tag, files), "-o", out)
    assert result.exit_code == 0, result.output
    return out


def test_build_install_upgrade_uninstall_keeps_every_row_and_customization(services, api, db_url, tmp_path):
    v1 = _build(tmp_path, {**addon_v1(), "data/addon_item.csv": SEED}, "v1")
    v2 = _build(tmp_path, {**addon_v2(), "data/addon_item.csv": SEED, "patches/0001_colour.yaml": PATCH.encode()}, "v2")

    installed = run("install", v1, "--allow-unsigned", "--database", db_url)
    assert installed.exit_code == 0, installed.output
    assert "load seed data addon data/addon_item.csv (2 records)" in installed.output
    # the subscriber customizes: a label (customizable), a field of its own on both objects, a layout patch
    org = write(tmp_path / "org", {
        "objects/addon_item.yaml": yaml.safe_dump({"extends": "addon_item", "label": "Part",
                                                   "fields": {"region": {"type": "text"}}}).encode(),
        "objects/addon_legacy.yaml": yaml.safe_dump({"extends": "addon_legacy",
                                                     "fields": {"kept_by": {"type": "text"}}}).encode(),
        "layouts/addon_item.yaml": yaml.safe_dump({"patches": "addon_item",
                                                   "add_fields": [{"section": "Details", "field": "region"}]}).encode()})
    services.changes.apply_org(load_org(org), author="admin")
    services.runtimes.refresh()
    ids = {r["name"]: r["id"] for r in services.records.query(SYSTEM, "addon_item").records}
    services.records.update(SYSTEM, "addon_item", ids["Bolt"], {"region": "EMEA"})
    services.records.create(SYSTEM, "addon_item", {"name": "Gear", "code": "G-1", "qty": 5, "region": "APAC"})
    services.records.create(SYSTEM, "addon_legacy", {"name": "Old one", "kept_by": "Ops"})
    counts = {t: _rows(services, t) for t in ("obj_addon_item", "obj_addon_legacy")}
    assert counts == {"obj_addon_item": 3, "obj_addon_legacy": 1}

    checked = run("install", v2, "--allow-unsigned", "--check-only", "--database", db_url)
    assert checked.exit_code == 0, checked.output
    for line in ("upgrade package addon 1.0.0 → 1.1.0", "rename field addon_item.code → sku",
                 "add field addon_item.color (picklist)", "deprecate object addon_legacy",
                 "deprecate field addon_item.old_note", "run data patch addon 0001_colour (1 operation)"):
        assert line in checked.output, (line, checked.output)
    assert "seed data" not in checked.output and "destructive" not in checked.output
    upgraded = run("install", v2, "--allow-unsigned", "--database", db_url)
    assert upgraded.exit_code == 0, upgraded.output
    services.runtimes.refresh()

    # every row is still there, and every value: renamed, deprecated (hidden) or the subscriber's
    assert {t: _rows(services, t) for t in counts} == counts
    items = {r["name"]: r for r in api.get("/api/v1/records/addon_item?limit=10").get_json()["records"]}
    assert {n: (r["sku"], r["region"], r["color"]) for n, r in items.items()} == {
        "Bolt": ("B-1", "EMEA", "Red"), "Nut": ("N-1", None, None), "Gear": ("G-1", "APAC", "Red")}
    items_table = table("obj_addon_item", column("name"), column("old_note"))
    with services.engine.connect() as conn:      # the deprecated column keeps its values
        assert dict(conn.execute(select(items_table.c.name, items_table.c.old_note)).all()) == {
            "Bolt": "heavy", "Nut": None, "Gear": None}
    described = api.get("/api/v1/objects/addon_item").get_json()
    assert described["label"] == "Part" and "old_note" not in str(described)
    layout = build_metadata(services.changes.active().snapshot).layouts["addon_item"].doc
    assert layout["sections"][0]["fields"] == ["name", "sku", "qty", "color", "region"]   # the org's patch kept
    assert "kept_by" in {c["name"] for c in inspect(services.engine).get_columns("obj_addon_legacy")}
    listed = run("packages", "--deprecated", "--database", db_url).output
    assert "object addon_legacy  deprecated since 1.1.0  1 record kept" in listed
    assert "field addon_item.old_note  deprecated since 1.1.0  1 value kept" in listed

    # uninstall: refused while the subscriber's customizations use the package ...
    blocked = run("uninstall", "addon", "--allow-destructive", "--database", db_url)
    assert blocked.exit_code == 1 and "cannot be uninstalled" in blocked.output
    assert "extends addon's object 'addon_legacy'" in blocked.output
    assert {t: _rows(services, t) for t in counts} == counts
    # ... and once they are gone, it drops what the package had, deprecated tables included, counted
    services.changes.apply_org({"manifest": None, "components": {}}, author="admin", allow_destructive=True)
    removed = run("uninstall", "addon", "--allow-destructive", "--database", db_url)
    assert removed.exit_code == 0, removed.output
    assert "drop object addon_legacy" in removed.output and "would delete 1 record" in removed.output
    assert not {"obj_addon_item", "obj_addon_legacy"} & set(inspect(services.engine).get_table_names())
