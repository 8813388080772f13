"""The workflow builder's form ↔ the workflow document (workflows/<name>.yaml) — no Flask.

The builder posts flat inputs named after their place in the document, so an error the change
pipeline reports at a metadata path lands on the input of that path:

    name, label, description, object, active, run_as
    trigger.event, trigger.timing, trigger.condition, trigger.when           (record events)
    trigger.field, trigger.direction, trigger.offset.days/.hours/.minutes    (time_relative)
    trigger.cron                                                             (scheduled)
    actions.<i>.type / .label / .condition / .lookup / .object
    actions.<i>.values.<row>.field / .expr          (a value is a row: field select + expression)
    actions.<i>.then.<j>.type ...                    (an `if` action's branches, nested the same way)
    actions.<i>.assign / .user / .queue / .method / .busy_filter          (assign_owner)
    actions.<i>.to.<k> / .notify_queue / .title / .message                (notify)
    actions.<i>.process                                                   (submit_for_approval)
    actions.<i>.template / .email_to.<k> / .cc.<k>                        (send_email)
    actions.<i>.url / .credential / .event / .payload (field names, comma-separated)   (webhook)

A *draft* is the document with each action's `values` kept as the posted list of [field, expr]
rows (their order and row numbers are what the form shows); `doc_from_draft` turns it into the
document, reporting what is missing or unusable per input before the pipeline runs.

The builder never saves less than it was shown: `unsupported` names what a stored document holds
that the form cannot carry (an action type or property it does not know, deeper nesting, an
offset mixing before and after), and such a workflow is shown read-only (edited as YAML).
"""
from __future__ import annotations

import re

from ...meta.validate_workflows import settable_problem
from .orgedit import name_problem

EVENTS = [("create", "Created"), ("update", "Updated"), ("create_or_update", "Created or updated"),
          ("delete", "Deleted"), ("time_relative", "At a time relative to a date field"),
          ("scheduled", "On a schedule (cron)"), ("manual", "Run by hand (manual)")]
RECORD_EVENTS = ("create", "update", "create_or_update", "delete")
OFFSET_UNITS = (("days", 3650), ("hours", 87600), ("minutes", 5256000))   # the schema's bounds
DIRECTIONS = [("before", "before"), ("after", "after")]
ASSIGN_MODES = [("queue", "The next member of a queue"), ("user", "A user (an expression)")]
METHODS = [("round_robin", "Round robin (in turn)"), ("least_busy", "Least busy")]
TIMINGS = [("after_save", "After save"), ("before_save", "Before save (same record)")]
WHENS = [("always", "Every time the condition holds"), ("becomes_true", "Only when the condition becomes true")]
RUN_AS = [("system", "System (every record)"), ("triggering_user", "The user whose change triggered it")]
ACTION_TYPES = [("update_record", "Update the record"), ("update_parent", "Update a related (parent) record"),
                ("create_record", "Create a record"), ("assign_owner", "Assign the owner"),
                ("notify", "Notify users"), ("send_email", "Send an email"), ("webhook", "Call a webhook"),
                ("submit_for_approval", "Submit for approval"), ("if", "If / else")]
VALUE_ACTIONS = ("update_record", "update_parent", "create_record")
MAX_ACTIONS, MAX_VALUES, MAX_DEPTH, MAX_RECIPIENTS = 50, 100, 8, 20
# what the form carries, per part of the document (anything else makes the workflow read-only here)
DOC_KEYS = {"name", "label", "description", "object", "active", "trigger", "run_as", "actions"}
TRIGGER_KEYS = {"event", "timing", "condition", "when", "field", "offset", "cron"}
ACTION_KEYS = {"update_record": {"values"}, "update_parent": {"lookup", "values"},
               "create_record": {"object", "values"}, "if": {"condition", "then", "else"},
               "assign_owner": {"user", "queue", "method", "busy_filter"},
               "notify": {"to", "queue", "title", "message"}, "submit_for_approval": {"process"},
               "send_email": {"template", "to", "cc"}, "webhook": {"url", "credential", "event", "payload"}}
_INDEX = re.compile(r"^\d{1,3}$")


# --------------------------------------------------------------------------- document → draft

def _text(value) -> str:
    """A document value as the form shows it (a non-text value would come back as text: the
    round trip in `unsupported` then tells)."""
    return "" if value is None else value if isinstance(value, str) else str(value)


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
                        "cron": _text(trigger.get("cron"))},
            "actions": [_draft_action(a) for a in doc.get("actions") or ()]}


