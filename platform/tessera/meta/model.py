"""The typed metadata model: what one effective metadata version says.

Built from validated source documents (plain dicts) by `tessera.meta.merge`. Immutable: the
Runtime compiles it once per version.
"""
from __future__ import annotations

from dataclasses import dataclass, field as dc_field, replace
from functools import cached_property
from types import MappingProxyType
from typing import Any, Mapping

from .currencies import OrgSettings
from .related import OBJECT_PART
from .fieldtypes import (COMPUTED_TYPES, ENCRYPTABLE_TYPES, RELATION_TYPES, SEARCHABLE_TYPES, SYSTEM_FIELD_EXPR_TYPES,
                         TYPE_DEFAULTS, USER_LINKS,
                         expr_type_of)

_COMMON = ("type", "label", "help", "required", "unique", "external_id", "indexed", "default",
           "default_expression", "read_only", "renamed_from", "track_history")


def default_label(name: str) -> str:
    return name.replace("__", " ").replace("_", " ").strip().title()


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: str
    label: str
    help: str | None = None
    required: bool = False
    unique: bool = False
    external_id: bool = False   # a natural key: unique (blanks allowed), looked up and upserted by
    indexed: bool = False
    default: Any = None
    default_expression: str | None = None
    read_only: bool = False
    renamed_from: str | None = None
    track_history: bool | None = None   # None: as the object says (ObjectDef.history_fields)
    options: Mapping[str, Any] = dc_field(default_factory=dict)  # type-specific properties

    @classmethod
    def from_doc(cls, name: str, doc: Mapping[str, Any]) -> "FieldDef":
        options = dict(TYPE_DEFAULTS.get(doc["type"], {}))
        options.pop("default", None)
        options.update({k: v for k, v in doc.items() if k not in _COMMON})
        default = doc.get("default", TYPE_DEFAULTS.get(doc["type"], {}).get("default"))
        return cls(
            name=name, type=doc["type"], label=doc.get("label") or default_label(name),
            help=doc.get("help"),
            required=bool(doc.get("required", doc["type"] == "master_detail")),
            unique=bool(doc.get("unique", doc["type"] == "autonumber")) or bool(doc.get("external_id")),
            external_id=bool(doc.get("external_id")),
            indexed=bool(doc.get("indexed", doc["type"] in RELATION_TYPES)),
            default=default, default_expression=doc.get("default_expression"),
            read_only=bool(doc.get("read_only", doc["type"] in COMPUTED_TYPES or doc["type"] == "autonumber")),
            renamed_from=doc.get("renamed_from"), track_history=doc.get("track_history"),
            options=MappingProxyType(options),
        )

    @property
    def stored(self) -> bool:
        return self.type not in COMPUTED_TYPES

    @property
    def is_relation(self) -> bool:
        return self.type in RELATION_TYPES

    @property
    def encrypted(self) -> bool:
        """Stored encrypted at rest (tessera/encryption): `encrypted: true` on a text-like field."""
        return bool(self.options.get("encrypted")) and self.type in ENCRYPTABLE_TYPES

    @property
    def encryption_mode(self) -> str | None:
        """randomized (the default) or deterministic; None when not encrypted."""
        return self.options.get("encryption") or "randomized" if self.encrypted else None

    @property
    def target(self) -> str | None:
        return self.options.get("to") if self.is_relation else None

    @property
    def is_hierarchy(self) -> bool:
        """A self-lookup declared `hierarchy: true`: the record's parent in a tree (see records.hierarchy)."""
        return self.type == "lookup" and bool(self.options.get("hierarchy"))

    @property
    def picklist_values(self) -> list[str]:
        return [v["value"] if isinstance(v, dict) else v for v in self.options.get("values", ())]


@dataclass(frozen=True)
class RowsDef:
    """A `rows` field: child records edited as rows of this record (records/rows.py). Kept apart
    from the stored and computed fields (`ObjectDef.rows`): it has no column and no expression type,
    so everything that walks an object's fields is unaffected by it."""
    name: str
    label: str
    object: str                        # the child object
    relationship: str | None = None    # the child's master_detail field to this object (see link_rows)
    help: str | None = None
    max_rows: int = 1000


