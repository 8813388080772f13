"""The workflow builder's form ↔ the workflow document (workflows/<name>.yaml) — no Flask.

The builder posts flat inputs named after their place in the document, so an error the change
pipeline reports at a metadata path lands on the input of that path:

    name, label, description, object, active, run_as
    trigger.event, trigger.timing, trigger.condition, trigger.when
    actions.<i>.type / .label / .condition / .lookup / .object
    actions.<i>.values.<row>.field / .expr          (a value is a row: field select + expression)
    actions.<i>.then.<j>.type ...                    (an `if` action's branches, nested the same way)

A *draft* is the document with each action's `values` kept as the posted list of [field, expr]
rows (their order and row numbers are what the form shows); `doc_from_draft` turns it into the
document, reporting what is missing or unusable per input before the pipeline runs.
"""
from __future__ import annotations

import re

from ...meta.validate_workflows import settable_problem
from .orgedit import name_problem

EVENTS = [("create", "Created"), ("update", "Updated"), ("create_or_update", "Created or updated"),
          ("delete", "Deleted")]
TIMINGS = [("after_save", "After save"), ("before_save", "Before save (same record)")]
WHENS = [("always", "Every time the condition holds"), ("becomes_true", "Only when the condition becomes true")]
RUN_AS = [("system", "System (every record)"), ("triggering_user", "The user whose change triggered it")]
ACTION_TYPES = [("update_record", "Update the record"), ("update_parent", "Update a related (parent) record"),
                ("create_record", "Create a record"), ("if", "If / else")]
VALUE_ACTIONS = ("update_record", "update_parent", "create_record")
MAX_ACTIONS, MAX_VALUES, MAX_DEPTH = 50, 100, 8
_INDEX = re.compile(r"^\d{1,3}$")


# --------------------------------------------------------------------------- document → draft

def draft_from_doc(doc: dict) -> dict:
    trigger = doc.get("trigger") or {}
    return {"name": doc.get("name", ""), "label": doc.get("label", ""), "description": doc.get("description", ""),
            "object": doc.get("object", ""), "active": doc.get("active", True) is not False,
            "run_as": doc.get("run_as", "system"),
            "trigger": {"event": trigger.get("event", "create_or_update"),
                        "timing": trigger.get("timing", "after_save"),
                        "condition": trigger.get("condition", ""), "when": trigger.get("when", "always")},
            "actions": [_draft_action(a) for a in doc.get("actions") or ()]}


def _draft_action(action: dict) -> dict:
    out = {"type": action.get("type", "update_record"), "label": action.get("label", ""),
           "condition": action.get("condition", ""), "lookup": action.get("lookup", ""),
           "object": action.get("object", ""),
           "values": [[k, v] for k, v in (action.get("values") or {}).items()],
           "then": [_draft_action(a) for a in action.get("then") or ()],
           "else": [_draft_action(a) for a in action.get("else") or ()]}
    return out


def blank_action(kind: str = "update_record") -> dict:
    return _draft_action({"type": kind})


# --------------------------------------------------------------------------- posted form → draft

def draft_from_form(form) -> dict:
    """The posted builder (a MultiDict) → a draft. Unknown or malformed input names are ignored."""
    tree: dict = {}
    for key, value in form.items():
        if not key.startswith("actions."):
            continue
        parts = key.split(".")
        if len(parts) > 4 * MAX_DEPTH:
            continue
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        else:
            node[parts[-1]] = value
    get = lambda k, d="": (form.get(k) or d).strip()   # noqa: E731
    return {"name": get("name"), "label": get("label"), "description": get("description"),
            "object": get("object"), "active": form.get("active") == "1", "run_as": get("run_as", "system"),
            "trigger": {"event": get("trigger.event"), "timing": get("trigger.timing", "after_save"),
                        "condition": get("trigger.condition"), "when": get("trigger.when", "always")},
            "actions": _draft_list(tree.get("actions"), 1)}


def _ordered(node) -> list:
    if not isinstance(node, dict):
        return []
    return [node[k] for k in sorted((k for k in node if _INDEX.match(k)), key=int)]


