"""Read and write metadata source directories (packages and the org layer).

A *source* is plain data, ready to be stored in a metadata version snapshot:
  {"manifest": {...} | None,
   "components": {"objects": {name: {"source": file, "doc": {...}}}, "layouts": ..., ...}}
Every document is checked against its JSON Schema here; semantic checks come after merging.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import MetaError, MetadataInvalid
from .schema import validate_document

COMPONENT_DIRS = {"objects": "object", "layouts": "layout", "list_views": "list_view", "apps": "app",
                  "profiles": "profile", "permission_sets": "permission_set",
                  "permission_set_groups": "permission_set_group", "roles": "role", "sharing_rules": "sharing_rule",
                  "workflows": "workflow", "email_templates": "email_template"}
LOCK_FILE = "packages.lock.yaml"


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML silently keeps the last one)."""


def _construct_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def read_yaml(path: Path, errors: list[MetaError]) -> Any:
    source = _display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        errors.append(MetaError(source, "", f"cannot read file: {exc}"))
        return None
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        errors.append(MetaError(source, "", f"invalid YAML{where}: {problem}"))
        return None


def _load_components(root: Path, errors: list[MetaError], *, org: bool) -> dict:
    components: dict[str, dict] = {d: {} for d in COMPONENT_DIRS}
    for dirname, kind in COMPONENT_DIRS.items():
        folder = root / dirname
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix not in (".yaml", ".yml") or not path.is_file():
                continue
            source = _display(path)
            doc = read_yaml(path, errors)
            if doc is None and not any(e.source == source for e in errors):
                errors.append(MetaError(source, "", "the file is empty"))
            if doc is None:
                continue
            doc_kind = "object_extension" if (org and kind == "object" and isinstance(doc, dict)
                                              and "extends" in doc) else kind
            problems = validate_document(doc_kind, doc, source)
            if problems:
                errors.extend(problems)
                continue
            name = doc.get("name") or doc.get("extends")
            if name != path.stem:
                errors.append(MetaError(source, "name" if "name" in doc else "extends",
                                        f"'{name}' must match the file name '{path.stem}'"))
                continue
            components[dirname][name] = {"source": source, "doc": doc}
    return components


def load_package(directory: str | Path) -> dict:
    """Load and schema-check a package directory. Raises MetadataInvalid listing every problem."""
    root = Path(directory)
    errors: list[MetaError] = []
    manifest_path = root / "package.yaml"
    if not manifest_path.is_file():
        raise MetadataInvalid([MetaError(_display(root), "", "not a package: package.yaml is missing")])
    manifest = read_yaml(manifest_path, errors)
    if manifest is not None:
        errors.extend(validate_document("package", manifest, _display(manifest_path)))
    components = _load_components(root, errors, org=False)
    if errors:
        raise MetadataInvalid(errors)
    return {"manifest": manifest, "components": components}


def load_org(directory: str | Path) -> dict:
    """Load and schema-check an org-layer directory (what `tessera apply DIR` reads)."""
    root = Path(directory)
    if not root.is_dir():
        raise MetadataInvalid([MetaError(_display(root), "", "not a directory")])
    errors: list[MetaError] = []
    components = _load_components(root, errors, org=True)
    if errors:
        raise MetadataInvalid(errors)
    return {"manifest": None, "components": components}


def read_lock(directory: str | Path) -> dict[str, str] | None:
    """The package versions an exported org layer was made against ({name: version}), or None when
    the directory has no packages.lock.yaml."""
    path = Path(directory) / LOCK_FILE
    if not path.is_file():
        return None
    errors: list[MetaError] = []
    doc = read_yaml(path, errors)
    packages = doc.get("packages") if isinstance(doc, dict) else None
    if not errors and (not isinstance(packages, dict)
                       or not all(isinstance(k, str) and isinstance(v, (str, int, float)) for k, v in packages.items())):
        errors.append(MetaError(_display(path), "packages", "must map package names to versions"))
    if errors:
        raise MetadataInvalid(errors)
    return {name: str(version) for name, version in packages.items()}


def check_org(org: dict) -> None:
    """Schema-check an org layer given as data (the setup UI, the service API): the same checks
    `load_org` makes on files. Raises MetadataInvalid naming each document and path."""
    errors: list[MetaError] = []
    components = org.get("components") if isinstance(org, dict) else None
    if not isinstance(components, dict):
        raise MetadataInvalid([MetaError("org", "components", "the org layer has no components")])
    for dirname, items in components.items():
        kind = COMPONENT_DIRS.get(dirname)
        if kind is None:
            errors.append(MetaError("org", f"components.{dirname}", f"'{dirname}' is not a component folder"))
            continue
        for name, item in (items or {}).items():
            doc, source = item.get("doc"), item.get("source") or f"{dirname}/{name}.yaml"
            doc_kind = "object_extension" if kind == "object" and isinstance(doc, dict) and "extends" in doc else kind
            problems = validate_document(doc_kind, doc, source)
            if problems:
                errors.extend(problems)
                continue
            key = doc.get("name") if doc_kind != "object_extension" else doc.get("extends")
            if key != name:
                errors.append(MetaError(source, "name" if "name" in doc else "extends",
                                        f"'{key}' must match the component name '{name}'"))
    if errors:
        raise MetadataInvalid(errors)


def empty_org() -> dict:
    return {"manifest": None, "components": {d: {} for d in COMPONENT_DIRS}}


def dump_org(org: dict, directory: str | Path, *, lock: dict[str, str] | None = None) -> list[Path]:
    """Write the org layer in source format (plus the lock of installed packages)."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    written = []
    # The directory mirrors the org layer: component files it no longer has are removed, or a
    # later `apply` of this directory would bring deleted components back.
    for dirname in COMPONENT_DIRS:
        keep = set((org["components"].get(dirname) or {}))
        folder = root / dirname
        if folder.is_dir():
            for path in folder.iterdir():
                if path.is_file() and path.suffix in (".yaml", ".yml") and path.stem not in keep:
                    path.unlink()
    for dirname, items in org["components"].items():
        for name, item in sorted(items.items()):
            path = root / dirname / f"{name}.yaml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(yaml.safe_dump(item["doc"], sort_keys=False, allow_unicode=True), encoding="utf-8")
            written.append(path)
    if lock is not None:
        path = root / LOCK_FILE
        path.write_text(yaml.safe_dump({"packages": lock}, sort_keys=True), encoding="utf-8")
        written.append(path)
    return written
