"""The autodetector: compare two effective metadata versions and produce a Plan of operations.

Order (like Django's autodetector, so every step finds what it needs): create objects (referenced
objects first), rename fields, add fields, alter fields, drop fields, drop objects, rebuild search
indexes whose searchable set changed (changes/search_steps.py), build the keys of duplicate
rules (changes/dedupe_steps.py), then the
metadata-only steps (labels, formulas, layouts, list views, apps, and the security components:
profiles, permission sets and their groups, roles, sharing rules — they change no data, but who
may see what is exactly what an admin must see in a plan and what the audit log must name).
"""
from __future__ import annotations

from dataclasses import dataclass, field as dc_field, replace

from ..meta.errors import MetadataInvalid
from ..meta.merge import dependency_order
from ..meta.model import FieldDef, Metadata, ObjectDef
from ..meta.source import COMPONENT_KINDS
from .hierarchy_check import MakeHierarchy
from .geo_retype import AlterGeolocation, is_geolocation_change
from .rows_steps import OneParentCheck, RowPositions
from .search_steps import search_steps
from .dedupe_steps import dedupe_steps
from .deprecation_steps import deprecation_steps
from .alter_field import AlterField
from .encryption_steps import EncryptField, with_encryption_of
from .rename_object import RenameObject, object_mapping
from .related_ops import is_related_change
from .operations import (DESTRUCTIVE, SAFE, SAFETY_ORDER, AddField, ChangeField, ChangeObject,
                         ComponentChange, CreateObject, DropField, DropObject, Operation, PackageChange, RenameField)


@dataclass
class Plan:
    operations: list[Operation] = dc_field(default_factory=list)

    def __iter__(self):
        return iter(self.operations)

    def __len__(self) -> int:
        return len(self.operations)

    def __bool__(self) -> bool:
        return bool(self.operations)

    @property
    def safety(self) -> str:
        return max((op.safety for op in self.operations), key=SAFETY_ORDER.__getitem__, default=SAFE)

    @property
    def destructive(self) -> list[Operation]:
        return [op for op in self.operations if op.safety == DESTRUCTIVE]

    def lines(self) -> list[str]:
        return [f"[{op.safety}]".ljust(16) + op.describe() for op in self.operations]

    def __str__(self) -> str:
        return "\n".join(self.lines()) if self.operations else "no changes"


SECURITY_KINDS = {"profiles": "profile", "permission_sets": "permission_set",
                  "permission_set_groups": "permission_set_group", "roles": "role", "sharing_rules": "sharing_rule"}

_STORAGE_KEYS = {"type", "max_length", "precision", "scale", "required", "unique", "indexed", "to", "on_delete",
                 "restricted"}
_OBJECT_KEYS = ("label", "plural_label", "description", "name_field", "track_history", "validation_rules", "package",
                "rows", "activities")


def _field_props(f: FieldDef) -> dict:
    return {"type": f.type, "label": f.label, "help": f.help, "required": f.required, "unique": f.unique,
            "external_id": f.external_id,
            "indexed": f.indexed, "default": f.default, "default_expression": f.default_expression,
            "read_only": f.read_only, "track_history": f.track_history, **dict(f.options)}


def _changed_keys(a: dict, b: dict) -> list[str]:
    return [k for k in dict.fromkeys([*a, *b]) if a.get(k) != b.get(k)]