def _draft_action(action: dict) -> dict:
    kind = action.get("type", "update_record")
    to = action.get("to")
    return {"type": kind, "label": _text(action.get("label")),
            "condition": _text(action.get("condition")), "lookup": _text(action.get("lookup")),
            "object": _text(action.get("object")),
            "values": [[k, _text(v)] for k, v in (action.get("values") or {}).items()],
            "then": [_draft_action(a) for a in action.get("then") or ()],
            "else": [_draft_action(a) for a in action.get("else") or ()],
            # assign_owner
            "assign": "user" if "user" in action else "queue", "user": _text(action.get("user")),
            "queue": _text(action.get("queue")) if kind != "notify" else "",
            "method": _text(action.get("method")) or "round_robin", "busy_filter": _text(action.get("busy_filter")),
            # notify
            "to": [_text(t) for t in to] if isinstance(to, list) and kind == "notify" else [],
            "notify_queue": _text(action.get("queue")) if kind == "notify" else "",
            "title": _text(action.get("title")), "message": _text(action.get("message")),
            # submit_for_approval
            "process": _text(action.get("process")),
            # send_email: `to` is its own list of rows (address expressions, not user ids)
            "template": _text(action.get("template")),
            "email_to": [_text(t) for t in to] if isinstance(to, list) and kind == "send_email" else [],
            "cc": [_text(t) for t in action["cc"]] if isinstance(action.get("cc"), list) else [],
            # webhook
            "url": _text(action.get("url")), "credential": _text(action.get("credential")),
            "event": _text(action.get("event")), "payload": ", ".join(map(_text, action.get("payload") or ()))}


def blank_action(kind: str = "update_record") -> dict:
    return _draft_action({"type": kind})


# --------------------------------------------------------------------------- posted form → draft

