"""The `addon` package of the upgrade tests, version by version, written as directories: what each
version ships is a dict of files, so a test states an upgrade as the files that change."""
from __future__ import annotations

from pathlib import Path

import yaml

from tessera.meta.source import load_package


def _yaml(doc) -> bytes:
    return yaml.safe_dump(doc, sort_keys=False).encode()


def addon_v1() -> dict[str, bytes]:
    return {
        "package.yaml": _yaml({"name": "addon", "label": "Addon", "version": "1.0.0",
                               "dependencies": {"core": ">=1.0,<2"}}),
        "objects/addon_item.yaml": _yaml({"name": "addon_item", "label": "Addon Item", "plural_label": "Addon Items",
                                          "fields": {"name": {"type": "text", "required": True},
                                                     "old_note": {"type": "text"},
                                                     "code": {"type": "text", "max_length": 20},
                                                     "qty": {"type": "integer"}}}),
        "objects/addon_legacy.yaml": _yaml({"name": "addon_legacy", "label": "Addon Legacy",
                                            "plural_label": "Addon Legacies",
                                            "fields": {"name": {"type": "text", "required": True}}}),
        "layouts/addon_item.yaml": _yaml({"name": "addon_item", "object": "addon_item", "label": "Addon Item Layout",
                                          "sections": [{"label": "Details",
                                                        "fields": ["name", "old_note", "code", "qty"]}]}),
        "list_views/addon_legacies.yaml": _yaml({"name": "addon_legacies", "object": "addon_legacy",
                                                 "label": "All Legacies", "columns": ["name"]}),
    }


def with_version(files: dict[str, bytes], version: str) -> dict[str, bytes]:
    manifest = yaml.safe_load(files["package.yaml"])
    return {**files, "package.yaml": _yaml({**manifest, "version": version})}


def addon_v2() -> dict[str, bytes]:
    """1.1.0: addon_legacy and its list view are no longer shipped, addon_item.old_note neither;
    `code` is renamed `sku` (declared), a field `color` is added."""
    files = with_version(addon_v1(), "1.1.0")
    del files["objects/addon_legacy.yaml"], files["list_views/addon_legacies.yaml"]
    files["objects/addon_item.yaml"] = _yaml({
        "name": "addon_item", "label": "Addon Item", "plural_label": "Addon Items",
        "fields": {"name": {"type": "text", "required": True},
                   "sku": {"type": "text", "max_length": 20, "renamed_from": "code"},
                   "qty": {"type": "integer"},
                   "color": {"type": "picklist", "values": ["Red", "Blue"]}}})
    files["layouts/addon_item.yaml"] = _yaml({"name": "addon_item", "object": "addon_item",
                                              "label": "Addon Item Layout",
                                              "sections": [{"label": "Details",
                                                            "fields": ["name", "sku", "qty", "color"]}]})
    return files


def write(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def source(tmp_path: Path, files: dict[str, bytes], tag: str) -> dict:
    return load_package(write(tmp_path / tag, files))
