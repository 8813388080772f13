"""Deprecated package components: what a package version no longer ships, kept (issue 19 §2).

A subscriber's data outlives a partner's change of mind: when version 1.3.0 of a package no longer
ships an object or a field that 1.2.0 did, its table or column — and every value in it — stays,
hidden from everything people and programs use (the Runtime: layouts, forms, list views, the REST
API, OpenAPI), until the subscriber deletes it on purpose (`tessera package purge`). Salesforce's
managed packages do the same: a removed component is "deprecated", never dropped by an upgrade.

Where the set is kept: in the package's source inside the metadata version snapshot, under
`deprecated` (changes/package_upgrade.py writes it), because the snapshot is what every reader of
history reads. A rollback to a version before the deprecation brings the component back alive, a
rollback to one before a purge brings its (empty) table back, a deploy lock or a diff between two
versions sees it — all with no bookkeeping of their own. Its shape:

  {"objects": {name: {"doc", "source", "since"}},            a whole object (its table)
   "fields":  {object: {field: {"doc", "since"}}},            a field of a live or deprecated object
   "layouts" | "list_views" | …: {name: {"doc", "source", "since"}}}   metadata only: listed, inactive

Objects and fields are storage: the change pipeline plans against `Metadata.storage_objects`
(live objects with their deprecated fields, plus deprecated objects), so an upgrade that
deprecates plans no drop, and a purge plans exactly the drop. Other kinds hold no data: they
are simply no longer part of the effective metadata, and listed so the subscriber knows.
"""
from __future__ import annotations

import copy

FIELDS = "fields"      # the one key of `deprecated` that is not a component folder


def collect(packages: list[dict]) -> dict:
    """{"objects": {name: (doc, source, package)}, "fields": {object: {field: doc}},
    "inactive": {folder: {name, …}}} of the installed packages' deprecated components (docs
    copied: merging may extend them)."""
    retired = {"objects": {}, FIELDS: {}, "inactive": {}}
    for pkg in packages:
        deprecated = pkg.get("deprecated") or {}
        for folder, items in deprecated.items():
            if folder not in ("objects", FIELDS):
                retired["inactive"].setdefault(folder, set()).update(items)
        for name, item in (deprecated.get("objects") or {}).items():
            retired["objects"][name] = (copy.deepcopy(item["doc"]), item.get("source", ""), pkg["manifest"]["name"])
        for obj, fields in (deprecated.get(FIELDS) or {}).items():
            for fname, item in fields.items():
                retired[FIELDS].setdefault(obj, {})[fname] = copy.deepcopy(item["doc"])
    for obj, fields in retired[FIELDS].items():   # a deprecated object keeps its earlier deprecated fields
        if obj in retired["objects"]:
            doc = retired["objects"][obj][0]
            doc["fields"] = {**fields, **(doc.get("fields") or {})}
    return retired


def extend_retired(retired: dict, ext: dict) -> bool:
    """An org `extends:` of a deprecated object: its added fields keep their columns too (the
    subscriber's customization is kept, hidden with the object). True when it was one."""
    target = retired["objects"].get(ext["extends"])
    if target is None:
        return False
    fields = target[0].setdefault("fields", {})
    for fname, fdoc in (ext.get("fields") or {}).items():
        if fname not in fields and "type" in fdoc:
            fields[fname] = copy.deepcopy(fdoc)
    return True


def hide_fields(docs: dict, retired: dict) -> None:
    """Deprecated fields leave the live objects' documents and every layout and list view (an
    org's copy of a layout may still show one)."""
    hidden = retired[FIELDS]
    for obj, fields in list(hidden.items()):
        found = docs["objects"].get(obj)
        if found is None:
            continue
        live = found[0].get("fields") or {}
        for fname in list(fields):
            if fname in live:         # shipped or added again under its name: the live one owns the column
                del fields[fname]
    for layout, _source in (docs.get("layouts") or {}).values():
        gone = hidden.get(layout.get("object"), {})
        if gone:
            for section in layout["sections"]:
                section["fields"] = [f for f in section["fields"] if f not in gone]
            layout["sections"] = [s for s in layout["sections"] if s["fields"]]
    for view, _source in (docs.get("list_views") or {}).values():
        gone = hidden.get(view.get("object"), {})
        if gone:
            view["columns"] = [c for c in view["columns"] if c.split(".")[0] not in gone]


def summary(packages: list[dict]) -> list[tuple[str, str, str, str]]:
    """(package, folder, component, since) of every deprecated component, fields as
    ("fields", "object.field"), sorted."""
    rows = []
    for pkg in packages:
        for folder, items in (pkg.get("deprecated") or {}).items():
            if folder == FIELDS:
                rows += [(pkg["manifest"]["name"], FIELDS, f"{obj}.{fname}", item["since"])
                         for obj, fields in items.items() for fname, item in fields.items()]
            else:
                rows += [(pkg["manifest"]["name"], folder, name, item["since"]) for name, item in items.items()]
    return sorted(rows)


def without(packages: list[dict], package: str, component: str) -> list[dict]:
    """`packages` with one deprecated component forgotten — what a purge installs, so the change
    pipeline plans its table's or column's drop. `component`: an object `NAME`, a field
    `OBJECT.FIELD`, or `FOLDER/NAME` (`layouts/invoice_layout`). LookupError names what there is."""
    found = {p["manifest"]["name"]: p for p in packages}.get(package)
    if found is None:
        raise LookupError(f"no package named '{package}' is installed")
    deprecated = copy.deepcopy(found.get("deprecated") or {})
    folder, _, name = component.rpartition("/")
    if not folder and "." in name:
        folder, (obj, _, fname) = FIELDS, name.partition(".")
        hit = fname in (deprecated.get(FIELDS, {}).get(obj) or {})
        if hit:
            del deprecated[FIELDS][obj][fname]
            if not deprecated[FIELDS][obj]:
                del deprecated[FIELDS][obj]
    else:
        folder = folder or "objects"
        hit = name in (deprecated.get(folder) or {})
        if hit:
            del deprecated[folder][name]
    if not hit:
        listed = [c if f == FIELDS else (c if f == "objects" else f"{f}/{c}")
                  for _p, f, c, _s in summary([found])]
        raise LookupError(f"package {package} has no deprecated component '{component}' (deprecated: "
                          + (", ".join(listed) or "none") + ")")
    deprecated = {f: items for f, items in deprecated.items() if items}
    purged = {k: v for k, v in found.items() if k != "deprecated"}
    if deprecated:
        purged["deprecated"] = deprecated
    return [purged if p is found else p for p in packages]
