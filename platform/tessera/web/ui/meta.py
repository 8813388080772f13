"""Metadata → what the pages show: apps and tabs, columns, layouts, list views, field display types.

Everything is computed from the request's Runtime and the actor's Access; what the actor may not
read is left out here, so templates never need to ask.
"""
from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from types import MappingProxyType

from ...meta.currencies import CURRENCY_FIELD
from ...meta.fieldtypes import RELATION_TYPES
from ...meta.model import FieldDef, ObjectDef
from .context import access, forbidden, not_found, rt

SYSTEM_DEFS = {
    "id": FieldDef("id", "id", "Record ID", read_only=True),
    "owner": FieldDef("owner", "lookup", "Owner", options=MappingProxyType({"to": "user"})),
    "created_at": FieldDef("created_at", "datetime", "Created At", read_only=True),
    "created_by": FieldDef("created_by", "lookup", "Created By", read_only=True,
                           options=MappingProxyType({"to": "user"})),
    "updated_at": FieldDef("updated_at", "datetime", "Updated At", read_only=True),
    "updated_by": FieldDef("updated_by", "lookup", "Updated By", read_only=True,
                           options=MappingProxyType({"to": "user"})),
}
READ_ONLY_TYPES = {"formula", "rollup", "autonumber"}
UNSORTABLE = {"json", "multi_picklist", "rich_text", "textarea", "geolocation", "image"}
LIST_HIDDEN = {"json", "rich_text", "textarea"}   # too long for a list column by default

# Object icons (Font Awesome 5 solid) and colours: a stable look per object, like a product's.
_ICONS = {
    "account": "building", "contact": "address-card", "lead": "user-plus", "opportunity": "crown",
    "opportunity_line_item": "list", "product": "box", "price_book": "book", "price_book_entry": "tag",
    "quote": "file-invoice-dollar", "quote_line_item": "list-ol", "campaign": "bullhorn",
    "campaign_member": "users", "segment": "filter", "email_template": "envelope-open-text",
    "case": "life-ring", "case_comment": "comment", "entitlement": "certificate",
    "knowledge_article": "book-open", "task": "check-square", "event": "calendar-alt", "note": "sticky-note",
    "file": "file", "user": "user", "group": "users", "group_member": "user-friends", "queue": "inbox",
    "queue_member": "user-tag", "permission_set_assignment": "key",
}
_APP_ICONS = {"sales": "chart-line", "marketing": "bullhorn", "service": "headset", "home": "home"}
_PALETTE = ["#0176d3", "#04844b", "#9050e9", "#e07a00", "#c23934", "#0b827c", "#3a49da", "#b0006d",
            "#5a6872", "#2e844a"]


def color_for(name: str) -> str:
    return _PALETTE[int(hashlib.sha1(name.encode()).hexdigest(), 16) % len(_PALETTE)]


def object_icon(name: str) -> str:
    return _ICONS.get(name.split("__")[-1], "cube")


def app_icon(name: str) -> str:
    return _APP_ICONS.get(name, "th-large")


# -- apps and objects ---------------------------------------------------------------------------
def readable_tabs(app) -> list[ObjectDef]:
    md, acc = rt().metadata, access()
    return [md.objects[t] for t in app.get("tabs") or () if t in md.objects and acc.can(t, "read")]


def apps_for_user() -> list[dict]:
    """The apps the user can use: those with at least one tab they may read."""
    out = []
    for app in sorted(rt().metadata.apps.values(), key=_app_order):
        tabs = readable_tabs(app)
        if tabs:
            out.append({"name": app.name, "label": app.get("label") or app.name.title(),
                        "description": app.get("description") or "", "tabs": tabs,
                        "icon": app_icon(app.name), "color": color_for(app.name)})
    return out


def _app_order(app):
    # stock apps first in a familiar order, then the rest by label
    order = {"sales": 0, "service": 1, "marketing": 2, "home": 3}
    return (order.get(app.name, 10), (app.get("label") or app.name).lower())


def require_app(name: str):
    app = rt().metadata.apps.get(name)
    if app is None:
        not_found(f"There is no app '{name}'.")
    if not readable_tabs(app):
        forbidden("You don't have access to any part of this app.")
    return app


def require_object(name: str, action: str = "read") -> ObjectDef:
    obj = rt().metadata.objects.get(name)
    if obj is None:
        not_found(f"There is no object '{name}'.")
    if not access().can(name, action):
        verb = {"read": "see", "create": "create", "edit": "edit", "delete": "delete"}.get(action, action)
        forbidden(f"You don't have permission to {verb} {obj.plural_label.lower()}.")
    return obj


# -- fields ----------------------------------------------------------------------------------------
def object_label(name) -> str:
    """An object's label (its name when the object is gone)."""
    obj = rt().metadata.objects.get(name) if isinstance(name, str) else None
    return obj.label if obj is not None else str(name or "")


