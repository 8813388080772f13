"""API names of released components are immutable: a rename must be declared (`renamed_from`),
and a declared one keeps the data — of a field (its column) and of an object (its table)."""
from __future__ import annotations

import pytest
import yaml
from archive_helpers import run
from upgrade_helpers import addon_v1, source, with_version, write

from tessera.changes.package_upgrade import UpgradeRefused
from tessera.meta.source import load_org
from tessera.security.actor import SYSTEM


def _object(doc) -> bytes:
    return yaml.safe_dump(doc, sort_keys=False).encode()


def test_an_undeclared_rename_is_refused_naming_what_to_declare(services, db_url, tmp_path):
    services.changes.install_packages([source(tmp_path, addon_v1(), "v1")], author="test")
    v2 = with_version(addon_v1(), "1.1.0")
    del v2["objects/addon_legacy.yaml"]
    v2["objects/addon_archive.yaml"] = _object({"name": "addon_archive", "label": "Addon Legacy",
                                                "plural_label": "Addon Legacies",
                                                "fields": {"name": {"type": "text", "required": True}}})
    v2["list_views/addon_legacies.yaml"] = v2["list_views/addon_legacies.yaml"].replace(b"addon_legacy",
                                                                                       b"addon_archive")
    item = yaml.safe_load(v2["objects/addon_item.yaml"])
    item["fields"]["memo"] = item["fields"].pop("old_note")     # the same text field, under another name
    item["fields"]["memo"]["label"] = "Old Note"
    v2["objects/addon_item.yaml"] = _object(item)
    v2["layouts/addon_item.yaml"] = v2["layouts/addon_item.yaml"].replace(b"old_note", b"memo")
    with pytest.raises(UpgradeRefused) as info:
        services.changes.install_packages([source(tmp_path, v2, "v2")], author="test")
    messages = [str(e) for e in info.value.errors]
    assert any("object 'addon_legacy' of addon 1.0.0 is shipped as 'addon_archive': API names are immutable, "
               "declare the rename with 'renamed_from: addon_legacy'" in m for m in messages), messages
    assert any("field 'addon_item.old_note' of addon 1.0.0 is shipped as 'memo'" in m
               and "'renamed_from: old_note'" in m for m in messages), messages

    cli = run("install", write(tmp_path / "v2cli", v2), "--database", db_url)
    assert cli.exit_code == 1 and "the install was refused; nothing was changed" in cli.output
    installed = {p["manifest"]["name"]: p["manifest"]["version"] for p in services.changes.active().snapshot["packages"]}
    assert installed["addon"] == "1.0.0"


def test_a_declared_object_rename_keeps_its_records_and_the_org_s_fields(services, api, tmp_path):
    changes = services.changes
    changes.install_packages([source(tmp_path, addon_v1(), "v1")], author="test")
    org = write(tmp_path / "org", {"objects/addon_legacy.yaml": _object(
        {"extends": "addon_legacy", "fields": {"region": {"type": "text"}}})})
    changes.apply_org(load_org(org), author="test")
    services.runtimes.refresh()
    legacy = services.records.create(SYSTEM, "addon_legacy", {"name": "Old one", "region": "EMEA"})

    v2 = with_version(addon_v1(), "1.1.0")
    del v2["objects/addon_legacy.yaml"]
    v2["objects/addon_archive.yaml"] = _object({"name": "addon_archive", "renamed_from": "addon_legacy",
                                                "label": "Addon Archive", "plural_label": "Addon Archives",
                                                "fields": {"name": {"type": "text", "required": True}}})
    v2["list_views/addon_legacies.yaml"] = v2["list_views/addon_legacies.yaml"].replace(b"addon_legacy",
                                                                                       b"addon_archive")
    result = changes.install_packages([source(tmp_path, v2, "v2")], author="test")
    lines = [op.describe() for op in result.plan]
    assert "rename object addon_legacy → addon_archive (its table and records kept)" in lines
    assert not [line for line in lines if line.startswith(("drop object", "create object", "deprecate"))], lines
    services.runtimes.refresh()
    record = api.get(f"/api/v1/records/addon_archive/{legacy['id']}").get_json()
    assert record["name"] == "Old one" and record["region"] == "EMEA"     # the org's field came along
    assert api.get("/api/v1/objects/addon_legacy").status_code == 404
    # the next upgrade may keep saying renamed_from: nothing more happens
    v3 = with_version(v2, "1.2.0")
    again = changes.install_packages([source(tmp_path, v3, "v3")], author="test")
    assert [op.describe() for op in again.plan] == ["upgrade package addon 1.1.0 → 1.2.0"]
