"""A package layout edited in Setup is saved as a **patch** when the edit can be said as one —
fields hidden, sections added, fields added to the package's sections, related lists added — so
the package's later changes to that layout still arrive on upgrade (layout_patch.schema.json,
applied by meta.merge.patch_layout). Anything a patch cannot say (reordering or moving the
package's fields, renaming its sections, removing its related lists) is saved as the org's whole
copy, as before. No Flask here.

The candidate patch is always checked by applying it with the merge's own code: it is used only
when it gives exactly the layout the admin saved.
"""
from __future__ import annotations

import copy

from ...meta.merge import patch_layout

LAYOUT_KEYS = ("sections", "related_lists")


def _section(section: dict) -> dict:
    return {"label": section.get("label"), "columns": section.get("columns", 2), "fields": list(section["fields"])}


def normalized(layout: dict) -> dict:
    out = {k: v for k, v in layout.items() if k not in LAYOUT_KEYS and v not in (None, "", [])}
    out["sections"] = [_section(s) for s in layout.get("sections") or ()]
    out["related_lists"] = [dict(r) for r in layout.get("related_lists") or ()]
    return out


def applied(base: dict, patch: dict) -> dict | None:
    """The package layout with the patch applied, or None if the patch does not apply."""
    name = base["name"]
    docs, owners = {"layouts": {name: (copy.deepcopy(base), "package")}}, {"layouts": {name: "package"}}
    if patch_layout(docs, owners, patch, "org"):
        return None
    return docs["layouts"][name][0]


def _related_key(r: dict) -> tuple:
    return r.get("object"), r.get("field")


def candidate(base: dict, posted: dict) -> dict | None:
    """The operations that turn `base` into `posted`, or None when none can (checked by caller)."""
    b, p = normalized(base), normalized(posted)
    if {k: v for k, v in b.items() if k not in LAYOUT_KEYS} != {k: v for k, v in p.items() if k not in LAYOUT_KEYS}:
        return None   # the layout's own label or other properties changed
    base_fields = [f for s in b["sections"] for f in s["fields"]]
    posted_fields = {f for s in p["sections"] for f in s["fields"]}
    base_labels = {s["label"] for s in b["sections"] if s["label"]}
    patch: dict = {"patches": base["name"]}
    hide = [f for f in base_fields if f not in posted_fields]
    add_sections, add_fields = [], []
    previous_label = None
    for section in p["sections"]:
        label = section["label"]
        if label in base_labels:
            previous_field = None
            for field in section["fields"]:
                if field not in base_fields:
                    add = {"field": field, "section": label}
                    if previous_field is not None:
                        add["after"] = previous_field
                    add_fields.append(add)
                previous_field = field
        else:
            if not label:
                return None
            new = {"label": label, "columns": section["columns"], "fields": section["fields"]}
            if previous_label is not None:
                new["after"] = previous_label
            add_sections.append(new)
        previous_label = label
    base_related = {_related_key(r) for r in b["related_lists"]}
    add_related = [r for r in p["related_lists"] if _related_key(r) not in base_related]
    for key, value in (("hide_fields", hide), ("add_sections", add_sections), ("add_fields", add_fields),
                       ("add_related_lists", add_related)):
        if value:
            patch[key] = value
    return patch


def as_patch(base: dict, posted: dict) -> dict | None:
    """`posted` said as a patch of the package's `base` layout, or None (save the whole layout).
    A patch with no operation means the layout is the package's again."""
    patch = candidate(base, posted)
    if patch is None:
        return None
    result = applied(base, patch)
    if result is None or normalized(result) != normalized(posted):
        return None
    return patch


def patch_summary(patch: dict) -> str:
    """One line for the version message: what the patch does."""
    parts = []
    if patch.get("hide_fields"):
        parts.append("hide " + ", ".join(patch["hide_fields"]))
    for section in patch.get("add_sections") or ():
        parts.append(f"add section '{section['label']}'")
    if patch.get("add_fields"):
        parts.append("add " + ", ".join(a["field"] for a in patch["add_fields"]))
    if patch.get("add_related_lists"):
        parts.append("add related list " + ", ".join(r.get("label") or r["object"] for r in patch["add_related_lists"]))
    return "; ".join(parts)
