"""The workflow builder's form ↔ the workflow document (workflows/<name>.yaml) — no Flask.

The builder posts flat inputs named after their place in the document, so an error the change
pipeline reports at a metadata path lands on the input of that path:

    name, label, description, object, active, run_as
    trigger.event, trigger.timing, trigger.condition, trigger.when           (record events)
    trigger.field, trigger.direction, trigger.offset.days/.hours/.minutes    (time_relative)
    trigger.cron                                                             (scheduled)
    trigger.secret, trigger.user, trigger.payload.<row>.key / .type          (inbound_webhook)
    actions.<i>.type / .label / .condition / .lookup / .object
    actions.<i>.values.<row>.field / .expr          (a value is a row: field select + expression)
    actions.<i>.then.<j>.type ...                    (an `if` action's branches, nested the same way)
    actions.<i>.related / .filter                                         (update_related)
    actions.<i>.assign / .user / .queue / .group / .method / .busy_filter (assign_owner)
    actions.<i>.to.<k> / .notify_queue / .notify_group / .title / .message   (notify)
    actions.<i>.wait_mode / .duration / .until / .recheck                 (wait)
    actions.<i>.process                                                   (submit_for_approval)
    actions.<i>.template / .email_to.<k> / .cc.<k>                        (send_email)
    actions.<i>.url / .credential / .event / .payload (field names, comma-separated)   (webhook)

A *draft* is the document with each action's `values` kept as the posted list of [field, expr]
rows (their order and row numbers are what the form shows); `doc_from_draft` turns it into the
document, reporting what is missing or unusable per input before the pipeline runs. The steps'
own document ↔ draft code is workflowforms_actions.py.

The builder never saves less than it was shown: `unsupported` names what a stored document holds
that the form cannot carry (an action type or property it does not know, deeper nesting, an
offset mixing before and after), and such a workflow is shown read-only (edited as YAML).
"""
from __future__ import annotations

import re

from ...meta.validate_workflows import settable_problem
from .orgedit import name_problem
# the steps' code (approvalforms.py reaches these through this module too)
from .workflowforms_actions import (ACTION_KEYS, MAX_DEPTH, VALUE_ACTIONS, _INDEX, _actions_doc, _clean,
                                    _draft_action, _draft_list, _ordered, _text, action_input, value_target)

EVENTS = [("create", "Created"), ("update", "Updated"), ("create_or_update", "Created or updated"),
          ("delete", "Deleted"), ("time_relative", "At a time relative to a date field"),
          ("scheduled", "On a schedule (cron)"), ("manual", "Run by hand (manual)"),
          ("inbound_webhook", "Inbound webhook (a signed POST)")]
RECORD_EVENTS = ("create", "update", "create_or_update", "delete")
OFFSET_UNITS = (("days", 3650), ("hours", 87600), ("minutes", 5256000))   # the schema's bounds
DIRECTIONS = [("before", "before"), ("after", "after")]
TIMINGS = [("after_save", "After save"), ("before_save", "Before save (same record)")]
WHENS = [("always", "Every time the condition holds"), ("becomes_true", "Only when the condition becomes true")]
RUN_AS = [("system", "System (every record)"), ("triggering_user", "The user whose change triggered it")]
PAYLOAD_TYPES = [("text", "Text"), ("integer", "Integer"), ("number", "Number"), ("boolean", "True / false"),
                 ("date", "Date"), ("datetime", "Date and time")]
MAX_PAYLOAD_KEYS = 100
NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# what the form carries, per part of the document (anything else makes the workflow read-only here)
DOC_KEYS = {"name", "label", "description", "object", "active", "trigger", "run_as", "actions"}
TRIGGER_KEYS = {"event", "timing", "condition", "when", "field", "offset", "cron", "secret", "user", "payload"}


# --------------------------------------------------------------------------- document → draft

def draft_from_doc(doc: dict) -> dict:
    trigger = doc.get("trigger") or {}
    offset = trigger.get("offset") if isinstance(trigger.get("offset"), dict) else {}
    before = any(isinstance(v, int) and v < 0 for v in offset.values())
    return {"name": doc.get("name", ""), "label": doc.get("label", ""), "description": doc.get("description", ""),
            "object": doc.get("object", ""), "active": doc.get("active", True) is not False,
            "run_as": doc.get("run_as", "system"),
            "trigger": {"event": trigger.get("event", "create_or_update"),
                        "timing": trigger.get("timing", "after_save"),
                        "condition": _text(trigger.get("condition")), "when": trigger.get("when", "always"),
                        "field": _text(trigger.get("field")), "direction": "before" if before else "after",
                        "offset": {unit: _text(abs(offset[unit]) if isinstance(offset.get(unit), int) else offset.get(unit))
                                   for unit, _ in OFFSET_UNITS},
                        "cron": _text(trigger.get("cron")), "secret": _text(trigger.get("secret")),
                        "user": _text(trigger.get("user")),
                        "payload": [[_text(k), _text(t)] for k, t in (trigger.get("payload") or {}).items()]},
            "actions": [_draft_action(a) for a in doc.get("actions") or ()]}