def _draft_list(node, depth: int) -> list:
    if depth > MAX_DEPTH:
        return []
    return [_draft_from_node(n, depth) for n in _ordered(node)[:MAX_ACTIONS] if isinstance(n, dict)]


def _draft_from_node(node: dict, depth: int) -> dict:
    text = lambda k: (node.get(k) if isinstance(node.get(k), str) else "").strip()   # noqa: E731
    rows = []
    for row in _ordered(node.get("values"))[:MAX_VALUES]:
        if isinstance(row, dict):
            field = row.get("field") if isinstance(row.get("field"), str) else ""
            expr = row.get("expr") if isinstance(row.get("expr"), str) else ""
            rows.append([field.strip(), expr.strip()])
    return {"type": text("type"), "label": text("label"), "condition": text("condition"),
            "lookup": text("lookup"), "object": text("object"), "values": rows,
            "then": _draft_list(node.get("then"), depth + 1), "else": _draft_list(node.get("else"), depth + 1)}


# --------------------------------------------------------------------------- draft → document

def value_target(md, object_name: str, action: dict) -> str | None:
    """The object whose fields an action's values set (None: not known yet)."""
    obj = md.objects.get(object_name)
    if action["type"] == "update_record":
        return object_name if obj else None
    if action["type"] == "update_parent":
        f = obj.fields.get(action["lookup"]) if obj else None
        return f.target if f is not None and f.is_relation else None
    if action["type"] == "create_record":
        return action["object"] if action["object"] in md.objects else None
    return None


def doc_from_draft(draft: dict, md, *, new: bool) -> tuple[dict, dict[str, list[str]]]:
    """(the workflow document, {input name: [problems]}). Defaults are left out of the document,
    so an untouched package workflow saved again equals the package's."""
    errors: dict[str, list[str]] = {}
    add = lambda key, msg: errors.setdefault(key, []).append(msg)   # noqa: E731
    if new:
        problem = name_problem(draft["name"], taken=md.workflows)
        if problem:
            add("name", problem)
    doc: dict = {"name": draft["name"]}
    for key in ("label", "description"):
        if draft[key]:
            doc[key] = draft[key]
    obj = md.objects.get(draft["object"])
    if obj is None:
        add("object", "choose an object")
    doc["object"] = draft["object"]
    if not draft["active"]:
        doc["active"] = False
    trig = draft["trigger"]
    if trig["event"] not in dict(EVENTS):
        add("trigger.event", "choose when it runs")
    trigger = {"event": trig["event"]}
    if trig["timing"] != "after_save":
        trigger["timing"] = trig["timing"]
    if trig["condition"]:
        trigger["condition"] = trig["condition"]
    if trig["when"] != "always":
        trigger["when"] = trig["when"]
    doc["trigger"] = trigger
    if draft["run_as"] != "system":
        doc["run_as"] = draft["run_as"]
    before_save = trig["timing"] == "before_save"
    if not draft["actions"]:
        add("actions", "add at least one action")
    doc["actions"] = _actions_doc(draft["actions"], "actions", md, draft["object"], before_save, add)
    return doc, errors


def _actions_doc(actions, path, md, object_name, before_save, add) -> list:
    out = []
    for i, action in enumerate(actions):
        p = f"{path}.{i}"
        kind = action["type"]
        doc: dict = {"type": kind}
        if action["label"]:
            doc["label"] = action["label"]
        if kind not in dict(ACTION_TYPES):
            add(f"{p}.type", "choose what the step does")
        elif kind == "if":
            if not action["condition"]:
                add(f"{p}.condition", "enter a condition, e.g. amount > 10000")
            doc["condition"] = action["condition"]
            if not action["then"]:
                add(f"{p}.then", "add at least one action to run when the condition is true")
            doc["then"] = _actions_doc(action["then"], f"{p}.then", md, object_name, before_save, add)
            if action["else"]:
                doc["else"] = _actions_doc(action["else"], f"{p}.else", md, object_name, before_save, add)
        else:
            if kind == "update_parent":
                if not action["lookup"]:
                    add(f"{p}.lookup", "choose the lookup field that points at the record to update")
                doc["lookup"] = action["lookup"]
            elif kind == "create_record":
                if action["object"] not in md.objects:
                    add(f"{p}.object", "choose the object of the new record")
                doc["object"] = action["object"]
            doc["values"] = _values_doc(action, p, md, object_name, before_save and kind == "update_record", add)
        out.append(doc)
    return out


