"""The workflow builder's steps: one action's document ↔ draft ↔ posted inputs — no Flask.

workflowforms.py holds the workflow around them (trigger, name, object) and the error mapping;
this module knows each kind of step. Every step card carries the inputs of every kind (the form
shows the ones of the chosen type), so inputs whose document key two kinds share under different
meanings get their own names: notify's queue / group are `notify_queue` / `notify_group`, and
update_related's object + lookup pair is one `related` choice ("<object>.<lookup>").

    actions.<i>.related / .filter / .values.<row>…                      (update_related)
    actions.<i>.assign (user|queue|group) / .user / .queue / .group …   (assign_owner)
    actions.<i>.notify_queue / .notify_group                             (notify)
    actions.<i>.wait_mode (duration|until) / .duration / .until / .recheck (1|0)   (wait)
    actions.<i>.find (self|match) / .object / .match_field / .match_value   (update_record by a key)
    actions.<i>.object / .match_field / .match_value / .on_create.<row>…   (upsert_record)

update_record's `find` is the form's own switch: "self" updates the triggering record (no `match`
in the document), "match" another record found by a key (`object` blank: the workflow's own).
"""
from __future__ import annotations

import re

from ...meta.validate_workflows import settable_problem

ACTION_TYPES = [("update_record", "Update the record"), ("update_parent", "Update a related (parent) record"),
                ("update_related", "Update related (child) records"),
                ("create_record", "Create a record"),
                ("upsert_record", "Create or update a record by a key"), ("assign_owner", "Assign the owner"),
                ("notify", "Notify users"), ("send_email", "Send an email"), ("webhook", "Call a webhook"),
                ("submit_for_approval", "Submit for approval"), ("wait", "Wait"), ("if", "If / else")]
VALUE_ACTIONS = ("update_record", "update_parent", "update_related", "create_record", "upsert_record")
FIND_MODES = [("self", "This record (the one that triggered it)"), ("match", "Another record, found by a key")]
ASSIGN_MODES = [("queue", "The next member of a queue"), ("group", "The next member of a group"),
                ("user", "A user (an expression)")]
POOLS = ("queue", "group")
METHODS = [("round_robin", "Round robin (in turn)"), ("least_busy", "Least busy")]
WAIT_MODES = [("duration", "For a time"), ("until", "Until a date or time")]
RECHECKS = [("1", "Re-check the condition (stop if false)"), ("0", "Continue regardless")]
MAX_ACTIONS, MAX_VALUES, MAX_DEPTH, MAX_RECIPIENTS = 50, 100, 8, 20
# what the form carries per kind of step (anything else makes the workflow read-only in the builder)
ACTION_KEYS = {"update_record": {"values", "object", "match"}, "update_parent": {"lookup", "values"},
               "update_related": {"object", "lookup", "filter", "values"},
               "create_record": {"object", "values"}, "upsert_record": {"object", "match", "values", "on_create"},
               "if": {"condition", "then", "else"},
               "assign_owner": {"user", "queue", "group", "method", "busy_filter"},
               "notify": {"to", "queue", "group", "title", "message"}, "submit_for_approval": {"process"},
               "send_email": {"template", "to", "cc"}, "webhook": {"url", "credential", "event", "payload"},
               "wait": {"duration", "until", "recheck_condition"}}
_INDEX = re.compile(r"^\d{1,3}$")
_SECONDS = re.compile(r"^\d{1,15}$")


def _text(value) -> str:
    """A document value as the form shows it (a non-text value would come back as text: the
    round trip in `unsupported` then tells)."""
    return "" if value is None else value if isinstance(value, str) else str(value)


def _clean(value) -> str:
    # browsers post a textarea's line breaks as CRLF: keep the document's LF
    return value.replace("\r\n", "\n").strip() if isinstance(value, str) else ""


def _ordered(node) -> list:
    if not isinstance(node, dict):
        return []
    return [node[k] for k in sorted((k for k in node if _INDEX.match(k)), key=int)]


# --------------------------------------------------------------------------- document → draft

