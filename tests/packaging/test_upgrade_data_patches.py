"""Data patches and seed data: run once per org, in order, in the upgrade's transaction; a failing
patch rolls the whole upgrade back and names itself."""
from __future__ import annotations

import pytest
import yaml
from archive_helpers import run
from sqlalchemy import select
from upgrade_helpers import addon_v1, source, with_version, write

from tessera.changes import ChangeFailed
from tessera.security.actor import SYSTEM
from tessera.storage.platform_tables import package_patches

SEED = b"name,code,qty\nBolt,B-1,3\nNut,N-1,1\n"


def _patch(*operations, description=None) -> bytes:
    doc = {"operations": list(operations)}
    if description:
        doc = {"description": description, **doc}
    return yaml.safe_dump(doc, sort_keys=False).encode()


def _log(services):
    with services.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(package_patches.c.package, package_patches.c.name,
                                                      package_patches.c.outcome, package_patches.c.rows)
                                               .order_by(package_patches.c.name))]


def _items(services):
    return {r["name"]: r for r in services.records.query(SYSTEM, "addon_item", limit=100).records}


def _v1():
    return {**addon_v1(), "data/addon_item.csv": SEED,
            "patches/0001_first.yaml": _patch({"create": "addon_item", "values": {"name": "From 0001"}})}


def _v2():
    return {**with_version(_v1(), "1.1.0"),
            "patches/0002_bulk.yaml": _patch({"update": "addon_item", "where": "qty > 1", "values": {"code": "BULK"}},
                                             {"create": "addon_legacy", "values": {"name": "Made by 0002"}},
                                             description="Mark bulk items")}


def test_seed_data_on_first_install_patches_once_on_upgrades(services, db_url, tmp_path):
    first = services.changes.install_packages([source(tmp_path, _v1(), "v1")], author="test")
    lines = [op.describe() for op in first.plan]
    assert "load seed data addon data/addon_item.csv (2 records)" in lines
    assert "mark 1 data patch of addon as run (a first install: 0001_first)" in lines
    services.runtimes.refresh()
    assert set(_items(services)) == {"Bolt", "Nut"}            # the seed data; 0001 did not run
    assert _log(services) == [("addon", "0001_first", "skipped", 0), ("addon", "data/addon_item.csv", "ran", 2)]

    # through the CLI, as a partner's subscriber would: the new patch runs, the old one does not
    upgraded = run("install", write(tmp_path / "v2", _v2()), "--database", db_url)
    assert upgraded.exit_code == 0, upgraded.output
    assert "run data patch addon 0002_bulk (2 operations): Mark bulk items" in upgraded.output
    assert "0001_first" not in upgraded.output and "seed data" not in upgraded.output
    services.runtimes.refresh()
    items = _items(services)
    assert items["Bolt"]["code"] == "BULK" and items["Nut"]["code"] == "N-1" and "From 0001" not in items
    assert [r["name"] for r in services.records.query(SYSTEM, "addon_legacy").records] == ["Made by 0002"]

    # later upgrades carry the same patches: none runs again
    again = services.changes.install_packages([source(tmp_path, with_version(_v2(), "1.2.0"), "v3")], author="test")
    assert [op.describe() for op in again.plan] == ["upgrade package addon 1.1.0 → 1.2.0"]
    assert [(n, o, c) for _p, n, o, c in _log(services)] == [("0001_first", "skipped", 0), ("0002_bulk", "ran", 2),
                                                            ("data/addon_item.csv", "ran", 2)]


def test_a_failing_patch_rolls_the_whole_upgrade_back(services, tmp_path):
    services.changes.install_packages([source(tmp_path, _v1(), "v1")], author="test")
    before = services.changes.active().number
    bad = with_version(_v2(), "1.1.0")
    item = yaml.safe_load(bad["objects/addon_item.yaml"])
    item["fields"]["color"] = {"type": "text"}                  # a schema change in the same upgrade
    bad["objects/addon_item.yaml"] = yaml.safe_dump(item).encode()
    bad["patches/0003_broken.yaml"] = _patch({"update": "addon_item", "values": {"color": "Red"}},
                                             {"update": "addon_item", "values": {"qty": "many"}})
    with pytest.raises(ChangeFailed) as info:
        services.changes.install_packages([source(tmp_path, bad, "bad")], author="test")
    message = str(info.value)
    assert "step 'run data patch addon 0003_broken (2 operations)' failed, everything was rolled back" in message
    assert "operation 2 (update addon_item)" in message and "qty" in message
    services.runtimes.refresh()
    assert services.changes.active().number == before
    items = _items(services)
    assert items["Bolt"]["code"] == "B-1" and "color" not in items["Bolt"]      # 0002 rolled back with it
    assert services.records.query(SYSTEM, "addon_legacy").records == []
    assert [n for _p, n, _o, _c in _log(services)] == ["0001_first", "data/addon_item.csv"]


def test_archives_carry_patches_and_seed_data(testdb, tmp_path):
    pkg = write(tmp_path / "addon", _v1())
    built = run("package", "build", pkg, "-o", tmp_path / "addon.tpkg")
    assert built.exit_code == 0, built.output
    installed = run("install", tmp_path / "addon.tpkg", "--allow-unsigned", "--database", testdb)
    assert installed.exit_code == 0, installed.output
    assert "load seed data addon data/addon_item.csv (2 records)" in installed.output


def test_bad_patch_files_are_refused_by_name(tmp_path):
    files = {**addon_v1(), "patches/fix.yaml": _patch({"create": "addon_item", "values": {}}),
             "patches/0002_typo.yaml": b"operations:\n  - delete: addon_item\n"}
    result = run("package", "build", write(tmp_path / "bad", files), "-o", tmp_path / "bad.tpkg")
    assert result.exit_code == 1
    assert "patches/fix.yaml: a patch file is named NNNN_name.yaml" in result.output
    assert "patches/0002_typo.yaml" in result.output
