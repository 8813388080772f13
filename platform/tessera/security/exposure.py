"""Which visible formula and roll-up fields show values computed from fields a profile or
permission set cannot read.

Field-level security hides a field's value, not what is computed from it: a formula is evaluated
over the record whatever the reader may see (Salesforce behaves the same), so a readable formula
`salary * 12` reveals a hidden `salary`. Setup warns where field access is edited; the references
come from the expression language itself (`Compiled.paths`), never from scanning text.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..expr import ExprError, compile_expression
from ..meta.fieldtypes import COMPUTED_TYPES
from ..meta.model import Metadata
from .policy import container_grants

FieldRef = tuple[str, str]     # (object, field)


@dataclass(frozen=True)
class Exposure:
    field: FieldRef            # the readable formula or roll-up
    kind: str                  # "formula" or "rollup"
    hidden: FieldRef           # a field it reads that the container cannot read
    via: tuple[FieldRef, ...]  # computed fields in between (a formula reading a formula ...)


def _paths(md: Metadata, obj, text: str, expected: str | None = None) -> frozenset:
    try:
        return compile_expression(text, lambda path: md.path_expr_type(obj, tuple(path)), expected=expected).paths
    except ExprError:   # invalid metadata is reported by validation, not here
        return frozenset()


def direct_inputs(md: Metadata, obj_name: str, field_name: str) -> set[FieldRef]:
    """The fields a formula or roll-up reads: every step of every referenced path (a lookup
    followed to another object reads the lookup too), the rolled-up field and the filter's."""
    obj = md.objects[obj_name]
    field = obj.fields[field_name]
    inputs: set[FieldRef] = set()

    def add(owner, paths):
        for path in paths:
            for step_obj, step_field in md.resolve_path(owner, tuple(path)) or ():
                if step_field in step_obj.fields:    # system fields (id, owner...) are always readable
                    inputs.add((step_obj.name, step_field))

    if field.type == "formula":
        add(obj, _paths(md, obj, field.options["expression"]))
    elif field.type == "rollup":
        child = md.objects.get(field.options["object"])
        if child is not None:
            if field.options.get("field") in child.fields:
                inputs.add((child.name, field.options["field"]))
            if field.options.get("filter"):
                add(child, _paths(md, child, field.options["filter"], "boolean"))
    return inputs


def hidden_inputs(md: Metadata, container: dict, *, additive: bool = False) -> list[Exposure]:
    """For one profile or permission set document: each formula/roll-up it may read, paired with
    each field (directly or through other computed fields) it reads that the container may not.

    additive (permission sets): the container only adds to a profile, so an object it grants
    nothing on says nothing about that object's fields; only its field exceptions on objects it
    does grant read hide something. A profile is the base: whatever it does not grant is hidden."""
    grants = container_grants(md, container)

    def readable(ref: FieldRef) -> bool:
        if additive and (ref[0], "read") not in grants:
            return True
        return (f"{ref[0]}.{ref[1]}", "read") in grants

    def visible(ref: FieldRef) -> bool:
        return (f"{ref[0]}.{ref[1]}", "read") in grants

    inputs_cache: dict[FieldRef, set[FieldRef]] = {}

    def inputs(ref: FieldRef) -> set[FieldRef]:
        if ref not in inputs_cache:
            inputs_cache[ref] = direct_inputs(md, *ref)
        return inputs_cache[ref]

    found: list[Exposure] = []
    for obj in sorted(md.objects.values(), key=lambda o: o.name):
        for field in obj.fields.values():
            top = (obj.name, field.name)
            if field.type not in COMPUTED_TYPES or not visible(top):
                continue
            seen, stack = {top}, [(top, ())]
            while stack:                       # every field the value depends on, cycles cut
                ref, via = stack.pop()
                for dep in sorted(inputs(ref)):
                    if dep in seen:
                        continue
                    seen.add(dep)
                    if not readable(dep):
                        found.append(Exposure(top, field.type, dep, via))
                    dep_field = md.objects[dep[0]].fields[dep[1]]
                    if dep_field.type in COMPUTED_TYPES:
                        stack.append((dep, via + (dep,)))
    return sorted(found, key=lambda e: (e.field, e.hidden))
