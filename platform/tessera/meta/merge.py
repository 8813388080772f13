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

from . import deprecation
from .errors import MetaError, MetadataInvalid
from .currencies import CURRENCY_FIELD, OrgSettings
from .model import Component, FieldDef, Metadata, ObjectDef, link_rows
from .schema import validate_document
from .source import COMPONENT_KINDS as _KIND_OF_DIR

# Which fields keep a history is the org admin's choice (as in Salesforce), not part of a package's contract.
DEFAULT_CUSTOMIZABLE = {"object": ["label", "plural_label", "description", "track_history", "sharing_model",
                                   "hierarchy_access", "multi_currency", "conversion_date", "activities"],
                        "field": ["label", "help", "track_history"]}


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


def merge_docs(snapshot: dict, retired: dict | None = None) -> tuple[dict, dict]:
    """Merge source documents. Returns (docs, owners): docs[dir][name] = (doc, source);
    owners[dir][name] = owning package name (None for the org). `retired`, when given, receives
    the deprecated objects and fields (meta/deprecation.py `collect`), with the org's extensions
    of deprecated objects applied to them; deprecated fields leave `docs`."""
    errors: list[MetaError] = []
    kept = deprecation.collect(snapshot.get("packages") or [])
    docs: dict[str, dict] = {d: {} for d in ("objects", *_KIND_OF_DIR)}
    owners: dict[str, dict] = {d: {} for d in docs}
    customizable: dict[str, dict] = {}
    extensions: list[tuple[dict, dict, str]] = []
    layout_patches: list[tuple[dict, dict, str]] = []
    for pkg in dependency_order(snapshot.get("packages") or []):
        m = pkg["manifest"]
        ns = m.get("namespace")
        for dirname, items in pkg["components"].items():
            docs.setdefault(dirname, {})
            owners.setdefault(dirname, {})
            for name, item in items.items():
                if dirname == "objects" and "extends" in item["doc"]:
                    extensions.append((m, item["doc"], item["source"]))   # once every package's objects are in
                    continue
                if dirname == "layouts" and "patches" in item["doc"]:
                    layout_patches.append((m, item["doc"], item["source"]))   # once the fields they show are in
                    continue
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
    for manifest, ext, source in extensions:   # in dependency order, so an addon of an addon works too
        errors.extend(_extend_from_package(docs, owners, manifest, ext, source))
    for manifest, patch, source in layout_patches:
        errors.extend(_patch_from_package(docs, owners, manifest, patch, source))
    org = snapshot.get("org") or {"components": {}}
    for dirname, items in org["components"].items():
        docs.setdefault(dirname, {})
        owners.setdefault(dirname, {})
        for name, item in items.items():
            doc, source = item["doc"], item["source"]
            if dirname == "layouts" and "patches" in doc:
                continue   # applied below, once every replacement is in place
            if dirname != "objects":
                docs[dirname][name] = (copy.deepcopy(doc), source)  # org replaces layouts/views/apps whole
                owners[dirname][name] = None
            elif "extends" in doc:
                doc = _follow_rename(docs, doc)
                if doc["extends"] not in docs["objects"] and deprecation.extend_retired(kept, doc):
                    continue   # the org's fields on a deprecated object: kept with it, hidden with it
                errors.extend(_extend_object(docs, owners, customizable, doc, source))
            elif name in docs["objects"]:
                errors.append(MetaError(source, "name", f"object '{name}' belongs to package '{owners['objects'][name]}': "
                                                        f"extend it with 'extends: {name}' instead"))
            else:
                docs["objects"][name] = (copy.deepcopy(doc), source)
                owners["objects"][name] = None
    for name, item in (org["components"].get("layouts") or {}).items():
        if "patches" in item["doc"]:
            if item["doc"]["patches"] in kept["inactive"].get("layouts", ()) \
                    and item["doc"]["patches"] not in docs["layouts"]:
                continue   # a patch of a deprecated layout: kept in the org layer, inactive with it
            errors.extend(patch_layout(docs, owners, item["doc"], item["source"]))
    if errors:
        raise MetadataInvalid(errors)
    deprecation.hide_fields(docs, kept)
    if retired is not None:
        retired.update(kept)
    return docs, owners


