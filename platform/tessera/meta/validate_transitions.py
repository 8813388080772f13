"""Semantic checks of a picklist's state machine (`transitions`, `initial`): every value named is
one of the picklist's values, every profile and permission set exists, every condition
type-checks as a write-time boolean (PRIORVALUE and ISCHANGED allowed). See records/transitions.py
for what the record service does with them."""
from __future__ import annotations

from ..expr import ExprError, compile_expression
from .errors import MetaError


def _names(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value or ())


def check_transitions(md, obj, field, at: str, resolve) -> list[MetaError]:
    opts = field.options
    if "transitions" not in opts and "initial" not in opts:
        return []
    src = obj.source
    values = set(field.picklist_values)
    errors: list[MetaError] = []

    for i, t in enumerate(opts.get("transitions") or ()):
        here = f"{at}.transitions.{i}"
        for key in ("from", "to"):
            names = _names(t.get(key))
            for j, name in enumerate(names):
                if name not in values:
                    where = f"{here}.{key}.{j}" if not isinstance(t.get(key), str) else f"{here}.{key}"
                    errors.append(MetaError(src, where, f"'{name}' is not one of the values of '{field.name}'"))
        for j, name in enumerate(t.get("profiles") or ()):
            if name not in md.profiles:
                errors.append(MetaError(src, f"{here}.profiles.{j}", f"there is no profile '{name}'"))
        for j, name in enumerate(t.get("permission_sets") or ()):
            if name not in md.permission_sets:
                errors.append(MetaError(src, f"{here}.permission_sets.{j}", f"there is no permission set '{name}'"))
        if t.get("condition"):
            try:
                compile_expression(t["condition"], resolve, context="write", expected="boolean")
            except ExprError as exc:
                errors.append(MetaError(src, f"{here}.condition", str(exc)))
    initial = opts.get("initial") or ()
    for j, name in enumerate(initial):
        if name not in values:
            errors.append(MetaError(src, f"{at}.initial.{j}", f"'{name}' is not one of the values of '{field.name}'"))
    if initial and field.default is not None and field.default in values and field.default not in initial:
        errors.append(MetaError(src, f"{at}.default", f"'{field.default}' is not one of the initial values"))
    return errors