@dataclass(frozen=True)
class ValidationRule:
    name: str
    condition: str
    message: str
    field: str | None = None


@dataclass(frozen=True)
class ObjectDef:
    name: str
    label: str
    plural_label: str
    fields: Mapping[str, FieldDef]
    validation_rules: tuple[ValidationRule, ...] = ()
    description: str | None = None
    name_field: str | None = None
    track_history: bool = False
    package: str | None = None        # owning package; None for the org's own objects
    source: str = ""                  # the file it came from, for error messages
    sharing_model: str = "private"    # private | read | read_write | controlled_by_parent
    hierarchy_access: bool = True     # managers reach what their subordinates own
    multi_currency: bool = False      # records carry a currency_code (meta/currencies.py)
    conversion_date: str | None = None   # the date field whose day's rates convert its amounts
    attachments: bool = True          # records take attached files (tessera/files): off for platform objects
    activities: bool = False          # tasks, events, calls and notes may relate to its records (a timeline)
    rows: Mapping[str, RowsDef] = dc_field(default_factory=dict)   # rows fields (not in `fields`)
    # on a child object: its master_detail fields through which a parent edits it as rows; the
    # object then has a `position` column (storage/tables.py). Set by link_rows.
    row_links: tuple[str, ...] = ()
    # the master_detail fields of which exactly one is set per record (when there are several):
    # the storage CHECK constraint's columns, kept as state so the change pipeline can move the
    # constraint on its own step (changes/rows_steps.py)
    one_parent: tuple[str, ...] = ()
    renamed_from: str | None = None   # its previous name: the pipeline renames the table (changes/rename_object.py)

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any], *, package: str | None, source: str) -> "ObjectDef":
        docs = doc.get("fields") or {}
        fields = {n: FieldDef.from_doc(n, f) for n, f in docs.items() if f.get("type") != "rows"}
        rows = {n: RowsDef(n, f.get("label") or default_label(n), f["object"], f.get("relationship"),
                           f.get("help"), int(f.get("max_rows", 1000)))
                for n, f in docs.items() if f.get("type") == "rows"}
        parents = [n for n, f in fields.items() if f.type == "master_detail"]
        if len(parents) > 1:   # a child of one of several parents: exactly one is set (records/rows.py)
            fields.update({n: replace(fields[n], required=False) for n in parents})
        rules = tuple(ValidationRule(r["name"], r["condition"], r["message"], r.get("field"))
                      for r in doc.get("validation_rules") or ())
        name_field = doc.get("name_field") or ("name" if "name" in fields else None)
        label = doc.get("label") or default_label(doc["name"])
        return cls(name=doc["name"], label=label, plural_label=doc.get("plural_label") or label + "s",
                   fields=MappingProxyType(fields), validation_rules=rules,
                   description=doc.get("description"), name_field=name_field,
                   track_history=bool(doc.get("track_history", False)), package=package, source=source,
                   sharing_model=doc.get("sharing_model", "private"),
                   hierarchy_access=bool(doc.get("hierarchy_access", True)),
                   multi_currency=bool(doc.get("multi_currency", False)), rows=MappingProxyType(rows),
                   conversion_date=doc.get("conversion_date"),
                   attachments=bool(doc.get("attachments", True)),
                   activities=bool(doc.get("activities", False)),
                   one_parent=tuple(parents) if len(parents) > 1 else (), renamed_from=doc.get("renamed_from"))

    @property
    def table_name(self) -> str:
        return f"obj_{self.name}"

    @property
    def stored_fields(self) -> list[FieldDef]:
        return [f for f in self.fields.values() if f.stored]

    @property
    def parent_fields(self) -> tuple[str, ...]:
        """The master_detail fields: with several, exactly one is set per record."""
        return tuple(n for n, f in self.fields.items() if f.type == "master_detail")

    @property
    def hierarchy_field(self) -> FieldDef | None:
        """The object's hierarchy (at most one: see meta.validate)."""
        return next((f for f in self.fields.values() if f.is_hierarchy), None)

    @property
    def natural_keys(self) -> tuple[str, ...]:
        """The fields a lookup may name a record by: external ids, and the name field when unique
        (an autonumber name field is)."""
        keys = [f.name for f in self.fields.values() if f.external_id]
        named = self.fields.get(self.name_field) if self.name_field else None
        if named is not None and named.unique and named.stored and named.name not in keys:
            keys.append(named.name)
        return tuple(keys)

    @property
    def searchable_fields(self) -> tuple[str, ...]:
        """The fields global search indexes (tessera/search): the name field, when stored text,
        then every field marked `searchable`, in field order."""
        names = [f.name for f in self.fields.values() if f.type in SEARCHABLE_TYPES
                 and (f.name == self.name_field or f.options.get("searchable"))]
        if self.name_field in names:
            names.remove(self.name_field)
            names.insert(0, self.name_field)
        return tuple(names)

    @property
    def history_fields(self) -> tuple[str, ...]:
        """The fields whose changes are recorded (Salesforce's field history): a field's own
        `track_history`, else the object's; computed fields and autonumbers never change by a write.
        The owner is tracked with the object (a system field has no metadata of its own)."""
        names = [f.name for f in self.stored_fields if f.type != "autonumber"
                 and (f.track_history if f.track_history is not None else self.track_history)]
        return (("owner",) if self.track_history else ()) + tuple(names)


