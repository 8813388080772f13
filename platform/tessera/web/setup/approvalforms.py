"""The approval process editor's form ↔ the process document (approval_processes/<name>.yaml) — no
Flask. Inputs are named after their place in the document, so an error the change pipeline
reports at a metadata path lands on the input of that path:

    name, label, description, object, active, lock_record, entry_condition
    steps.<i>.label / .entry_condition / .decision / .when_no_approver
    steps.<i>.approvers.<k>.type / .value       (value: the username, queue, group, role or field)
    on_approve.<i>… / on_reject.<i>… / on_recall.<i>…   (workflow steps: see workflowforms.py)

The final actions are workflow actions and reuse the workflow builder's form code. Like the
workflow builder, the editor never saves less than it was shown: `unsupported` names what a
stored process holds that the form cannot carry, and such a process is shown read-only.
"""
from __future__ import annotations

from . import workflowforms as wf
from .orgedit import name_problem

DECISIONS = [("first_response", "The first answer decides"), ("unanimous", "Every approver must approve")]
NO_APPROVER = [("refuse", "Refuse the submission"), ("skip", "Skip the step")]
APPROVER_TYPES = [("manager", "The submitter's manager"), ("user", "A user (username)"), ("role", "Users with a role"),
                  ("queue", "Members of a queue"), ("group", "Members of a group"),
                  ("field", "A user field of the record")]
VALUE_MISSING = {"user": "enter the username", "role": "enter the role's API name", "queue": "enter the queue's name",
                 "group": "enter the group's name", "field": "enter a user lookup of the record, e.g. owner.manager"}
VALUE_HINTS = {"user": "jdoe", "role": "sales_manager", "queue": "Sales Managers", "group": "Finance",
               "field": "owner.manager"}
ACTION_LISTS = (("on_approve", "When approved"), ("on_reject", "When rejected"), ("on_recall", "When recalled"))
MAX_STEPS, MAX_APPROVERS = 30, 25
DOC_KEYS = {"name", "label", "description", "object", "active", "entry_condition", "lock_record", "steps",
            "on_approve", "on_reject", "on_recall"}
STEP_KEYS = {"label", "entry_condition", "approvers", "decision", "when_no_approver"}


# --------------------------------------------------------------------------- document → draft

def draft_from_doc(doc: dict) -> dict:
    text = wf._text
    steps = []
    for step in doc.get("steps") or ():
        step = step if isinstance(step, dict) else {}
        steps.append({"label": text(step.get("label")), "entry_condition": text(step.get("entry_condition")),
                      "decision": text(step.get("decision")) or "first_response",
                      "when_no_approver": text(step.get("when_no_approver")) or "refuse",
                      "approvers": [{"type": text(a.get("type")), "value": text(a.get(a.get("type"))) if a.get("type") != "manager" else ""}
                                    for a in (step.get("approvers") or ()) if isinstance(a, dict)]})
    draft = {"name": text(doc.get("name")), "label": text(doc.get("label")), "description": text(doc.get("description")),
             "object": text(doc.get("object")), "active": doc.get("active", True) is not False,
             "lock_record": doc.get("lock_record", True) is not False,
             "entry_condition": text(doc.get("entry_condition")), "steps": steps}
    for key, _label in ACTION_LISTS:
        draft[key] = [wf._draft_action(a) for a in doc.get(key) or ()]
    return draft


def blank_step() -> dict:
    return {"label": "", "entry_condition": "", "decision": "first_response", "when_no_approver": "refuse",
            "approvers": [{"type": "manager", "value": ""}]}


# --------------------------------------------------------------------------- posted form → draft

def draft_from_form(form) -> dict:
    tree = wf.form_tree(form, ("steps", *(key for key, _ in ACTION_LISTS)))
    get = lambda k, d="": wf._clean(form.get(k)) or d   # noqa: E731
    steps = []
    for node in wf._ordered(tree.get("steps"))[:MAX_STEPS]:
        if not isinstance(node, dict):
            continue
        approvers = [{"type": wf._clean(a.get("type")), "value": wf._clean(a.get("value"))}
                     for a in wf._ordered(node.get("approvers"))[:MAX_APPROVERS] if isinstance(a, dict)]
        steps.append({"label": wf._clean(node.get("label")), "entry_condition": wf._clean(node.get("entry_condition")),
                      "decision": wf._clean(node.get("decision")) or "first_response",
                      "when_no_approver": wf._clean(node.get("when_no_approver")) or "refuse",
                      "approvers": approvers})
    draft = {"name": get("name"), "label": get("label"), "description": get("description"), "object": get("object"),
             "active": form.get("active") == "1", "lock_record": form.get("lock_record") == "1",
             "entry_condition": get("entry_condition"), "steps": steps}
    for key, _label in ACTION_LISTS:
        draft[key] = wf._draft_list(tree.get(key), 1)
    return draft


# --------------------------------------------------------------------------- draft → document

def doc_from_draft(draft: dict, md, *, new: bool, stored: dict | None = None) -> tuple[dict, dict[str, list[str]]]:
    """(the process document, {input name: [problems]}); defaults are left out of the document,
    except where `stored` (the document being edited) spells them out: a package's process saved
    unchanged from the form then equals the package's."""
    errors: dict[str, list[str]] = {}
    add = lambda key, msg: errors.setdefault(key, []).append(msg)   # noqa: E731
    if new:
        problem = name_problem(draft["name"], taken=md.approval_processes)
        if problem:
            add("name", problem)
    doc: dict = {"name": draft["name"]}
    for key in ("label", "description"):
        if draft[key]:
            doc[key] = draft[key]
    if draft["object"] not in md.objects:
        add("object", "choose an object")
    doc["object"] = draft["object"]
    if not draft["active"]:
        doc["active"] = False
    if draft["entry_condition"]:
        doc["entry_condition"] = draft["entry_condition"]
    if not draft["lock_record"]:
        doc["lock_record"] = False
    if not draft["steps"]:
        add("steps", "add at least one step")
    doc["steps"] = [_step_doc(step, f"steps.{i}", add) for i, step in enumerate(draft["steps"])]
    for key, _label in ACTION_LISTS:
        if draft[key]:
            doc[key] = wf._actions_doc(draft[key], key, md, draft["object"], False, add)
    if stored:
        _spell_defaults(doc, stored)
    return doc, errors


