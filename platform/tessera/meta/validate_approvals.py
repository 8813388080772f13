"""Semantic checks on approval processes (approval_processes/<name>.yaml): what JSON Schema cannot
see alone. Every error names the process's file and the path inside it.

The object exists; the entry conditions (the process's and each step's) type-check as booleans on
it; each approver entry carries only the property its type takes; a role approver names a role of
the metadata; a field approver is a user lookup of the record (owner, or a path ending at one);
the final actions (on_approve, on_reject, on_recall) pass the checks of after-save workflow actions
— fields settable, values of the right type, email templates of the object — and never submit for
approval again.

Users, queues and groups are records, not metadata: the change pipeline checks that the ones a
change names exist (automation/approval_guard.py), like a data check of any other step.
"""
from __future__ import annotations

from .errors import MetaError
from .fieldtypes import USER_LINKS
from .model import Metadata, ObjectDef
from .validate_workflows import _check_actions, _compile

APPROVER_PROPERTY = {"user": "user", "manager": None, "queue": "queue", "group": "group", "role": "role",
                     "field": "field"}
ACTION_LISTS = ("on_approve", "on_reject", "on_recall")


def check_approval_processes(md: Metadata) -> list[MetaError]:
    errors: list[MetaError] = []
    for comp in md.approval_processes.values():
        errors += _check_process(md, comp)
    return errors


def user_lookup_problem(md: Metadata, obj: ObjectDef, path: str) -> str | None:
    """Why `path` is not a user lookup of `obj` (None when it is)."""
    steps = md.resolve_path(obj, tuple(path.split(".")))
    if not steps:
        return f"'{obj.name}' has no field or path '{path}'"
    last_obj, name = steps[-1]
    f = last_obj.fields.get(name)
    target = f.target if f is not None and f.is_relation else ("user" if f is None and name in USER_LINKS else None)
    if target != "user":
        return f"'{path}' is not a lookup to a user (approvers are users: e.g. owner or account.owner)"
    return None


def _check_process(md: Metadata, comp) -> list[MetaError]:
    src = comp.source
    obj = md.objects.get(comp["object"])
    if obj is None:
        return [MetaError(src, "object", f"there is no object '{comp['object']}'")]
    errors: list[MetaError] = []
    if comp.get("entry_condition"):
        _compile(md, obj, comp["entry_condition"], "boolean", src, "entry_condition", errors, context="read")
    for i, step in enumerate(comp["steps"]):
        at = f"steps.{i}"
        if step.get("entry_condition"):
            _compile(md, obj, step["entry_condition"], "boolean", src, f"{at}.entry_condition", errors, context="read")
        for k, approver in enumerate(step["approvers"]):
            errors += _approver_problems(md, obj, approver, f"{at}.approvers.{k}", src)
    for key in ACTION_LISTS:
        actions = comp.get(key)
        if not actions:
            continue
        nested = _resubmissions(actions, key)
        errors += [MetaError(src, where, "an approval's final actions cannot submit the record for approval again")
                   for where in nested]
        if not nested:
            _check_actions(md, obj, actions, key, src, False, False, errors)
    return errors


def _approver_problems(md, obj, approver, at, src) -> list[MetaError]:
    kind = approver["type"]
    wanted = APPROVER_PROPERTY[kind]
    extra = sorted(set(approver) - {"type", *([wanted] if wanted else [])})
    if extra:
        takes = f"they take '{wanted}'" if wanted else "they take nothing else"
        return [MetaError(src, f"{at}.{key}", f"'{key}' does not apply to {kind} approvers ({takes})") for key in extra]
    if kind == "role" and approver["role"] not in md.roles:
        return [MetaError(src, f"{at}.role", f"there is no role '{approver['role']}'")]
    if kind == "field":
        problem = user_lookup_problem(md, obj, approver["field"])
        if problem:
            return [MetaError(src, f"{at}.field", problem)]
    if kind in ("user", "queue", "group") and approver[wanted] != approver[wanted].strip():
        return [MetaError(src, f"{at}.{wanted}", "must not start or end with spaces")]
    return []


def _resubmissions(actions, where) -> list[str]:
    found = []
    for i, action in enumerate(actions):
        at = f"{where}.{i}"
        if action.get("type") == "submit_for_approval":
            found.append(f"{at}.type")
        for branch in ("then", "else"):
            found += _resubmissions(action.get(branch) or (), f"{at}.{branch}")
    return found