@dataclass(frozen=True)
class Component:
    """A layout, list view or app: kept as its validated document (the UI interprets it)."""
    kind: str
    name: str
    doc: Mapping[str, Any]
    package: str | None = None
    source: str = ""

    def __getitem__(self, key):
        return self.doc[key]

    def get(self, key, default=None):
        return self.doc.get(key, default)


@dataclass(frozen=True)
class Metadata:
    """The effective metadata of an org: packages merged in dependency order plus the org layer."""
    objects: Mapping[str, ObjectDef]
    layouts: Mapping[str, Component] = dc_field(default_factory=dict)
    list_views: Mapping[str, Component] = dc_field(default_factory=dict)
    apps: Mapping[str, Component] = dc_field(default_factory=dict)
    profiles: Mapping[str, Component] = dc_field(default_factory=dict)
    permission_sets: Mapping[str, Component] = dc_field(default_factory=dict)
    permission_set_groups: Mapping[str, Component] = dc_field(default_factory=dict)
    roles: Mapping[str, Component] = dc_field(default_factory=dict)
    sharing_rules: Mapping[str, Component] = dc_field(default_factory=dict)
    workflows: Mapping[str, Component] = dc_field(default_factory=dict)
    email_templates: Mapping[str, Component] = dc_field(default_factory=dict)
    approval_processes: Mapping[str, Component] = dc_field(default_factory=dict)
    settings: Mapping[str, Component] = dc_field(default_factory=dict)   # at most "org" (settings/org.yaml)
    reports: Mapping[str, Component] = dc_field(default_factory=dict)
    dashboards: Mapping[str, Component] = dc_field(default_factory=dict)
    duplicate_rules: Mapping[str, Component] = dc_field(default_factory=dict)   # meta/duplicate_rules.py
    conversions: Mapping[str, Component] = dc_field(default_factory=dict)       # meta/conversions.py
    # what installed packages no longer ship but the database keeps (meta/deprecation.py): never
    # part of `objects`, so nothing people or programs use sees them; the change pipeline plans
    # against `storage_objects`, so their tables and columns stay until purged
    deprecated_objects: Mapping[str, ObjectDef] = dc_field(default_factory=dict)
    deprecated_fields: Mapping[str, Mapping[str, FieldDef]] = dc_field(default_factory=dict)

    @cached_property
    def storage_objects(self) -> Mapping[str, ObjectDef]:
        """Every object table the database keeps, with every column: the live objects with their
        deprecated fields (last), then the deprecated objects."""
        live = {name: replace(obj, fields=MappingProxyType({**obj.fields, **self.deprecated_fields[name]}))
                if self.deprecated_fields.get(name) else obj
                for name, obj in self.objects.items()}
        return MappingProxyType({**live, **self.deprecated_objects})

    @cached_property
    def org_settings(self) -> OrgSettings:
        comp = self.settings.get("org")
        return OrgSettings.from_doc(comp.doc if comp is not None else {})

    def field_expr_type(self, obj: ObjectDef, name: str) -> str | None:
        if name in SYSTEM_FIELD_EXPR_TYPES:
            return SYSTEM_FIELD_EXPR_TYPES[name]
        f = obj.fields.get(name)
        if f is None:
            return None
        if f.type == "rollup" and f.options["function"] != "count":
            child = self.objects.get(f.options["object"])
            target = child.fields.get(f.options.get("field", "")) if child else None
            return expr_type_of(target) if target else None
        return expr_type_of(f)

    def resolve_path(self, obj: ObjectDef, path: tuple[str, ...]) -> list[tuple[ObjectDef, str]] | None:
        """Walk a dotted path through lookups: [(object, field name), ...], or None if it breaks."""
        steps, current = [], obj
        for i, name in enumerate(path):
            if current is None or (name not in current.fields and name not in SYSTEM_FIELD_EXPR_TYPES):
                return None
            steps.append((current, name))
            if i < len(path) - 1:
                f = current.fields.get(name)
                if f is not None and f.type == "related_to" and i == len(path) - 2 and path[-1] == OBJECT_PART:
                    return steps   # `related_to.object`: a part of the field itself (see path_expr_type)
                target = f.target if f else ("user" if name in USER_LINKS else None)
                current = self.objects.get(target) if target else None
        return steps

    def path_expr_type(self, obj: ObjectDef, path: tuple[str, ...]) -> str | None:
        steps = self.resolve_path(obj, path)
        if not steps:
            return None
        last_obj, last_field = steps[-1]
        if len(steps) < len(path):   # `related_to.object`: the referenced record's object name
            return "text"
        return self.field_expr_type(last_obj, last_field)

    def master_of(self, obj: ObjectDef) -> FieldDef | None:
        """The master-detail field a controlled_by_parent object inherits access through (the
        first; with several, see masters_of)."""
        return next((f for f in obj.fields.values() if f.type == "master_detail"), None)

    def masters_of(self, obj: ObjectDef) -> list[FieldDef]:
        """Every master-detail field: a record belongs to the parent its set one points to."""
        return [f for f in obj.fields.values() if f.type == "master_detail"]

    def layouts_for(self, object_name: str) -> list[Component]:
        return [c for c in self.layouts.values() if c["object"] == object_name]

    def list_views_for(self, object_name: str) -> list[Component]:
        return [c for c in self.list_views.values() if c["object"] == object_name]


