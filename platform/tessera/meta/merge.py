"""Merge installed packages (in dependency order) and the org layer into effective metadata.

Layering, in the order anyone can read: each package's components, dependencies first; then the
org layer. The org may add its own components, extend package objects (new fields, customizable
properties) and replace package layouts, list views and apps whole. It may never silently
overwrite what a package owns.
"""
from __future__ import annotations

import copy
from types import MappingProxyType

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from .errors import MetaError, MetadataInvalid
from .model import Component, Metadata, ObjectDef
from .schema import validate_document

# Which fields keep a history is the org admin's choice (as in Salesforce), not part of a package's contract.
DEFAULT_CUSTOMIZABLE = {"object": ["label", "plural_label", "description", "track_history", "sharing_model",
                                   "hierarchy_access"],
                        "field": ["label", "help", "track_history"]}
_KIND_OF_DIR = {"layouts": "layout", "list_views": "list_view", "apps": "app", "profiles": "profile",
               "permission_sets": "permission_set", "permission_set_groups": "permission_set_group",
               "roles": "role", "sharing_rules": "sharing_rule", "workflows": "workflow",
               "email_templates": "email_template", "approval_processes": "approval_process"}


def dependency_order(packages: list[dict]) -> list[dict]:
    """Packages sorted so that dependencies come first; checks presence, ranges and cycles."""
    by_name: dict[str, dict] = {}
    errors: list[MetaError] = []
    for pkg in packages:
        name = pkg["manifest"]["name"]
        if name in by_name:
            errors.append(MetaError(f"package {name}", "", "installed twice"))
        by_name[name] = pkg
    for pkg in packages:
        m = pkg["manifest"]
        for dep, spec in (m.get("dependencies") or {}).items():
            where = f"package {m['name']}"
            if dep not in by_name:
                errors.append(MetaError(where, f"dependencies.{dep}", f"requires package '{dep}', which is not installed"))
                continue
            try:
                ok = Version(by_name[dep]["manifest"]["version"]) in SpecifierSet(str(spec))
            except InvalidSpecifier:
                errors.append(MetaError(where, f"dependencies.{dep}", f"'{spec}' is not a version range"))
                continue
            if not ok:
                errors.append(MetaError(where, f"dependencies.{dep}",
                                        f"requires {dep} {spec}, but {by_name[dep]['manifest']['version']} is installed"))
    if errors:
        raise MetadataInvalid(errors)
    ordered, state = [], {}

    def visit(name, chain):
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            raise MetadataInvalid([MetaError(f"package {name}", "dependencies",
                                             "dependency cycle: " + " -> ".join(chain + [name]))])
        state[name] = "visiting"
        for dep in sorted((by_name[name]["manifest"].get("dependencies") or {})):
            visit(dep, chain + [name])
        state[name] = "done"
        ordered.append(by_name[name])

    for name in sorted(by_name):
        visit(name, [])
    return ordered