# --------------------------------------------------------------------------- posted form → draft

def form_tree(form, prefixes) -> dict:
    """The posted inputs named `<prefix>.<i>.…` as nested dicts ({"actions": {"0": {"type": …}}});
    a name too deep or clashing with another is ignored."""
    tree: dict = {}
    for key, value in form.items():
        if not key.startswith(tuple(f"{p}." for p in prefixes)):
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
    return tree


def draft_from_form(form) -> dict:
    """The posted builder (a MultiDict) → a draft. Unknown or malformed input names are ignored."""
    tree = form_tree(form, ("actions", "trigger.payload"))
    payload = [[_clean(row.get("key")), _clean(row.get("type"))]
               for row in _ordered(tree.get("trigger", {}).get("payload"))[:MAX_PAYLOAD_KEYS] if isinstance(row, dict)]
    get = lambda k, d="": _clean(form.get(k)) or d   # noqa: E731
    return {"name": get("name"), "label": get("label"), "description": get("description"),
            "object": get("object"), "active": form.get("active") == "1", "run_as": get("run_as", "system"),
            "trigger": {"event": get("trigger.event"), "timing": get("trigger.timing", "after_save"),
                        "condition": get("trigger.condition"), "when": get("trigger.when", "always"),
                        "field": get("trigger.field"), "direction": get("trigger.direction", "after"),
                        "offset": {unit: get(f"trigger.offset.{unit}") for unit, _ in OFFSET_UNITS},
                        "cron": get("trigger.cron"), "secret": get("trigger.secret"), "user": get("trigger.user"),
                        "payload": payload},
            "actions": _draft_list(tree.get("actions"), 1)}


# --------------------------------------------------------------------------- draft → document

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
    doc["trigger"] = _trigger_doc(draft["trigger"], obj, add)
    if draft["run_as"] != "system":
        doc["run_as"] = draft["run_as"]
    trig = draft["trigger"]
    before_save = trig["event"] in RECORD_EVENTS and trig["timing"] == "before_save"
    if not draft["actions"]:
        add("actions", "add at least one action")
    doc["actions"] = _actions_doc(draft["actions"], "actions", md, draft["object"], before_save, add)
    return doc, errors


def _trigger_doc(trig: dict, obj, add) -> dict:
    event = trig["event"]
    if event not in dict(EVENTS):
        add("trigger.event", "choose when it runs")
    trigger = {"event": event}
    if event in RECORD_EVENTS:   # timing and `when` belong to record events only
        if trig["timing"] != "after_save":
            trigger["timing"] = trig["timing"]
    if trig["condition"] and event != "inbound_webhook":   # a payload has no record to check (the input is hidden)
        trigger["condition"] = trig["condition"]
    if event in RECORD_EVENTS and trig["when"] != "always":
        trigger["when"] = trig["when"]
    if event == "time_relative":
        if not trig["field"]:
            add("trigger.field", "choose the date or datetime field the time is relative to")
        elif obj is not None and trig["field"] not in dict(time_fields(obj)):
            add("trigger.field", f"'{trig['field']}' is not a date or datetime field of '{obj.name}'")
        trigger["field"] = trig["field"]
        if trig["direction"] not in dict(DIRECTIONS):
            add("trigger.direction", "choose before or after")
        sign = -1 if trig["direction"] == "before" else 1
        offset = {}
        for unit, bound in OFFSET_UNITS:
            text = trig["offset"][unit]
            if not text:
                continue
            if not re.fullmatch(r"\d{1,7}", text) or int(text) > bound:
                add(f"trigger.offset.{unit}", f"a whole number of {unit} from 0 to {bound}")
                continue
            offset[unit] = sign * int(text)
        if not any(trig["offset"].values()):
            add("trigger.offset.days", "enter how long before or after (days, hours or minutes; 0 for at the time)")
        trigger["offset"] = offset
    elif event == "scheduled":
        if not trig["cron"]:
            add("trigger.cron", "enter a cron schedule (minute hour day month weekday, UTC), e.g. 0 6 * * 1")
        trigger["cron"] = trig["cron"]
    elif event == "inbound_webhook":
        _inbound_doc(trig, trigger, add)
    return trigger