def related_targets(f: FieldDef) -> list[tuple[str, str]]:
    """(name, label) of the objects a related_to field takes that the user may read (its picker)."""
    from ...meta.related import targets
    md = rt().metadata
    return [(n, md.objects[n].label) for n in targets(md, f) if access().can(n, "read")]


def field_def(obj: ObjectDef, name: str) -> FieldDef | None:
    return obj.fields.get(name) or SYSTEM_DEFS.get(name)


def resolve(obj: ObjectDef, path: str) -> tuple[ObjectDef, FieldDef] | None:
    """(object holding the last field, that field) for a dotted path, or None if it breaks."""
    steps = rt().metadata.resolve_path(obj, tuple(path.split(".")))
    if not steps:
        return None
    last_obj, last = steps[-1]
    f = field_def(last_obj, last)
    return (last_obj, f) if f is not None else None


def display_def(f: FieldDef) -> FieldDef:
    """The field whose type formats the value: a formula as its `returns` type, a roll-up as the
    child field it aggregates (count: integer)."""
    if f.type == "formula":
        returns = f.options.get("returns", "text")
        scale = f.options.get("scale", 2)
        return dataclasses.replace(f, type=returns, options=MappingProxyType({"scale": scale, "precision": 38}))
    if f.type == "rollup":
        if f.options.get("function") == "count":
            return dataclasses.replace(f, type="integer", options=MappingProxyType({}))
        child = rt().metadata.objects.get(f.options.get("object"))
        target = child.fields.get(f.options.get("field")) if child else None
        if target is not None:
            base = display_def(target)
            return dataclasses.replace(base, name=f.name, label=f.label, help=f.help)
        return dataclasses.replace(f, type="number", options=MappingProxyType({"scale": 2}))
    return f


def name_field(obj: ObjectDef) -> str | None:
    if obj.name_field and obj.name_field in obj.fields:
        return obj.name_field
    for f in obj.fields.values():
        if f.type == "autonumber":
            return f.name
    for f in obj.fields.values():
        if f.type == "text":
            return f.name
    return None


def readable_name_field(obj: ObjectDef) -> str | None:
    nf = name_field(obj)
    return nf if nf and access().can(obj.name, "read") and access().can_read_field(obj.name, nf) else None


def can_read_path(obj: ObjectDef, path: str) -> bool:
    return resolve(obj, path) is not None and access().readable_path(obj.name, tuple(path.split(".")))


def record_title(obj: ObjectDef, record: dict) -> str:
    nf = name_field(obj)
    value = record.get(nf) if nf else None
    return str(value) if value not in (None, "") else f"{obj.label} {str(record.get('id', ''))[:8]}"


# -- columns -------------------------------------------------------------------------------------
@dataclass
class Column:
    path: str
    label: str
    field: FieldDef            # the display field (formula/roll-up resolved)
    link_id: str | None        # path of the id to link to ("id": this record)
    link_object: str | None
    sortable: bool
    lookup_text: str | None = None   # for a plain lookup column: the path of the target's name
    nowrap: bool = False
    currency_path: str | None = None  # an amount of a multi-currency object: the path of its currency

    @property
    def query_paths(self) -> list[str]:
        paths = [self.path]
        if self.lookup_text:
            paths.append(self.lookup_text)
        if self.link_id and self.link_id != "id":
            paths.append(self.link_id)
        if self.currency_path:
            paths.append(self.currency_path)
        return paths


def column(obj: ObjectDef, path: str) -> Column | None:
    """A column for `path`, or None if it does not resolve or the actor may not read it."""
    if not can_read_path(obj, path):
        return None
    owner_obj, f = resolve(obj, path)
    parts = path.split(".")
    shown = display_def(f)
    link_id = link_object = lookup_text = None
    label = f.label
    if len(parts) == 1 and f.name == name_field(obj):
        link_id, link_object = "id", obj.name
    elif f.type in RELATION_TYPES and f.target in rt().metadata.objects:
        target = rt().metadata.objects[f.target]
        tname = name_field(target)
        if tname and can_read_path(obj, f"{path}.{tname}"):
            lookup_text = f"{path}.{tname}"
        link_id, link_object = path, target.name
    if len(parts) > 1:
        prev = resolve(obj, ".".join(parts[:-1]))
        prev_label = prev[1].label if prev else parts[-2].title()
        if f.name == name_field(owner_obj):
            label = prev_label
            link_id, link_object = ".".join(parts[:-1]), owner_obj.name
            if not can_read_path(obj, link_id):
                link_id = link_object = None
        else:
            label = f"{prev_label} {f.label}"
    currency_path = None
    if shown.type == "currency" and owner_obj.multi_currency:
        currency_path = ".".join([*parts[:-1], CURRENCY_FIELD])
        currency_path = currency_path if can_read_path(obj, currency_path) else None
    return Column(path=path, label=label, field=shown, link_id=link_id, link_object=link_object,
                  sortable=shown.type not in UNSORTABLE and f.type not in RELATION_TYPES | {"id"} and not f.encrypted,
                  lookup_text=lookup_text, currency_path=currency_path,
                  nowrap=shown.type in {"date", "datetime", "currency", "number", "percent", "integer"})