def _draft_action(action: dict) -> dict:
    kind = action.get("type", "update_record")
    to = action.get("to")
    notify = kind == "notify"
    related = f"{action.get('object')}.{action.get('lookup')}" if kind == "update_related" else ""
    match = action.get("match") if isinstance(action.get("match"), dict) else {}
    return {"type": kind, "label": _text(action.get("label")),
            "condition": _text(action.get("condition")),
            "lookup": _text(action.get("lookup")) if kind != "update_related" else "",
            "object": _text(action.get("object")) if kind != "update_related" else "",
            "values": [[k, _text(v)] for k, v in (action.get("values") or {}).items()],
            # update_record by a key, upsert_record
            "find": "match" if kind == "update_record" and "match" in action else "self",
            "match_field": _text(match.get("field")), "match_value": _text(match.get("value")),
            "on_create": [[k, _text(v)] for k, v in (action.get("on_create") or {}).items()],
            "then": [_draft_action(a) for a in action.get("then") or ()],
            "else": [_draft_action(a) for a in action.get("else") or ()],
            # update_related
            "related": related, "filter": _text(action.get("filter")),
            # assign_owner
            "assign": next((k for k in ("user", "group") if k in action), "queue"), "user": _text(action.get("user")),
            "queue": _text(action.get("queue")) if not notify else "",
            "group": _text(action.get("group")) if not notify else "",
            "method": _text(action.get("method")) or "round_robin", "busy_filter": _text(action.get("busy_filter")),
            # notify
            "to": [_text(t) for t in to] if isinstance(to, list) and notify else [],
            "notify_queue": _text(action.get("queue")) if notify else "",
            "notify_group": _text(action.get("group")) if notify else "",
            "title": _text(action.get("title")), "message": _text(action.get("message")),
            # submit_for_approval
            "process": _text(action.get("process")),
            # send_email: `to` is its own list of rows (address expressions, not user ids)
            "template": _text(action.get("template")),
            "email_to": [_text(t) for t in to] if isinstance(to, list) and kind == "send_email" else [],
            "cc": [_text(t) for t in action["cc"]] if isinstance(action.get("cc"), list) else [],
            # webhook
            "url": _text(action.get("url")), "credential": _text(action.get("credential")),
            "event": _text(action.get("event")), "payload": ", ".join(map(_text, action.get("payload") or ())),
            # wait
            "wait_mode": "until" if "until" in action else "duration", "duration": _text(action.get("duration")),
            "until": _text(action.get("until")), "recheck": "0" if action.get("recheck_condition") is False else "1"}


def blank_action(kind: str = "update_record") -> dict:
    return _draft_action({"type": kind})


# --------------------------------------------------------------------------- posted inputs → draft

def _draft_list(node, depth: int) -> list:
    if depth > MAX_DEPTH:
        return []
    return [_draft_from_node(n, depth) for n in _ordered(node)[:MAX_ACTIONS] if isinstance(n, dict)]


def _draft_from_node(node: dict, depth: int) -> dict:
    text = lambda k: _clean(node.get(k))   # noqa: E731
    rows = lambda k: [[_clean(row.get("field")), _clean(row.get("expr"))]   # noqa: E731
                      for row in _ordered(node.get(k))[:MAX_VALUES] if isinstance(row, dict)]
    listed = lambda k: [_clean(t) for t in _ordered(node.get(k))[:MAX_RECIPIENTS]]   # noqa: E731
    return {"type": text("type"), "label": text("label"), "condition": text("condition"),
            "lookup": text("lookup"), "object": text("object"), "values": rows("values"),
            "find": "match" if text("find") == "match" else "self", "match_field": text("match_field"),
            "match_value": text("match_value"), "on_create": rows("on_create"),
            "then": _draft_list(node.get("then"), depth + 1), "else": _draft_list(node.get("else"), depth + 1),
            "related": text("related"), "filter": text("filter"),
            "assign": text("assign") or "queue", "user": text("user"), "queue": text("queue"), "group": text("group"),
            "method": text("method") or "round_robin", "busy_filter": text("busy_filter"),
            "to": listed("to"), "notify_queue": text("notify_queue"), "notify_group": text("notify_group"),
            "title": text("title"), "message": text("message"),
            "process": text("process"), "template": text("template"), "email_to": listed("email_to"),
            "cc": listed("cc"), "url": text("url"), "credential": text("credential"), "event": text("event"),
            "payload": text("payload"), "wait_mode": text("wait_mode") or "duration", "duration": text("duration"),
            "until": text("until"), "recheck": "0" if text("recheck") == "0" else "1"}


# --------------------------------------------------------------------------- draft → document

def related_pair(action: dict) -> tuple[str, str]:
    """update_related's (object, lookup) from its one `related` choice ("<object>.<lookup>")."""
    obj, _dot, lookup = action["related"].partition(".")
    return obj, lookup