def _spell_defaults(doc: dict, stored: dict) -> None:
    for key, default in (("active", True), ("lock_record", True)):
        if stored.get(key) is default and key not in doc:
            doc[key] = default
    for step, old in zip(doc["steps"], stored.get("steps") or ()):
        for key, default in (("decision", "first_response"), ("when_no_approver", "refuse")):
            if isinstance(old, dict) and old.get(key) == default and key not in step:
                step[key] = default


def _step_doc(step: dict, p: str, add) -> dict:
    doc: dict = {}
    if step["label"]:
        doc["label"] = step["label"]
    if step["entry_condition"]:
        doc["entry_condition"] = step["entry_condition"]
    approvers = []
    for k, approver in enumerate(step["approvers"]):
        kind, value = approver["type"], approver["value"]
        if kind not in dict(APPROVER_TYPES):
            add(f"{p}.approvers.{k}.type", "choose who approves")
            continue
        if kind == "manager":
            approvers.append({"type": "manager"})
            continue
        if not value:
            add(f"{p}.approvers.{k}.value", VALUE_MISSING[kind])
        approvers.append({"type": kind, kind: value})
    if not step["approvers"]:
        add(f"{p}.approvers", "add at least one approver")
    doc["approvers"] = approvers
    if step["decision"] != "first_response":
        if step["decision"] not in dict(DECISIONS):
            add(f"{p}.decision", "choose how the step is decided")
        doc["decision"] = step["decision"]
    if step["when_no_approver"] != "refuse":
        if step["when_no_approver"] not in dict(NO_APPROVER):
            add(f"{p}.when_no_approver", "choose what happens when nobody can approve")
        doc["when_no_approver"] = step["when_no_approver"]
    return doc


# --------------------------------------------------------------------------- pipeline errors → inputs

def input_for(path: str, draft: dict) -> str | None:
    parts = path.split(".")
    head = parts[0]
    if head in ("name", "label", "description", "object", "active", "lock_record", "entry_condition"):
        return head
    if head == "steps":
        if len(parts) < 2 or not wf._INDEX.match(parts[1]) or int(parts[1]) >= len(draft["steps"]):
            return "steps"
        p = f"steps.{parts[1]}"
        rest = parts[2:]
        if not rest:
            return f"{p}.approvers"
        if rest[0] == "approvers" and len(rest) > 1 and wf._INDEX.match(rest[1]):
            return f"{p}.approvers.{rest[1]}." + ("type" if len(rest) > 2 and rest[2] == "type" else "value")
        return f"{p}.{rest[0]}" if rest[0] in STEP_KEYS else f"{p}.approvers"
    if head in dict(ACTION_LISTS):
        inner = wf.input_for(".".join(["actions", *parts[1:]]), {"actions": draft[head]})
        return head + inner[len("actions"):] if inner else head
    return None


def map_pipeline_errors(meta_errors, source: str, draft: dict) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in meta_errors:
        key = input_for(e.path, draft) if e.source.endswith(source) else None
        if key is None:
            out.setdefault("", []).append(str(e))
        else:
            out.setdefault(key, []).append(f"{e.path}: {e.message}")
    return out


# --------------------------------------------------------------------------- what the form cannot carry

def unsupported(doc: dict, md) -> list[str]:
    problems = [f"'{key}' is not something this editor shows" for key in sorted(set(doc) - DOC_KEYS)]
    for i, step in enumerate(doc.get("steps") or ()):
        if not isinstance(step, dict):
            problems.append(f"step {i + 1} is not a mapping")
            continue
        problems += [f"step {i + 1} has '{key}', which this editor does not show" for key in sorted(set(step) - STEP_KEYS)]
    for key, _label in ACTION_LISTS:
        wf._unsupported_actions(doc.get(key) or [], key, 1, problems)
    if not problems:
        again, _errors = doc_from_draft(draft_from_doc(doc), md, new=False)
        if wf._comparable(_defaults_out(again)) != wf._comparable(_defaults_out(doc)):
            problems.append("the form cannot show it exactly as stored")
    return problems


def _defaults_out(doc: dict) -> dict:
    """The document without values that only spell out a default."""
    doc = dict(doc)
    for key, default in (("active", True), ("lock_record", True)):
        if doc.get(key) is default:
            doc.pop(key)
    steps = []
    for step in doc.get("steps") or ():
        step = dict(step) if isinstance(step, dict) else step
        if isinstance(step, dict):
            for key, default in (("decision", "first_response"), ("when_no_approver", "refuse")):
                if step.get(key) == default:
                    step.pop(key)
        steps.append(step)
    doc["steps"] = steps
    return doc


# --------------------------------------------------------------------------- the list page

def approver_summary(step: dict) -> str:
    parts = []
    for a in step.get("approvers") or ():
        kind = a.get("type")
        parts.append("the submitter's manager" if kind == "manager" else f"{kind} {a.get(kind)}")
    return ", ".join(parts)