def _inbound_doc(trig: dict, trigger: dict, add) -> None:
    """The signing credential, the user the hook acts for and the typed payload keys."""
    if not trig["secret"]:
        add("trigger.secret", "choose the webhook_signing credential whose secret signs the requests")
    trigger["secret"] = trig["secret"]
    if not trig["user"]:
        add("trigger.user", "enter the username the hook acts for (records it creates are theirs)")
    trigger["user"] = trig["user"]
    payload: dict = {}
    for j, (key, kind) in enumerate(trig["payload"]):
        if not key:   # a blank row (its type select always has a value)
            continue
        at = f"trigger.payload.{j}"
        if not NAME.match(key):
            add(f"{at}.key", "a key is a name: lower-case letters, digits and _, starting with a letter")
        if key in payload:
            add(f"{at}.key", f"'{key}' is declared twice")
        if kind not in dict(PAYLOAD_TYPES):
            add(f"{at}.type", "choose the key's type")
        payload[key] = kind
    if not payload:
        add("trigger.payload", "declare at least one key of the JSON body (the actions read it as payload.<key>)")
    trigger["payload"] = payload


# --------------------------------------------------------------------------- pipeline errors → inputs

def input_for(path: str, draft: dict) -> str | None:
    """The input showing a metadata path of the workflow document (None: no input, show it on top)."""
    head = path.split(".")[0]
    if head in ("name", "label", "description", "object", "active", "run_as"):
        return head
    if head == "trigger":
        parts = path.split(".")
        if len(parts) > 1 and parts[1] == "offset":
            return f"trigger.offset.{parts[2]}" if len(parts) > 2 and parts[2] in dict(OFFSET_UNITS) else "trigger.offset.days"
        if len(parts) > 2 and parts[1] == "payload":
            rows = [j for j, (key, _t) in enumerate(draft["trigger"]["payload"]) if key == parts[2]]
            return f"trigger.payload.{rows[0]}.type" if rows else "trigger.payload"
        return ".".join(parts[:2]) if len(parts) > 1 else "trigger.event"
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
    return action_input(key, action, parts[i:])


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
    """Why the builder cannot edit this stored workflow without losing something ([]: it can).
    Known gaps are named one by one; then the document must survive the form's round trip
    (document → form → document) unchanged but for defaults, or it is not the builder's to save."""
    problems: list[str] = []
    for key in sorted(set(doc) - DOC_KEYS):
        problems.append(f"'{key}' is not something this builder shows")
    trigger = doc.get("trigger") if isinstance(doc.get("trigger"), dict) else {}
    if trigger.get("event") not in dict(EVENTS):
        problems.append(f"the trigger event '{trigger.get('event')}' is not one this builder knows")
    for key in sorted(set(trigger) - TRIGGER_KEYS):
        problems.append(f"the trigger's '{key}' is not something this builder shows")
    _unsupported_actions(doc.get("actions") or [], "actions", 1, problems)
    if not problems:
        again, _errors = doc_from_draft(draft_from_doc(doc), md, new=False)
        if _comparable(again) != _comparable(doc):
            problems.append("the form cannot show it exactly as stored (e.g. an offset mixing before and after)")
    return problems


def _unsupported_actions(actions, path, depth, problems) -> None:
    if depth > MAX_DEPTH:
        problems.append(f"{path} is nested deeper than the {MAX_DEPTH} levels this builder shows")
        return
    for i, action in enumerate(actions if isinstance(actions, list) else ()):
        at = f"{path}.{i}"
        kind = action.get("type") if isinstance(action, dict) else None
        if kind not in ACTION_KEYS:
            problems.append(f"step {at} is a '{kind}' step, which this builder does not know yet")
            continue
        for key in sorted(set(action) - {"type", "label"} - ACTION_KEYS[kind]):
            problems.append(f"step {at} has '{key}', which this builder does not show for {kind} steps")
        for branch in ("then", "else"):
            if kind == "if" and action.get(branch):
                _unsupported_actions(action[branch], f"{at}.{branch}", depth + 1, problems)