def value_target(md, object_name: str, action: dict) -> str | None:
    """The object whose fields an action's values set (None: not known yet)."""
    obj = md.objects.get(object_name)
    if action["type"] == "update_record" and action["find"] == "match" and action["object"]:
        return action["object"] if action["object"] in md.objects else None
    if action["type"] == "update_record":
        return object_name if obj else None
    if action["type"] == "upsert_record":
        return action["object"] if action["object"] in md.objects else None
    if action["type"] == "update_parent":
        f = obj.fields.get(action["lookup"]) if obj else None
        return f.target if f is not None and f.is_relation else None
    if action["type"] == "update_related":
        related = related_pair(action)[0]
        return related if related in md.objects else None
    if action["type"] == "create_record":
        return action["object"] if action["object"] in md.objects else None
    return None


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
        elif kind in _DOC_OF:
            _DOC_OF[kind](action, doc, p, add)
        elif kind == "upsert_record" or (kind == "update_record" and action["find"] == "match"):
            _keyed_doc(action, doc, p, md, object_name, add)
        else:
            if kind == "update_parent":
                if not action["lookup"]:
                    add(f"{p}.lookup", "choose the lookup field that points at the record to update")
                doc["lookup"] = action["lookup"]
            elif kind == "update_related":
                _related_doc(action, doc, p, md, object_name, add)
            elif kind == "create_record":
                if action["object"] not in md.objects:
                    add(f"{p}.object", "choose the object of the new record")
                doc["object"] = action["object"]
            doc["values"] = _values_doc(action, p, md, object_name, before_save and kind == "update_record", add)
            if kind == "update_related" and action["filter"]:
                doc["filter"] = action["filter"]   # after values: the document's usual order
        out.append(doc)
    return out


def _keyed_doc(action, doc, p, md, object_name, add) -> None:
    """upsert_record, and update_record of a record found by a key: object, match, values
    (on_create: upsert only), in the order keyed_writes.py documents them."""
    upsert = action["type"] == "upsert_record"
    if upsert and not action["object"]:
        add(f"{p}.object", "choose the object of the record to create or update")
    elif action["object"] and action["object"] not in md.objects:
        add(f"{p}.object", f"there is no object '{action['object']}'")
    if action["object"]:
        doc["object"] = action["object"]
    if not action["match_field"]:
        add(f"{p}.match_field", "choose the key field: an external id or unique field of that object")
    if not action["match_value"]:
        add(f"{p}.match_value", "enter an expression giving the key, e.g. code or payload.code")
    doc["match"] = {"field": action["match_field"], "value": action["match_value"]}
    doc["values"] = _values_doc(action, p, md, object_name, False, add)
    if upsert:
        on_create = _values_doc(action, p, md, object_name, False, add, rows="on_create")
        if on_create:
            doc["on_create"] = on_create


def _related_doc(action, doc, p, md, object_name, add) -> None:
    related, lookup = related_pair(action)
    obj = md.objects.get(related)
    link = obj.fields.get(lookup) if obj is not None else None
    if not action["related"]:
        add(f"{p}.related", "choose the related records: an object whose lookup points at this record")
    elif link is None or not link.is_relation or link.target != object_name:
        add(f"{p}.related", f"'{action['related']}' is not a lookup pointing at '{object_name}'")
    doc["object"], doc["lookup"] = related, lookup


def _assign_doc(action, doc, p, add) -> None:
    mode = action["assign"]
    if mode == "user":
        if not action["user"]:
            add(f"{p}.user", "enter an expression giving the user, e.g. account.owner")
        doc["user"] = action["user"]
        return
    if mode not in POOLS:
        add(f"{p}.assign", "choose who becomes the owner")
        return
    if not action[mode]:
        add(f"{p}.{mode}", f"choose the {mode} whose members take turns (a record of the {mode.title()} object)")
    doc[mode] = action[mode]
    if action["method"] not in dict(METHODS):
        add(f"{p}.method", f"choose how the {mode}'s members take turns")
    doc["method"] = action["method"]
    if action["method"] == "least_busy" and action["busy_filter"]:
        doc["busy_filter"] = action["busy_filter"]