def _extend_from_package(docs, owners, manifest: dict, ext: dict, source: str) -> list[MetaError]:
    """A package's `extends:` document: new fields and validation rules on an object of a package
    it depends on (a partner adding fields to `account`), and `activities: true`. The object's other
    properties and its fields stay as their package made them."""
    target = ext["extends"]
    if target not in docs["objects"]:
        return [MetaError(source, "extends", f"there is no object '{target}' to extend")]
    owner = owners["objects"][target]
    if owner not in (manifest.get("dependencies") or {}):
        return [MetaError(source, "extends", f"object '{target}' belongs to package '{owner}': a package may extend "
                                             f"only objects of the packages it depends on (add '{owner}' to its "
                                             "dependencies)")]
    errors = [MetaError(source, key, f"a package may add fields and validation rules to '{target}', not change its "
                                     f"'{key}' (the org layer may, where package '{owner}' allows it)")
              for key in ext if key not in ("extends", "fields", "validation_rules", "activities")]
    base, _base_source = docs["objects"][target]
    # activities on: tasks, events and notes may relate to its records (a package adding a timeline to
    # an object of its dependency); never off — the owner, and other packages, may rely on them
    if "activities" in ext:
        if ext["activities"] is True:
            base["activities"] = True
        else:
            errors.append(MetaError(source, "activities", f"a package may turn activities on for '{target}' "
                                                          f"(activities: true), not off"))
    for fname, fdoc in (ext.get("fields") or {}).items():
        if fname in base["fields"]:
            errors.append(MetaError(source, f"fields.{fname}", f"'{target}' already has a field '{fname}' "
                                    f"(a package adds new fields only)"))
            continue
        errors += _add_field(base, target, fname, fdoc, source)
    errors += _add_rules(base, target, ext, source)
    return errors


def _add_field(base: dict, target: str, fname: str, fdoc: dict, source: str) -> list[MetaError]:
    problems = validate_document("object", {"name": target, "fields": {fname: fdoc}}, source)
    if not problems:
        base["fields"][fname] = copy.deepcopy(fdoc)
    return problems


def _add_rules(base: dict, target: str, ext: dict, source: str) -> list[MetaError]:
    errors = []
    existing = {rule["name"] for rule in base.get("validation_rules") or ()}
    for i, rule in enumerate(ext.get("validation_rules") or ()):
        if rule["name"] in existing:
            errors.append(MetaError(source, f"validation_rules.{i}.name",
                                    f"'{target}' already has a validation rule named '{rule['name']}'"))
            continue
        existing.add(rule["name"])
        base.setdefault("validation_rules", []).append(copy.deepcopy(rule))
    return errors


def _patch_from_package(docs, owners, manifest: dict, patch: dict, source: str) -> list[MetaError]:
    """A package's `patches:` document: its fields and related lists on a layout of a package it
    depends on (Marketing's campaign field on Sales' opportunity layout), by the same operations as
    the org's patches, so the base package's later layout changes still arrive."""
    owner = owners["layouts"].get(patch["patches"])
    if owner is not None and owner not in (manifest.get("dependencies") or {}):
        return [MetaError(source, "patches", f"layout '{patch['patches']}' belongs to package '{owner}': a package "
                                             f"may patch only layouts of the packages it depends on (add '{owner}' "
                                             "to its dependencies)")]
    return patch_layout(docs, owners, patch, source)


def patch_layout(docs, owners, patch: dict, source: str) -> list[MetaError]:
    """Apply an org layout patch (layout_patch.schema.json) to a package's layout, by operations:
    hide_fields, add_sections, add_fields, add_related_lists. A field the layout already shows is
    not added twice (the package may have added it since); a section or field the patch names
    that the layout no longer has is an error naming it, so an upgrade that moved it says so."""
    target = patch["patches"]
    found = docs["layouts"].get(target)
    if found is None:
        return [MetaError(source, "patches", f"there is no layout '{target}' to patch")]
    if owners["layouts"][target] is None:
        return [MetaError(source, "patches", f"layout '{target}' is the org's own: edit it instead of patching it")]
    layout = copy.deepcopy(found[0])
    errors: list[MetaError] = []
    sections = layout["sections"]

    def labels():
        return ", ".join(repr(s.get("label")) for s in sections if s.get("label")) or "none"

    def section_index(label, where):
        for i, section in enumerate(sections):
            if section.get("label") == label:
                return i
        errors.append(MetaError(source, where, f"layout '{target}' has no section '{label}' (its sections: {labels()})"))
        return None

    shown = {f for section in sections for f in section["fields"]}
    for i, name in enumerate(patch.get("hide_fields") or ()):
        if name not in shown:
            errors.append(MetaError(source, f"hide_fields.{i}", f"layout '{target}' does not show '{name}'"))
        for section in sections:
            section["fields"] = [f for f in section["fields"] if f != name]
    sections[:] = [s for s in sections if s["fields"]]   # a section left empty goes too
    for i, new in enumerate(patch.get("add_sections") or ()):
        at = len(sections)
        if new.get("after") is not None:
            index = section_index(new["after"], f"add_sections.{i}.after")
            if index is None:
                continue
            at = index + 1
        section = {k: v for k, v in new.items() if k != "after"}
        section["fields"] = [f for f in section["fields"] if f not in shown]
        if not section["fields"]:
            continue
        sections.insert(at, section)
        shown.update(section["fields"])
    for i, add in enumerate(patch.get("add_fields") or ()):
        index = section_index(add["section"], f"add_fields.{i}.section")
        if index is None or add["field"] in shown:
            continue
        fields = sections[index]["fields"]
        if add.get("after") is None:
            fields.append(add["field"])
        elif add["after"] in fields:
            fields.insert(fields.index(add["after"]) + 1, add["field"])
        else:
            errors.append(MetaError(source, f"add_fields.{i}.after",
                                    f"section '{add['section']}' of layout '{target}' has no field '{add['after']}'"))
            continue
        shown.add(add["field"])
    related = layout.setdefault("related_lists", [])
    for new in patch.get("add_related_lists") or ():
        if not any(r["object"] == new["object"] and r["field"] == new["field"] for r in related):
            related.append(copy.deepcopy(new))
    if not sections:
        errors.append(MetaError(source, "hide_fields", f"the patch would leave layout '{target}' with no field"))
    if not errors:
        docs["layouts"][target] = (layout, source)   # the effective layout is the org's patched copy
    return errors