def merge_docs(snapshot: dict) -> tuple[dict, dict]:
    """Merge source documents. Returns (docs, owners): docs[dir][name] = (doc, source);
    owners[dir][name] = owning package name (None for the org)."""
    errors: list[MetaError] = []
    docs: dict[str, dict] = {d: {} for d in ("objects", *_KIND_OF_DIR)}
    owners: dict[str, dict] = {d: {} for d in docs}
    customizable: dict[str, dict] = {}
    for pkg in dependency_order(snapshot.get("packages") or []):
        m = pkg["manifest"]
        ns = m.get("namespace")
        for dirname, items in pkg["components"].items():
            docs.setdefault(dirname, {})
            owners.setdefault(dirname, {})
            for name, item in items.items():
                if ns and not name.startswith(f"{ns}__"):
                    errors.append(MetaError(item["source"], "name", f"'{name}' must start with the package namespace '{ns}__'"))
                if name in docs[dirname]:
                    errors.append(MetaError(item["source"], "name",
                                            f"{dirname[:-1].replace('_', ' ')} '{name}' is already defined by package '{owners[dirname][name]}'"))
                    continue
                docs[dirname][name] = (copy.deepcopy(item["doc"]), item["source"])
                owners[dirname][name] = m["name"]
                if dirname == "objects":
                    customizable[name] = {**DEFAULT_CUSTOMIZABLE, **(m.get("customizable") or {})}
    org = snapshot.get("org") or {"components": {}}
    for dirname, items in org["components"].items():
        docs.setdefault(dirname, {})
        owners.setdefault(dirname, {})
        for name, item in items.items():
            doc, source = item["doc"], item["source"]
            if dirname != "objects":
                docs[dirname][name] = (copy.deepcopy(doc), source)  # org replaces layouts/views/apps whole
                owners[dirname][name] = None
            elif "extends" in doc:
                errors.extend(_extend_object(docs, owners, customizable, doc, source))
            elif name in docs["objects"]:
                errors.append(MetaError(source, "name", f"object '{name}' belongs to package '{owners['objects'][name]}': "
                                                        f"extend it with 'extends: {name}' instead"))
            else:
                docs["objects"][name] = (copy.deepcopy(doc), source)
                owners["objects"][name] = None
    if errors:
        raise MetadataInvalid(errors)
    return docs, owners


def _extend_object(docs, owners, customizable, ext: dict, source: str) -> list[MetaError]:
    target = ext["extends"]
    if target not in docs["objects"]:
        return [MetaError(source, "extends", f"there is no object '{target}' to extend")]
    if owners["objects"][target] is None:
        return [MetaError(source, "extends", f"object '{target}' is the org's own: edit it instead of extending it")]
    base, base_source = docs["objects"][target]
    allowed = customizable[target]
    errors = []
    for key, value in ext.items():
        if key in ("extends", "fields"):
            continue
        if key not in allowed["object"]:
            errors.append(MetaError(source, key, f"package '{owners['objects'][target]}' does not let the org change '{key}' of object '{target}'"))
        else:
            base[key] = value
    for fname, fdoc in (ext.get("fields") or {}).items():
        if fname in base["fields"]:
            for key, value in fdoc.items():
                if key not in allowed["field"]:
                    errors.append(MetaError(source, f"fields.{fname}.{key}",
                                            f"package '{owners['objects'][target]}' does not let the org change '{key}' of field '{target}.{fname}'"))
                else:
                    base["fields"][fname][key] = value
        else:
            problems = validate_document("object", {"name": target, "fields": {fname: fdoc}}, source)
            errors.extend(problems)
            if not problems:
                base["fields"][fname] = copy.deepcopy(fdoc)
    return errors


def build_metadata(snapshot: dict) -> Metadata:
    """Snapshot (packages + org layer) → effective Metadata, semantically validated."""
    from .validate import check_semantics  # after merge: validation needs the whole picture

    docs, owners = merge_docs(snapshot)
    objects = {name: ObjectDef.from_doc(doc, package=owners["objects"][name], source=src)
               for name, (doc, src) in docs["objects"].items()}

    def components(dirname):
        return MappingProxyType({name: Component(_KIND_OF_DIR[dirname], name, doc, owners[dirname][name], src)
                                 for name, (doc, src) in docs.get(dirname, {}).items()})

    md = Metadata(objects=MappingProxyType(objects), layouts=components("layouts"),
                  list_views=components("list_views"), apps=components("apps"),
                  profiles=components("profiles"), permission_sets=components("permission_sets"),
                  permission_set_groups=components("permission_set_groups"), roles=components("roles"),
                  sharing_rules=components("sharing_rules"), workflows=components("workflows"),
                  email_templates=components("email_templates"),
                  approval_processes=components("approval_processes"))
    errors = check_semantics(md)
    if errors:
        raise MetadataInvalid(errors)
    return md
