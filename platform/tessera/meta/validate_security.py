"""Semantic checks on security metadata: profiles, permission sets and their groups, roles,
sharing rules, and the objects' sharing settings.

JSON Schema has already checked each document's shape (metadata/README.md, "Security metadata");
these checks need the whole picture: every name a component mentions must exist in the effective
metadata, the role hierarchy must be a tree, and sharing-rule criteria must be something the
sharing engine can compile against the object's bare table. Every error names the component's file
and the path inside it, like the rest of `tessera.meta.validate`.

Groups (`{group: name}` in sharing rules) are records of the core `group` object, i.e. data: they
are not checked here.
"""
from __future__ import annotations

from ..expr import ExprError, compile_expression
from .errors import MetaError
from .fieldtypes import COMPUTED_TYPES, SYSTEM_FIELDS
from .model import Component, Metadata

_BLANKET = ("view_all_data", "modify_all_data")   # system permissions that reach every object


def check_security(md: Metadata) -> list[MetaError]:
    from .validate import resolver  # validate imports this module: resolve at call time

    errors: list[MetaError] = []
    for obj in md.objects.values():
        if obj.sharing_model == "controlled_by_parent" and md.master_of(obj) is None:
            errors.append(MetaError(obj.source, "sharing_model",
                                    f"'{obj.name}' has no master_detail field: only a master-detail child "
                                    "can be controlled_by_parent"))
    for comp in md.profiles.values():
        errors += _check_rights(md, comp)
    for comp in md.permission_sets.values():
        errors += _check_rights(md, comp)
    for comp in md.permission_set_groups.values():
        for i, name in enumerate(comp.get("permission_sets") or ()):
            if name not in md.permission_sets:
                errors.append(MetaError(comp.source, f"permission_sets.{i}", f"there is no permission set '{name}'"))
    errors += _check_roles(md)
    for comp in md.sharing_rules.values():
        errors += _check_sharing_rule(md, comp, resolver)
    return errors


# --------------------------------------------------------------------------- profiles, permission sets

def _check_rights(md: Metadata, comp: Component) -> list[MetaError]:
    errors: list[MetaError] = []
    objects = comp.get("objects") or {}
    for name in objects:
        if name not in md.objects:
            errors.append(MetaError(comp.source, f"objects.{name}", f"there is no object '{name}'"))
    blanket = any(p in _BLANKET for p in comp.get("system_permissions") or ())
    for obj_name, fields in (comp.get("fields") or {}).items():
        obj = md.objects.get(obj_name)
        if obj is None:
            errors.append(MetaError(comp.source, f"fields.{obj_name}", f"there is no object '{obj_name}'"))
            continue
        if not objects.get(obj_name) and not blanket:
            # Field rights only narrow (or widen) the rights a container has on the object itself.
            errors.append(MetaError(comp.source, f"fields.{obj_name}",
                                    f"has no effect: this {comp.kind.replace('_', ' ')} grants nothing on "
                                    f"'{obj_name}' (list it under objects)"))
        for field_name, actions in (fields or {}).items():
            at = f"fields.{obj_name}.{field_name}"
            field = obj.fields.get(field_name)
            if field is None:
                errors.append(MetaError(comp.source, at, f"'{obj_name}' has no field '{field_name}'"))
            elif "edit" in (actions or ()) and (field.type in COMPUTED_TYPES or field.type == "autonumber"):
                errors.append(MetaError(comp.source, at,
                                        f"'{obj_name}.{field_name}' is a {field.type} field: it can only be read"))
    return errors


# --------------------------------------------------------------------------- roles

def _check_roles(md: Metadata) -> list[MetaError]:
    errors: list[MetaError] = []
    for comp in md.roles.values():
        parent = comp.get("parent")
        if parent is None:
            continue
        if parent == comp.name:
            errors.append(MetaError(comp.source, "parent", f"role '{comp.name}' cannot be its own parent"))
        elif parent not in md.roles:
            errors.append(MetaError(comp.source, "parent", f"there is no role '{parent}'"))
    # Each role has at most one parent, so walking up from every role finds every cycle.
    done: set[str] = set()
    for start in sorted(md.roles):
        path: list[str] = []
        current = start
        while current in md.roles and current not in done and current not in path:
            path.append(current)
            parent = md.roles[current].get("parent")
            current = None if parent == current else parent   # a self-parent is reported above
        if current in path:
            cycle = path[path.index(current):]
            first = min(cycle)                                  # name the cycle from a stable point
            k = cycle.index(first)
            errors.append(MetaError(md.roles[first].source, "parent",
                                    "role hierarchy cycle: " + " -> ".join(cycle[k:] + cycle[:k] + [first])))
        done.update(path)
    return errors


# --------------------------------------------------------------------------- sharing rules

def _check_sharing_rule(md: Metadata, comp: Component, resolver) -> list[MetaError]:
    errors: list[MetaError] = []
    obj = md.objects.get(comp["object"])
    if obj is None:
        return [MetaError(comp.source, "object", f"there is no object '{comp['object']}'")]
    access = comp.get("access", "read")
    if obj.sharing_model == "controlled_by_parent":
        master = md.master_of(obj)
        parent = f" '{master.target}'" if master else ""
        errors.append(MetaError(comp.source, "object",
                                f"'{obj.name}' is controlled_by_parent: its records follow their master{parent}; "
                                "share the master instead"))
    elif obj.sharing_model == "read_write":
        errors.append(MetaError(comp.source, "object",
                                f"'{obj.name}' is read_write: everyone already reads and edits every record, "
                                "so the rule would share nothing"))
    elif obj.sharing_model == "read" and access == "read":
        errors.append(MetaError(comp.source, "access",
                                f"'{obj.name}' is read: everyone already reads every record, "
                                "so a rule on it must grant read_write"))
    for key in ("owned_by", "share_with"):
        target = comp.get(key) or {}
        role = target.get("role")
        if role is not None and role not in md.roles:
            errors.append(MetaError(comp.source, f"{key}.role", f"there is no role '{role}'"))
    if comp.get("criteria"):
        try:
            compiled = compile_expression(comp["criteria"], resolver(md, obj), expected="boolean")
        except ExprError as exc:
            errors.append(MetaError(comp.source, "criteria", str(exc)))
        else:
            # The sharing engine compiles criteria against the object's bare table (no joins, no
            # computed columns), so only the object's own stored fields can appear.
            for path in sorted(compiled.paths):
                shown = ".".join(path)
                if len(path) > 1:
                    errors.append(MetaError(comp.source, "criteria",
                                            f"'{shown}' goes through a lookup: sharing-rule criteria can use only "
                                            f"the fields of '{obj.name}' itself"))
                elif path[0] not in SYSTEM_FIELDS and not obj.fields[path[0]].stored:
                    errors.append(MetaError(comp.source, "criteria",
                                            f"'{shown}' is a {obj.fields[path[0]].type} field: sharing-rule criteria "
                                            "can use only stored fields"))
    return errors