def _follow_rename(docs, ext: dict) -> dict:
    """An org extension of an object its package has since renamed (`renamed_from`) extends it
    under its new name: the subscriber's fields go with the object."""
    if ext["extends"] in docs["objects"]:
        return ext
    for name, (doc, _source) in docs["objects"].items():
        if doc.get("renamed_from") == ext["extends"]:
            return {**ext, "extends": name}
    return ext


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
        if key in ("extends", "fields", "validation_rules"):
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
            errors += _add_field(base, target, fname, fdoc, source)
    errors += _add_rules(base, target, ext, source)
    return errors


def build_metadata(snapshot: dict) -> Metadata:
    """Snapshot (packages + org layer) → effective Metadata, semantically validated."""
    from .validate import check_semantics  # after merge: validation needs the whole picture

    retired: dict = {}
    docs, owners = merge_docs(snapshot, retired)
    settings = docs.get("settings", {}).get("org")
    org_settings = OrgSettings.from_doc(settings[0] if settings else {})
    clashes = [MetaError(src, f"fields.{CURRENCY_FIELD}", f"'{CURRENCY_FIELD}' is the currency a multi-currency object "
                                                          f"gets from the platform: rename this field")
               for doc, src in docs["objects"].values()
               if doc.get("multi_currency") and CURRENCY_FIELD in (doc.get("fields") or {})]
    if clashes:
        raise MetadataInvalid(clashes)
    objects = link_rows({name: ObjectDef.from_doc(_with_currency(doc, org_settings), package=owners["objects"][name],
                                               source=src)
                         for name, (doc, src) in docs["objects"].items()})

    def components(dirname):
        return MappingProxyType({name: Component(_KIND_OF_DIR[dirname], name, doc, owners[dirname][name], src)
                                 for name, (doc, src) in docs.get(dirname, {}).items()})

    md = Metadata(objects=MappingProxyType(objects), layouts=components("layouts"),
                  list_views=components("list_views"), apps=components("apps"),
                  profiles=components("profiles"), permission_sets=components("permission_sets"),
                  permission_set_groups=components("permission_set_groups"), roles=components("roles"),
                  sharing_rules=components("sharing_rules"), workflows=components("workflows"),
                  email_templates=components("email_templates"),
                  approval_processes=components("approval_processes"), settings=components("settings"),
                  reports=components("reports"), dashboards=components("dashboards"),
                  duplicate_rules=components("duplicate_rules"), conversions=components("conversions"),
                  deprecated_objects=MappingProxyType({
                      name: ObjectDef.from_doc(_with_currency(doc, org_settings), package=package, source=src)
                      for name, (doc, src, package) in retired["objects"].items() if name not in objects}),
                  deprecated_fields=MappingProxyType({
                      obj: MappingProxyType({n: FieldDef.from_doc(n, f) for n, f in fields.items() if f.get("type") != "rows"})
                      for obj, fields in retired[deprecation.FIELDS].items() if obj in objects and fields}))
    errors = check_semantics(md)
    if errors:
        raise MetadataInvalid(errors)
    return md


def _with_currency(doc: dict, settings: OrgSettings) -> dict:
    """A multi-currency object's document with its `currency_code` field (meta/currencies.py)."""
    fields = doc.get("fields") or {}
    if not doc.get("multi_currency"):
        return doc
    return {**doc, "fields": {**fields, CURRENCY_FIELD: settings.currency_field_doc()}}