def link_rows(objects: dict[str, ObjectDef]) -> dict[str, ObjectDef]:
    """Resolve each rows field's relationship (the child's only master_detail field to the parent,
    unless it names one) and tell each child object which of its master_detail fields carry rows.
    What cannot be resolved is left for the semantic check (meta/validate_rows.py) to report."""
    out = dict(objects)
    links: dict[str, list[str]] = {}
    for parent in objects.values():
        resolved = {}
        for rd in parent.rows.values():
            child = objects.get(rd.object)
            rel = rd.relationship
            if child is not None and rel is None:
                candidates = [f.name for f in child.fields.values()
                              if f.type == "master_detail" and f.target == parent.name]
                rel = candidates[0] if len(candidates) == 1 else None
            field = child.fields.get(rel) if child is not None and rel else None
            ok = field is not None and field.type == "master_detail" and field.target == parent.name
            resolved[rd.name] = replace(rd, relationship=rel if ok else rd.relationship)
            if ok and rel not in links.setdefault(child.name, []):
                links[child.name].append(rel)
        if resolved:
            out[parent.name] = replace(out[parent.name], rows=MappingProxyType(resolved))
    for name, fields in links.items():
        ordered = tuple(n for n in out[name].fields if n in fields)
        out[name] = replace(out[name], row_links=ordered)
    return out
