"""A package's dependencies must be met at install: by packages installed or given with it (one
version, dependencies first), or the install is refused naming what is missing and what would do."""
from __future__ import annotations

import yaml
from archive_helpers import run
from upgrade_helpers import addon_v1, with_version, write


def _extension(version="1.0.0", requires=">=1.0,<2") -> dict[str, bytes]:
    manifest = {"name": "addon_ext", "label": "Addon Extension", "version": version,
                "dependencies": {"core": ">=1.0,<2", "addon": requires}}
    ext = {"extends": "addon_item", "fields": {"ext_rating": {"type": "integer"}}}
    return {"package.yaml": yaml.safe_dump(manifest).encode(),
            "objects/addon_item.yaml": yaml.safe_dump(ext).encode()}


def test_a_missing_dependency_is_named_with_the_versions_that_would_do(testdb, tmp_path):
    refused = run("install", write(tmp_path / "ext", _extension()), "--database", testdb)
    assert refused.exit_code == 1
    assert ("addon_ext 1.0.0 requires addon >=1.0,<2, which is neither installed nor given: install a version "
            "of addon matching >=1.0,<2 with it") in refused.output
    assert "the install was refused; nothing was changed" in refused.output


def test_dependencies_given_together_install_first_in_one_version(testdb, tmp_path):
    ext, addon = write(tmp_path / "ext", _extension()), write(tmp_path / "addon", addon_v1())
    result = run("install", ext, addon, "--database", testdb)      # given in any order
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    first = next(i for i, l in enumerate(lines) if "install package addon 1.0.0" in l)
    assert first < next(i for i, l in enumerate(lines) if "install package addon_ext 1.0.0" in l)
    assert "create object addon_item (5 stored fields)" in result.output     # with the extension's field
    versions = run("versions", "--database", testdb).output.splitlines()
    assert "install addon_ext 1.0.0, addon 1.0.0" in versions[0]


def test_an_upgrade_that_breaks_a_dependant_is_refused(testdb, tmp_path):
    ext, addon = write(tmp_path / "ext", _extension()), write(tmp_path / "addon", addon_v1())
    assert run("install", ext, addon, "--database", testdb).exit_code == 0
    major = run("install", write(tmp_path / "addon2", with_version(addon_v1(), "2.0.0")), "--database", testdb)
    assert major.exit_code == 1
    assert "addon_ext 1.0.0 requires addon >=1.0,<2, but addon 2.0.0 was given: a version of addon matching " \
           ">=1.0,<2 would do" in major.output
    both = run("install", write(tmp_path / "addon2b", with_version(addon_v1(), "2.0.0")),
               write(tmp_path / "ext2", _extension("1.1.0", ">=2")), "--database", testdb)
    assert both.exit_code == 0, both.output       # upgraded together, they fit