def _clean(value) -> str:
    # browsers post a textarea's line breaks as CRLF: keep the document's LF
    return value.replace("\r\n", "\n").strip() if isinstance(value, str) else ""


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
    tree = form_tree(form, ("actions",))
    get = lambda k, d="": _clean(form.get(k)) or d   # noqa: E731
    return {"name": get("name"), "label": get("label"), "description": get("description"),
            "object": get("object"), "active": form.get("active") == "1", "run_as": get("run_as", "system"),
            "trigger": {"event": get("trigger.event"), "timing": get("trigger.timing", "after_save"),
                        "condition": get("trigger.condition"), "when": get("trigger.when", "always"),
                        "field": get("trigger.field"), "direction": get("trigger.direction", "after"),
                        "offset": {unit: get(f"trigger.offset.{unit}") for unit, _ in OFFSET_UNITS},
                        "cron": get("trigger.cron")},
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
    text = lambda k: _clean(node.get(k))   # noqa: E731
    rows = []
    for row in _ordered(node.get("values"))[:MAX_VALUES]:
        if isinstance(row, dict):
            rows.append([_clean(row.get("field")), _clean(row.get("expr"))])
    return {"type": text("type"), "label": text("label"), "condition": text("condition"),
            "lookup": text("lookup"), "object": text("object"), "values": rows,
            "then": _draft_list(node.get("then"), depth + 1), "else": _draft_list(node.get("else"), depth + 1),
            "assign": text("assign") or "queue", "user": text("user"), "queue": text("queue"),
            "method": text("method") or "round_robin", "busy_filter": text("busy_filter"),
            "to": [_clean(t) for t in _ordered(node.get("to"))[:MAX_RECIPIENTS]],
            "notify_queue": text("notify_queue"), "title": text("title"), "message": text("message"),
            "process": text("process"), "template": text("template"),
            "email_to": [_clean(t) for t in _ordered(node.get("email_to"))[:MAX_RECIPIENTS]],
            "cc": [_clean(t) for t in _ordered(node.get("cc"))[:MAX_RECIPIENTS]],
            "url": text("url"), "credential": text("credential"), "event": text("event"), "payload": text("payload")}


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
    if trig["condition"]:
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
    return trigger


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
        elif kind == "assign_owner":
            _assign_doc(action, doc, p, add)
        elif kind == "notify":
            _notify_doc(action, doc, p, add)
        elif kind == "submit_for_approval":
            if action["process"]:
                doc["process"] = action["process"]
        elif kind == "send_email":
            _email_doc(action, doc, p, add)
        elif kind == "webhook":
            _webhook_doc(action, doc, p, add)
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


def _assign_doc(action, doc, p, add) -> None:
    if action["assign"] == "user":
        if not action["user"]:
            add(f"{p}.user", "enter an expression giving the user, e.g. account.owner")
        doc["user"] = action["user"]
        return
    if not action["queue"]:
        add(f"{p}.queue", "enter the name of a queue (a record of the Queue object)")
    doc["queue"] = action["queue"]
    if action["method"] not in dict(METHODS):
        add(f"{p}.method", "choose how the queue's members take turns")
    doc["method"] = action["method"]
    if action["method"] == "least_busy" and action["busy_filter"]:
        doc["busy_filter"] = action["busy_filter"]


def _notify_doc(action, doc, p, add) -> None:
    to = [t for t in action["to"] if t]
    if to:
        doc["to"] = to
    if action["notify_queue"]:
        doc["queue"] = action["notify_queue"]
    if not to and not action["notify_queue"]:
        add(f"{p}.to", "add a recipient (an expression giving a user id, e.g. owner) or a queue")
    if not action["title"]:
        add(f"{p}.title", "enter the title, a text expression ('Deal won: ' + name)")
    doc["title"] = action["title"]
    if action["message"]:
        doc["message"] = action["message"]


def _email_doc(action, doc, p, add) -> None:
    if not action["template"]:
        add(f"{p}.template", "choose the email template to send")
    doc["template"] = action["template"]
    to = [t for t in action["email_to"] if t]
    if not to:
        add(f"{p}.email_to", "add a recipient (an expression giving an email address, e.g. contact.email)")
    doc["to"] = to
    cc = [t for t in action["cc"] if t]
    if cc:
        doc["cc"] = cc


def _webhook_doc(action, doc, p, add) -> None:
    if not action["url"]:
        add(f"{p}.url", "enter the http(s) URL the message is posted to")
    doc["url"] = action["url"]
    if not action["credential"]:
        add(f"{p}.credential", "choose the webhook_signing credential that signs the message")
    doc["credential"] = action["credential"]
    if action["event"]:
        doc["event"] = action["event"]
    payload = [name for name in re.split(r"[\s,]+", action["payload"]) if name]
    if payload:
        doc["payload"] = payload


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
        parts = path.split(".")
        if len(parts) > 1 and parts[1] == "offset":
            return f"trigger.offset.{parts[2]}" if len(parts) > 2 and parts[2] in dict(OFFSET_UNITS) else "trigger.offset.days"
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
    rest = parts[i:]
    if rest and rest[0] == "values" and len(rest) > 1:
        for j, (field, _expr) in enumerate(action["values"]):
            if field == rest[1]:
                return f"{key}.values.{j}.expr"
        return f"{key}.values"
    if not rest and action["type"] == "assign_owner":   # "a user or a queue (exactly one)"
        return f"{key}.{action['assign']}"
    if not rest and action["type"] == "notify":         # "needs recipients"
        return f"{key}.to"
    if rest and rest[0] in ("to", "cc"):   # the document's list leaves out blank rows: find the k-th filled one
        rows = "email_to" if rest[0] == "to" and action["type"] == "send_email" else rest[0]
        filled = [k for k, t in enumerate(action[rows]) if t]
        if len(rest) > 1 and _INDEX.match(rest[1]) and int(rest[1]) < len(filled):
            return f"{key}.{rows}.{filled[int(rest[1])]}"
        return f"{key}.{rows}"
    if rest and rest[0] == "queue" and action["type"] == "notify":
        return f"{key}.notify_queue"
    if rest and rest[0] in ("type", "label", "condition", "lookup", "object", "values", "then", "else", "user",
                            "queue", "method", "busy_filter", "title", "message", "process", "template", "url",
                            "credential", "event", "payload"):
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
        if out.get("type") == "assign_owner" and "queue" in out:
            out.setdefault("method", "round_robin")
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
    """Per object: the fields a workflow may set and the lookups it may follow (for the selects)."""
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
        out[obj.name] = {"label": obj.label, "fields": fields, "lookups": lookups, "dates": time_fields(obj),
                         "processes": processes, "templates": templates}
    return out


def annotate_targets(actions: list, md, object_name: str) -> None:
    """Each draft action gets `target`: the object whose fields its value rows list."""
    for action in actions:
        action["target"] = value_target(md, object_name, action) if action["type"] in VALUE_ACTIONS else None
        annotate_targets(action["then"], md, object_name)
        annotate_targets(action["else"], md, object_name)