def _values_doc(action, p, md, object_name, before_save, add) -> dict:
    target_name = value_target(md, object_name, action)
    target = md.objects.get(target_name) if target_name else None
    values: dict = {}
    for j, (field, expr) in enumerate(action["values"]):
        if not field and not expr:
            continue
        at = f"{p}.values.{j}"
        if not field:
            add(f"{at}.field", "choose a field")
            continue
        if field in values:
            add(f"{at}.field", f"'{field}' is set twice in this step")
            continue
        problem = settable_problem(target, field, before_save=before_save) if target else None
        if problem:
            add(f"{at}.field", problem)
        if not expr:
            add(f"{at}.expr", "enter an expression (text in quotes: 'Follow up')")
        values[field] = expr
    if not values:
        add(f"{p}.values", "set at least one field")
    return values


# --------------------------------------------------------------------------- pipeline errors → inputs

def input_for(path: str, draft: dict) -> str | None:
    """The input showing a metadata path of the workflow document (None: no input, show it on top)."""
    head = path.split(".")[0]
    if head in ("name", "label", "description", "object", "active", "run_as"):
        return head
    if head == "trigger":
        return ".".join(path.split(".")[:2]) if "." in path else "trigger.event"
    if path == "actions":
        return "actions"
    if head != "actions":
        return None
    parts = path.split(".")
    actions, action, key = draft["actions"], None, "actions"
    i = 1
    while i < len(parts) and _INDEX.match(parts[i]) and int(parts[i]) < len(actions):
        action = actions[int(parts[i])]
        key = f"{key}.{parts[i]}"
        i += 1
        if i < len(parts) and parts[i] in ("then", "else"):
            actions, key = action[parts[i]], f"{key}.{parts[i]}"
            i += 1
            continue
        break
    if action is None:
        return "actions"
    rest = parts[i:]
    if rest and rest[0] == "values" and len(rest) > 1:
        for j, (field, _expr) in enumerate(action["values"]):
            if field == rest[1]:
                return f"{key}.values.{j}.expr"
        return f"{key}.values"
    if rest and rest[0] in ("type", "label", "condition", "lookup", "object", "values", "then", "else"):
        return f"{key}.{rest[0]}"
    return f"{key}.type"


def map_pipeline_errors(meta_errors, source: str, draft: dict) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in meta_errors:
        key = input_for(e.path, draft) if e.source.endswith(source) else None
        if key is None:
            out.setdefault("", []).append(str(e))
        else:
            out.setdefault(key, []).append(f"{e.path}: {e.message}")
    return out


# --------------------------------------------------------------------------- choices for the page

def field_choices(md) -> dict:
    """Per object: the fields a workflow may set and the lookups it may follow (for the selects)."""
    out = {}
    for obj in md.objects.values():
        fields = [("owner", "Owner")] + sorted(
            ((f.name, f.label) for f in obj.fields.values()
             if f.name != "owner" and settable_problem(obj, f.name, before_save=True) is None),
            key=lambda x: x[1].lower())
        lookups = sorted(((f.name, f.label, f.target) for f in obj.fields.values() if f.is_relation),
                         key=lambda x: x[1].lower())
        out[obj.name] = {"label": obj.label, "fields": fields, "lookups": lookups}
    return out


def annotate_targets(actions: list, md, object_name: str) -> None:
    """Each draft action gets `target`: the object whose fields its value rows list."""
    for action in actions:
        action["target"] = value_target(md, object_name, action) if action["type"] in VALUE_ACTIONS else None
        annotate_targets(action["then"], md, object_name)
        annotate_targets(action["else"], md, object_name)
