"""Read and write metadata source directories (packages and the org layer).

A *source* is plain data, ready to be stored in a metadata version snapshot:
  {"manifest": {...} | None,
   "components": {"objects": {name: {"source": file, "doc": {...}}}, "layouts": ..., ...}}
Every document is checked against its JSON Schema here; semantic checks come after merging.
"""
from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Any

import yaml

from . import safe_yaml
from .errors import MetaError, MetadataInvalid
from .package_data import FOLDERS as DATA_FOLDERS, data_member, parse_data_files
from .schema import validate_document

COMPONENT_DIRS = {"objects": "object", "layouts": "layout", "list_views": "list_view", "apps": "app",
                  "profiles": "profile", "permission_sets": "permission_set",
                  "permission_set_groups": "permission_set_group", "roles": "role", "sharing_rules": "sharing_rule",
                  "workflows": "workflow", "email_templates": "email_template",
                  "approval_processes": "approval_process", "settings": "org_settings",
                  "reports": "report", "dashboards": "dashboard", "duplicate_rules": "duplicate_rule",
                  "conversions": "conversion"}
# every component folder but objects/: kept as documents (meta/model.py Component)
COMPONENT_KINDS = {dirname: kind for dirname, kind in COMPONENT_DIRS.items() if dirname != "objects"}
LOCK_FILE = "packages.lock.yaml"
MAX_DIRECTORY_FILES = 5000                 # entries of the component folders, read or not
MAX_DIRECTORY_BYTES = 32 * 1024 * 1024     # YAML read from one package or org directory