def plan(old: Metadata | None, new: Metadata) -> Plan:
    # storage: deprecated objects and fields keep their tables and columns (meta/deprecation.py),
    # so deprecating one plans no drop and purging one plans exactly the drop
    old_objects = dict(old.storage_objects) if old else {}
    new_objects = new.storage_objects
    creates, renames, adds, alters, drops, drop_objects, meta = [], [], [], [], [], [], []

    object_map = object_mapping(old_objects, new_objects)   # new name -> old name
    for name in _creation_order(new_objects, [n for n in new_objects if n not in object_map]):
        creates.append(CreateObject(new_objects[name]))

    for name, nobj in new_objects.items():
        if name not in object_map:
            continue
        oobj = old_objects[object_map[name]]
        if oobj.name != name:   # its table is renamed first; then it is compared as the same object
            renames.append(RenameObject(oobj, name))
            oobj = replace(oobj, name=name, renamed_from=nobj.renamed_from)
        mapping = _field_mapping(oobj, nobj)   # new field name -> old field name
        for fname, f in nobj.fields.items():
            if fname not in mapping:
                adds.append(AddField(nobj, f))
                continue
            of = oobj.fields[mapping[fname]]
            if of.stored != f.stored or is_related_change(of, f):
                # stored <-> formula/rollup: the column goes or comes; into or out of related_to:
                # nothing converts (changes/related_ops.py)
                drops.append(DropField(oobj, of))
                adds.append(AddField(nobj, f))
                continue
            if of.name != fname:
                renames.append(RenameField(name, of, fname))
            renamed = replace(of, name=fname, renamed_from=f.renamed_from)
            keys = _changed_keys(_field_props(renamed), _field_props(f))
            storage = [k for k in keys if k in _STORAGE_KEYS] if f.stored else []
            if f.type == "related_to":   # its targets and on_delete are the record service's: no DDL
                storage = [k for k in storage if k not in ("to", "on_delete", "indexed")]
            if f.stored and "values" in keys and f.type == of.type and f.options.get("restricted", True):
                if set(of.picklist_values) - set(f.picklist_values):
                    storage.append("values")
            encryption = f.stored and renamed.encryption_mode != f.encryption_mode
            # the other properties change first, as encrypted as before; then the values convert
            altered = with_encryption_of(f, renamed) if encryption else f
            if storage and is_geolocation_change(renamed, f):   # two columns (changes/geo_retype.py)
                alters.append(AlterGeolocation(name, renamed, f, column=of.name))
            elif storage:
                alters.append(AlterField(name, renamed, altered, column=of.name))
            if encryption:
                alters.append(EncryptField(name, altered, f, column=of.name))
                keys = [k for k in keys if k not in ("encrypted", "encryption")]
            if f.is_hierarchy and not of.is_hierarchy and f.target == name and of.is_relation:
                alters.append(MakeHierarchy(name, fname, of.name, nobj.name_field))
            rest = [k for k in keys if k not in storage]
            if rest:
                meta.append(ChangeField(name, fname, rest))
        used = set(mapping.values())
        for oname, of in oobj.fields.items():
            if oname not in used:
                drops.append(DropField(oobj, of))
        if oobj.row_links != nobj.row_links:
            alters.append(RowPositions(name, oobj.row_links, nobj.row_links))
        if oobj.one_parent != nobj.one_parent:
            alters.append(OneParentCheck(name, oobj.one_parent, nobj.one_parent))
        keys = [k for k in _OBJECT_KEYS if getattr(oobj, k) != getattr(nobj, k)]
        if [mapping.get(n, n) for n in nobj.fields if n in mapping] != [n for n in oobj.fields if n in used]:
            keys.append("field order")
        if keys:
            meta.append(ChangeObject(name, keys))

    for name, oobj in old_objects.items():
        if name not in object_map.values():
            drop_objects.append(DropObject(oobj))
    meta += deprecation_steps(old, new)

    for attr, kind in COMPONENT_KINDS.items():
        before = getattr(old, attr) if old else {}
        after = getattr(new, attr)
        for cname, comp in after.items():
            if cname not in before:
                meta.append(ComponentChange("add", kind, cname))
            elif dict(before[cname].doc) != dict(comp.doc) or before[cname].package != comp.package:
                meta.append(ComponentChange("change", kind, cname))
        for cname in before:
            if cname not in after:
                meta.append(ComponentChange("remove", kind, cname))

    return Plan(creates + renames + adds + alters + drops + drop_objects + search_steps(old, new)
                + dedupe_steps(old, new) + meta)


def _field_mapping(oobj: ObjectDef, nobj: ObjectDef) -> dict[str, str]:
    """New field name -> old field name: same name, `renamed_from`, or a rename being undone
    (the old field says `renamed_from: X`, the new metadata has X again: a rollback)."""
    mapping = {n: n for n in nobj.fields if n in oobj.fields}
    for n, f in nobj.fields.items():
        if n not in mapping and f.renamed_from and f.renamed_from in oobj.fields \
                and f.renamed_from not in nobj.fields and f.renamed_from not in mapping.values():
            mapping[n] = f.renamed_from
    for o, of in oobj.fields.items():
        back = of.renamed_from
        if back and back in nobj.fields and back not in mapping and o not in nobj.fields \
                and o not in mapping.values():
            mapping[back] = o
    return mapping


def _creation_order(objects, names: list[str]) -> list[str]:
    """Referenced objects first (lookups, and `user` for the owner column); cycles broken by
    name order — on PostgreSQL their foreign keys are added after the tables
    (operations.add_pending_foreign_keys)."""
    todo = set(names)
    order, state = [], {}

    def visit(name):
        if state.get(name):
            return
        state[name] = "visiting"
        obj = objects[name]
        deps = {f.target for f in obj.stored_fields if f.is_relation} | {"user"}
        for dep in sorted(deps):
            if dep in todo and dep != name and state.get(dep) != "visiting":
                visit(dep)
        state[name] = "done"
        order.append(name)

    for name in sorted(todo):
        visit(name)
    return order


def package_steps(old_snapshot: dict | None, new_snapshot: dict) -> list[Operation]:
    def versions(snapshot):
        return {p["manifest"]["name"]: str(p["manifest"]["version"]) for p in (snapshot or {}).get("packages") or []}

    before, after = versions(old_snapshot), versions(new_snapshot)
    steps = []
    try:   # dependencies first, as they are merged (the plan reads in the order things happen)
        order = [p["manifest"]["name"] for p in dependency_order(new_snapshot.get("packages") or [])]
    except MetadataInvalid:
        order = sorted(after)
    for name in order:
        if name not in before:
            steps.append(PackageChange("install", name, None, after[name]))
        elif before[name] != after[name]:
            steps.append(PackageChange("upgrade", name, before[name], after[name]))
    for name in sorted(before):
        if name not in after:
            steps.append(PackageChange("remove", name, before[name], None))
    return steps