def _comparable(value):
    """A document with its defaults spelled out and text trimmed (what the form changes harmlessly)."""
    if isinstance(value, dict):
        out = {k: _comparable(v) for k, v in value.items()}
        if out.get("type") == "assign_owner" and ("queue" in out or "group" in out):
            out.setdefault("method", "round_robin")
        if out.get("type") == "wait":
            if out.get("recheck_condition") is True:
                out.pop("recheck_condition")
            if isinstance(out.get("duration"), str) and out["duration"].strip().isdigit():   # seconds either way
                out["duration"] = int(out["duration"])
        if isinstance(out.get("trigger"), dict):
            trig = out["trigger"]
            if trig.get("timing") == "after_save":
                trig.pop("timing")
            if trig.get("when") == "always":
                trig.pop("when")
        if out.get("run_as") == "system" and "trigger" in out:
            out.pop("run_as")
        if out.get("active") is True and "trigger" in out:
            out.pop("active")
        return out
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return value.strip() if isinstance(value, str) else value


def trigger_summary(trigger: dict) -> str:
    """One line for the workflows list: "Created · after save", "3 days before close_date",
    "cron 0 6 * * 1", "Manual"."""
    event = trigger.get("event")
    if event == "time_relative":
        offset = trigger.get("offset") or {}
        parts = [f"{abs(n)} {unit if abs(n) != 1 else unit[:-1]}" for unit, _ in OFFSET_UNITS
                 if isinstance(n := offset.get(unit), int) and n]
        if not parts:
            return f"at {trigger.get('field')}"
        before = any(isinstance(v, int) and v < 0 for v in offset.values())
        return f"{' '.join(parts)} {'before' if before else 'after'} {trigger.get('field')}"
    if event == "scheduled":
        return f"cron {trigger.get('cron')} (UTC)"
    if event == "manual":
        return "Manual"
    if event == "inbound_webhook":
        return "Inbound webhook · signed POSTs to /api/v1/hooks/"
    label = dict(EVENTS).get(event, event)
    return f"{label} · {'before save' if trigger.get('timing') == 'before_save' else 'after save'}"


def time_fields(obj) -> list[tuple[str, str]]:
    """The fields a time-relative trigger may count from: stored date / datetime fields and the
    record's created / modified times."""
    own = sorted(((f.name, f.label) for f in obj.fields.values() if f.stored and f.type in ("date", "datetime")),
                 key=lambda x: x[1].lower())
    return own + [("created_at", "Created Date"), ("updated_at", "Last Modified Date")]


# --------------------------------------------------------------------------- choices for the page

def field_choices(md) -> dict:
    """Per object: the fields a workflow may set, the lookups it may follow, the key fields it may find
    a record by and the related records
    (other objects' lookups pointing at it, as update_related's "<object>.<lookup>") for the selects."""
    related: dict[str, list] = {}
    for other in sorted(md.objects.values(), key=lambda o: o.label.lower()):
        for f in sorted(other.fields.values(), key=lambda f: f.label.lower()):
            if f.is_relation and f.target in md.objects:
                related.setdefault(f.target, []).append((f"{other.name}.{f.name}", f"{other.label} · {f.label}",
                                                         other.name))
    out = {}
    for obj in md.objects.values():
        fields = [("owner", "Owner")] + sorted(
            ((f.name, f.label) for f in obj.fields.values()
             if f.name != "owner" and settable_problem(obj, f.name, before_save=True) is None),
            key=lambda x: x[1].lower())
        lookups = sorted(((f.name, f.label, f.target) for f in obj.fields.values() if f.is_relation),
                         key=lambda x: x[1].lower())
        processes = sorted(((c.name, c.get("label") or c.name) for c in md.approval_processes.values()
                            if c["object"] == obj.name and c.get("active", True) is not False),
                           key=lambda x: x[1].lower())
        templates = sorted(((c.name, c.get("label") or c.name) for c in md.email_templates.values()
                            if c["object"] == obj.name), key=lambda x: x[1].lower())
        # the key fields a step may find a record by (upsert_record cannot give an autonumber: flagged)
        keys = sorted(((f.name, f.label, f.type == "autonumber") for f in obj.fields.values() if f.unique and f.stored),
                      key=lambda x: x[1].lower())
        out[obj.name] = {"label": obj.label, "fields": fields, "lookups": lookups, "dates": time_fields(obj), "keys": keys,
                         "processes": processes, "templates": templates, "related": related.get(obj.name, [])}
    return out


def annotate_targets(actions: list, md, object_name: str) -> None:
    """Each draft action gets `target`: the object whose fields its value rows list."""
    for action in actions:
        action["target"] = value_target(md, object_name, action) if action["type"] in VALUE_ACTIONS else None
        annotate_targets(action["then"], md, object_name)
        annotate_targets(action["else"], md, object_name)
