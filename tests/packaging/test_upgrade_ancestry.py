"""Installing a package over an installed one: only from an earlier version; the same version only
with the same content (issue 19 §2, ancestry)."""
from __future__ import annotations

import yaml
from archive_helpers import mini_files, run, write_package_dir


def _mini(tmp_path, version, *, label="Mini Note"):
    obj = yaml.safe_dump({"name": "mini_note", "label": label, "plural_label": "Mini Notes",
                          "fields": {"name": {"type": "text", "required": True}}})
    return write_package_dir(tmp_path / f"mini-{version}-{label.replace(' ', '_')}", mini_files(version, object_doc=obj))


def test_upgrade_names_both_versions_and_a_downgrade_is_refused(testdb, tmp_path):
    assert run("install", _mini(tmp_path, "1.0.0"), "--database", testdb).exit_code == 0
    newer = _mini(tmp_path, "1.1.0")
    checked = run("install", newer, "--database", testdb, "--check-only")
    assert checked.exit_code == 0, checked.output
    assert "upgrade package mini 1.0.0 → 1.1.0" in checked.output
    assert run("install", newer, "--database", testdb).exit_code == 0

    older = run("install", _mini(tmp_path, "1.0.0"), "--database", testdb)
    assert older.exit_code == 1
    assert "mini 1.1.0 is installed: 1.0.0 is older" in older.output and "mini 1.1.0 → 1.0.0 refused" in older.output
    assert "the install was refused; nothing was changed" in older.output
    assert "mini     1.1.0" in run("packages", "--database", testdb).output


def test_the_same_version_installs_again_only_with_the_same_content(testdb, tmp_path):
    assert run("install", _mini(tmp_path, "1.0.0"), "--database", testdb).exit_code == 0
    again = run("install", _mini(tmp_path, "1.0.0"), "--database", testdb)
    assert again.exit_code == 0 and "No changes." in again.output

    changed = run("install", _mini(tmp_path, "1.0.0", label="Other Note"), "--database", testdb)
    assert changed.exit_code == 1
    assert "mini 1.0.0 is installed with other content" in changed.output
    assert "a changed package needs a new version number" in changed.output


def test_pre_releases_come_before_their_release(testdb, tmp_path):
    assert run("install", _mini(tmp_path, "2.0.0-rc.1"), "--database", testdb).exit_code == 0
    assert run("install", _mini(tmp_path, "2.0.0"), "--database", testdb).exit_code == 0
    back = run("install", _mini(tmp_path, "2.0.0-rc.2"), "--database", testdb)
    assert back.exit_code == 1 and "2.0.0-rc.2 is older" in back.output