def columns(obj: ObjectDef, paths) -> list[Column]:
    out, seen = [], set()
    for p in paths or ():
        if p in seen:
            continue
        seen.add(p)
        c = column(obj, p)
        if c is not None:
            out.append(c)
    return out


def query_fields(cols: list[Column]) -> list[str]:
    out = []
    for c in cols:
        for p in c.query_paths:
            if p not in out:
                out.append(p)
    return out


def default_columns(obj: ObjectDef, limit: int = 6) -> list[str]:
    """"All <plural>" when metadata has no list view: the name, then short readable fields."""
    acc = access()
    paths = []
    nf = name_field(obj)
    if nf:
        paths.append(nf)
    for f in obj.fields.values():
        if len(paths) >= limit:
            break
        if f.name == nf or f.type in LIST_HIDDEN or not acc.can_read_field(obj.name, f.name):
            continue
        paths.append(f.name)
    paths.append("owner")
    return paths


def column_choices(obj: ObjectDef) -> list[tuple[str, str]]:
    """Fields a user may add as list columns: readable fields (lookups show the target's name)."""
    out = []
    for name in (*obj.fields, "owner", "created_at", "updated_at", "created_by", "updated_by"):
        f = field_def(obj, name)
        if f is None or f.type in {"json", "rich_text"} or not access().can_read_field(obj.name, name):
            continue
        out.append((name, f.label))
    return out


def picklist_fields(obj: ObjectDef) -> list[FieldDef]:
    return [f for f in obj.fields.values() if f.type == "picklist" and access().can_read_field(obj.name, f.name)]


def picklist_options(f: FieldDef) -> list[tuple[str, str]]:
    out = []
    for v in f.options.get("values", ()):
        if isinstance(v, dict):
            out.append((str(v["value"]), str(v.get("label") or v["value"])))
        else:
            out.append((str(v), str(v)))
    return out


# -- layouts and list views ------------------------------------------------------------------------
def layout_for(obj: ObjectDef) -> dict:
    """The object's layout (the one named after it, else its first), or a generated one."""
    md = rt().metadata
    layouts = md.layouts_for(obj.name)
    chosen = next((l for l in layouts if l.name == obj.name), layouts[0] if layouts else None)
    if chosen is not None:
        sections = [{"label": s.get("label") or "", "columns": int(s.get("columns", 2)),
                     "fields": [f for f in s.get("fields") or () if field_def(obj, f) is not None],
                     "rows": [f for f in s.get("fields") or () if f in obj.rows]}   # grids: ui/forms_rows.py
                    for s in chosen.get("sections") or ()]
        related = [dict(r) for r in chosen.get("related_lists") or ()]
    else:
        main = [f.name for f in obj.fields.values() if f.type not in {"textarea", "rich_text", "json"}]
        long_ = [f.name for f in obj.fields.values() if f.type in {"textarea", "rich_text", "json"}]
        sections = [{"label": f"{obj.label} Information", "columns": 2, "fields": main + ["owner"]}]
        if long_:
            sections.append({"label": "Details", "columns": 1, "fields": long_})
        sections.append({"label": "System Information", "columns": 2,
                         "fields": ["created_by", "created_at", "updated_by", "updated_at"]})
        related = [{"object": child.name, "field": f.name, "label": f.options.get("relationship_label") or child.plural_label}
                   for child in md.objects.values() for f in child.fields.values()
                   if f.is_relation and f.target == obj.name]
    if obj.multi_currency and sections and not any(CURRENCY_FIELD in s["fields"] for s in sections):
        # a layout written before the object became multi-currency: its amounts need their currency
        first = sections[0]["fields"]
        at = first.index(obj.name_field) + 1 if obj.name_field in first else len(first)
        sections[0] = {**sections[0], "fields": [*first[:at], CURRENCY_FIELD, *first[at:]]}
    return {"sections": sections, "related_lists": related}


def list_views_for(obj: ObjectDef) -> list[dict]:
    """The object's list views as dicts; the first is the default (an unfiltered "All ..." view,
    generated when metadata has none)."""
    views = [{"name": v.name, "label": v.get("label") or v.name.replace("_", " ").title(),
              "columns": list(v.get("columns") or []), "filter": v.get("filter"), "sort": list(v.get("sort") or []),
              "tree": bool(v.get("tree"))}
             for v in rt().metadata.list_views_for(obj.name)]
    views.sort(key=lambda v: v["label"].lower())
    unfiltered = [v for v in views if not v["filter"]]
    default = next((v for v in unfiltered if v["name"].startswith("all_")), unfiltered[0] if unfiltered else None)
    if default is None:
        nf = name_field(obj)
        default = {"name": "all", "label": f"All {obj.plural_label}", "columns": default_columns(obj),
                   "filter": None, "sort": [nf] if nf else []}
        views.insert(0, default)
    else:
        views.remove(default)
        views.insert(0, default)
    for v in views:
        if not v["columns"]:
            v["columns"] = default_columns(obj)
    return views