def _notify_doc(action, doc, p, add) -> None:
    to = [t for t in action["to"] if t]
    if to:
        doc["to"] = to
    for pool in POOLS:
        if action[f"notify_{pool}"]:
            doc[pool] = action[f"notify_{pool}"]
    if not to and not action["notify_queue"] and not action["notify_group"]:
        add(f"{p}.to", "add a recipient (an expression giving a user id, e.g. owner), a queue or a group")
    if not action["title"]:
        add(f"{p}.title", "enter the title, a text expression ('Deal won: ' + name)")
    doc["title"] = action["title"]
    if action["message"]:
        doc["message"] = action["message"]


def _submit_doc(action, doc, p, add) -> None:
    if action["process"]:
        doc["process"] = action["process"]


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


def _wait_doc(action, doc, p, add) -> None:
    """A duration (text as typed — 3d, 4h 30m — or bare digits: seconds, stored as a number) or an
    until expression; the pipeline checks the duration reads and the expression gives a date."""
    if action["wait_mode"] == "until":
        if not action["until"]:
            add(f"{p}.until", "enter an expression giving a date or a datetime, e.g. ADD_DAYS(close_date, -1)")
        doc["until"] = action["until"]
    elif action["wait_mode"] == "duration":
        text = action["duration"]
        if not text:
            add(f"{p}.duration", "enter how long, e.g. 3d, 4h 30m or 90m")
        doc["duration"] = int(text) if _SECONDS.match(text) else text
    else:
        add(f"{p}.wait_mode", "choose a time or a date to wait for")
    if action["recheck"] == "0":
        doc["recheck_condition"] = False


_DOC_OF = {"assign_owner": _assign_doc, "notify": _notify_doc, "submit_for_approval": _submit_doc,
           "send_email": _email_doc, "webhook": _webhook_doc, "wait": _wait_doc}


def _values_doc(action, p, md, object_name, before_save, add, rows: str = "values") -> dict:
    """The value rows of `rows` (values; upsert_record's on_create, which may stay empty)."""
    target_name = value_target(md, object_name, action)
    target = md.objects.get(target_name) if target_name else None
    values: dict = {}
    for j, (field, expr) in enumerate(action[rows]):
        if not field and not expr:
            continue
        at = f"{p}.{rows}.{j}"
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
    if not values and rows == "values":
        add(f"{p}.values", "set at least one field")
    return values


# --------------------------------------------------------------------------- pipeline errors → inputs

_SAME_NAME = ("type", "label", "condition", "lookup", "object", "values", "then", "else", "user", "queue", "group",
              "method", "busy_filter", "title", "message", "process", "template", "url", "credential", "event",
              "payload", "filter", "duration", "until")


def action_input(key: str, action: dict, rest: list[str]) -> str:
    """The input of step `key` (its draft `action`) showing the document path `rest` inside it."""
    kind = action["type"]
    if rest and rest[0] in ("values", "on_create") and len(rest) > 1:
        for j, (field, _expr) in enumerate(action[rest[0]]):
            if field == rest[1]:
                return f"{key}.{rest[0]}.{j}.expr"
        return f"{key}.{rest[0]}"
    if rest and rest[0] == "match":   # match.field / match.value; the match as a whole: where it is chosen
        if len(rest) > 1 and rest[1] in ("field", "value"):
            return f"{key}.match_{rest[1]}"
        return f"{key}.find" if kind == "update_record" else f"{key}.match_field"
    if rest and rest[0] == "on_create":
        return f"{key}.on_create"
    if not rest:   # a rule about the step as a whole ("exactly one of …", "needs recipients")
        return {"assign_owner": f"{key}.{action['assign']}", "notify": f"{key}.to",
                "wait": f"{key}.{action['wait_mode']}"}.get(kind, f"{key}.type")
    if rest[0] in ("to", "cc"):   # the document's list leaves out blank rows: find the k-th filled one
        rows = "email_to" if rest[0] == "to" and kind == "send_email" else rest[0]
        filled = [k for k, t in enumerate(action[rows]) if t]
        if len(rest) > 1 and _INDEX.match(rest[1]) and int(rest[1]) < len(filled):
            return f"{key}.{rows}.{filled[int(rest[1])]}"
        return f"{key}.{rows}"
    if rest[0] in POOLS and kind == "notify":
        return f"{key}.notify_{rest[0]}"
    if rest[0] in ("object", "lookup") and kind == "update_related":
        return f"{key}.related"
    if rest[0] == "recheck_condition":
        return f"{key}.recheck"
    if rest[0] in _SAME_NAME:
        return f"{key}.{rest[0]}"
    return f"{key}.type"