def _display(path: Path) -> str:
    # The parent is resolved, not the path: a link is named as itself, never as its target.
    try:
        return str((path.parent.resolve() / path.name).relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


class _Budget:
    """What one directory may hold in all (a package is a few hundred small files, not a dump),
    and the gate every entry passes: no link, nothing resolving outside the directory."""

    def __init__(self, root: Path):
        self.root = root.resolve()
        self.entries = 0
        self.bytes = 0
        self.exhausted = False

    def admit(self, path: Path, errors: list[MetaError]) -> bool:
        if self.exhausted:
            return False
        self.entries += 1
        if self.entries > MAX_DIRECTORY_FILES:
            self.stop(errors, f"has more than {MAX_DIRECTORY_FILES} files")
            return False
        if path.is_symlink():
            errors.append(MetaError(_display(path), "", "is a symbolic link (links are not allowed in metadata directories)"))
            return False
        if not path.resolve().is_relative_to(self.root):
            errors.append(MetaError(_display(path), "", "is outside the directory being read"))
            return False
        return True

    def spend(self, size: int, errors: list[MetaError]) -> None:
        self.bytes += size
        if self.bytes > MAX_DIRECTORY_BYTES:
            self.stop(errors, f"holds more than {MAX_DIRECTORY_BYTES} bytes of metadata")

    def stop(self, errors: list[MetaError], why: str) -> None:
        if not self.exhausted:
            errors.append(MetaError(_display(self.root), "", f"{why}; nothing more was read"))
        self.exhausted = True


def read_yaml(path: Path, errors: list[MetaError], budget: _Budget | None = None) -> Any:
    """One YAML document through the safe reader (no links, anchors, bombs); None after an error.
    With a budget, the path must pass its gate and its bytes count against the directory's cap."""
    if budget is not None and not budget.admit(path, errors):
        return None
    try:
        data = safe_yaml.read_bytes(path)
        if budget is not None:
            budget.spend(len(data), errors)
            if budget.exhausted:
                return None
        return safe_yaml.parse(data)
    except safe_yaml.YamlRefused as exc:
        errors.append(MetaError(_display(path), "", str(exc)))
        return None


def _present(path: Path) -> bool:
    return path.is_symlink() or path.exists()


def _load_components(root: Path, errors: list[MetaError], *, org: bool, budget: _Budget) -> dict:
    components: dict[str, dict] = {d: {} for d in COMPONENT_DIRS}
    for dirname in COMPONENT_DIRS:
        folder = root / dirname
        if not _present(folder) or not budget.admit(folder, errors):
            continue
        if not folder.is_dir():
            continue
        # islice: a folder of millions of entries is refused without listing it all
        entries = list(islice(folder.iterdir(), MAX_DIRECTORY_FILES + 1))
        if len(entries) > MAX_DIRECTORY_FILES:
            budget.stop(errors, f"{dirname}/ has more than {MAX_DIRECTORY_FILES} entries")
            return components
        for path in sorted(entries):
            if path.suffix not in (".yaml", ".yml") or path.is_dir():
                if not path.is_symlink():   # README, sub-folders: not metadata, ignored; links never
                    continue
            source = _display(path)
            doc = read_yaml(path, errors, budget)
            if budget.exhausted:
                return components
            _add_component(components, dirname, path.stem, source, doc, errors, org=org)
    return components


def _add_component(components: dict, dirname: str, stem: str, source: str, doc, errors: list[MetaError], *,
                   org: bool) -> None:
    """Check one parsed document of folder `dirname` (file `stem`.yaml) and keep it in `components`."""
    if doc is None and not any(e.source == source for e in errors):
        errors.append(MetaError(source, "", "the file is empty"))
    if doc is None:
        return
    if document_kind(COMPONENT_DIRS[dirname], doc) == "org_settings" and not org:
        errors.append(MetaError(source, "name", "only the org layer has settings: a package cannot set the "
                                "org's currencies"))
        return
    name = _checked_name(COMPONENT_DIRS[dirname], doc, source, stem, "file name", errors)
    if name is None:
        return
    if name in components[dirname]:     # x.yaml and x.yml: one would silently replace the other
        errors.append(MetaError(source, "", f"'{name}' is also defined by {components[dirname][name]['source']}"))
        return
    components[dirname][name] = {"source": source, "doc": doc}


def _checked_name(kind: str, doc, source: str, expected: str, named: str, errors: list[MetaError]) -> str | None:
    """The component's name when `doc` passes its JSON Schema and is named `expected` (after its
    file or its key); None after adding the problems to `errors`."""
    doc_kind = document_kind(kind, doc)
    problems = validate_document(doc_kind, doc, source)
    if problems:
        errors.extend(problems)
        return None
    name, key = component_key(doc_kind, doc)
    if name != expected:
        errors.append(MetaError(source, key, f"'{name}' must match the {named} '{expected}'"))
        return None
    return name


# Documents that change another component instead of defining one: `extends:` an object (its new
# fields, rules and customizable properties), `patches:` a layout (operations on it). They are
# named after what they change.
_CHANGES = {"object": ("object_extension", "extends"), "layout": ("layout_patch", "patches")}


def document_kind(kind: str, doc) -> str:
    """The schema a document of a component folder is checked against."""
    changes = _CHANGES.get(kind)
    if changes and isinstance(doc, dict) and changes[1] in doc and "name" not in doc:
        return changes[0]
    return kind


def component_key(doc_kind: str, doc: dict) -> tuple[str, str]:
    """(the component's name, the property that gives it)."""
    for kind, key in _CHANGES.values():
        if doc_kind == kind:
            return doc.get(key), key
    return doc.get("name"), "name"


def load_package(directory: str | Path) -> dict:
    """Load and schema-check a package directory. Raises MetadataInvalid listing every problem."""
    root = Path(directory)
    errors: list[MetaError] = []
    manifest_path = root / "package.yaml"
    if not root.is_dir() or not _present(manifest_path):
        raise MetadataInvalid([MetaError(_display(root), "", "not a package: package.yaml is missing")])
    budget = _Budget(root)
    manifest = read_yaml(manifest_path, errors, budget)
    if manifest is not None:
        errors.extend(validate_document("package", manifest, _display(manifest_path)))
    components = _load_components(root, errors, org=False, budget=budget)
    data = parse_data_files(_read_data_files(root, errors, budget), _display(root), errors)
    if errors:
        raise MetadataInvalid(errors)
    return _with_data({"manifest": manifest, "components": components}, data)


def _read_data_files(root: Path, errors: list[MetaError], budget: _Budget) -> dict[str, bytes]:
    """patches/*.yaml and data/*.csv of a package directory, through the directory's gate."""
    files: dict[str, bytes] = {}
    for folder in DATA_FOLDERS:
        path = root / folder
        if not _present(path) or not budget.admit(path, errors) or not path.is_dir():
            continue
        for entry in sorted(islice(path.iterdir(), MAX_DIRECTORY_FILES + 1)):
            rel = f"{folder}/{entry.name}"
            if data_member(rel) is None and not entry.is_symlink():
                continue
            if not budget.admit(entry, errors):
                continue
            try:
                files[rel] = safe_yaml.read_bytes(entry)
            except safe_yaml.YamlRefused as exc:
                errors.append(MetaError(_display(entry), "", str(exc)))
                continue
            budget.spend(len(files[rel]), errors)
            if budget.exhausted:
                return files
    return files


def _with_data(source: dict, data: dict) -> dict:
    """Patches and seed data join the source only when there are some: a package without them
    keeps the source (and content hash) it always had."""
    source.update({folder: items for folder, items in data.items() if items})
    return source


def package_member(path: str) -> tuple[str, str] | None:
    """(component folder, file stem) when `path` ("objects/invoice.yaml", relative to the package
    root) is a file `load_package` reads as a component; None otherwise."""
    parts = path.split("/")
    if len(parts) != 2 or parts[0] not in COMPONENT_DIRS:
        return None
    stem, dot, suffix = parts[1].rpartition(".")
    return (parts[0], stem) if dot and stem and f".{suffix}" in (".yaml", ".yml") else None


def load_package_files(files: dict[str, bytes], origin: str) -> dict:
    """Load and schema-check a package given as {relative path: bytes} (an archive's members,
    already bounded and hash-checked by its reader): the same checks `load_package` makes on a
    directory. Sources are named `origin/path`. Files that are not package.yaml or a component are
    ignored here; the archive reader decides whether they may be there at all."""
    errors: list[MetaError] = []

    def parse(path: str):
        try:
            return safe_yaml.parse(files[path])
        except safe_yaml.YamlRefused as exc:
            errors.append(MetaError(f"{origin}/{path}", "", str(exc)))
            return None

    if "package.yaml" not in files:
        raise MetadataInvalid([MetaError(origin, "", "not a package: package.yaml is missing")])
    manifest = parse("package.yaml")
    if manifest is not None:
        errors.extend(validate_document("package", manifest, f"{origin}/package.yaml"))
    components: dict[str, dict] = {d: {} for d in COMPONENT_DIRS}
    for path in sorted(files):
        member = package_member(path)
        if member is not None:
            _add_component(components, member[0], member[1], f"{origin}/{path}", parse(path), errors, org=False)
    data = parse_data_files(files, origin, errors)
    if errors:
        raise MetadataInvalid(errors)
    return _with_data({"manifest": manifest, "components": components}, data)


def load_org(directory: str | Path) -> dict:
    """Load and schema-check an org-layer directory (what `tessera apply DIR` reads)."""
    root = Path(directory)
    if not root.is_dir():
        raise MetadataInvalid([MetaError(_display(root), "", "not a directory")])
    errors: list[MetaError] = []
    components = _load_components(root, errors, org=True, budget=_Budget(root))
    if errors:
        raise MetadataInvalid(errors)
    return {"manifest": None, "components": components}


def read_lock(directory: str | Path) -> dict[str, str] | None:
    """The package versions an exported org layer was made against ({name: version}), or None when
    the directory has no packages.lock.yaml."""
    path = Path(directory) / LOCK_FILE
    if not _present(path):
        return None
    errors: list[MetaError] = []
    doc = read_yaml(path, errors, _Budget(Path(directory)))
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
            _checked_name(kind, doc, source, name, "component name", errors)
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
