"""Semantic checks on workflows (workflows/<name>.yaml): what JSON Schema cannot see alone.

The object exists; the entry condition and every `if` condition type-check as booleans on the
triggering object (write context: PRIORVALUE and ISCHANGED allowed); every value is an expression
of the type its target field takes; target fields exist and can be set; before-save workflows only
change the record being saved; a created record gets every required field it has no default for;
a wait has exactly one of duration and until (a date or datetime) and only where a run can come
back to its record; an inbound-webhook workflow's expressions name only its declared payload keys.
A `match` (upsert_record; update_record of a record other than the triggering one) keys on an
external id or unique field — a key that could name two records is refused — with a value of that
field's type; upsert_record cannot key on an autonumber (a new record cannot be given its number),
and what it creates gets every required field from match, values or on_create.
Every error names the workflow's file and the path inside it.
"""
from __future__ import annotations

from ..expr import ExprError, compile_expression
from .errors import MetaError
from .fieldtypes import SYSTEM_FIELD_EXPR_TYPES
from .model import Metadata, ObjectDef

BEFORE_SAVE_ACTIONS = frozenset({"update_record", "if"})
# the properties each action type takes (the schema lists them all, for one clear unknown-property error)
ACTION_PROPERTIES = {"update_record": {"values", "match", "object"}, "update_parent": {"lookup", "values"},
                     "update_related": {"object", "lookup", "filter", "values"},
                     "create_record": {"object", "values"}, "if": {"condition", "then", "else"},
                     "upsert_record": {"object", "match", "values", "on_create"},
                     "assign_owner": {"user", "queue", "group", "method", "busy_filter"},
                     "notify": {"to", "queue", "group", "title", "message"}, "send_email": {"template", "to", "cc"},
                     "webhook": {"url", "credential", "event", "payload"}, "submit_for_approval": {"process"},
                     "wait": {"duration", "until", "recheck_condition"}}
# an inbound webhook has no record: its actions create records from the payload, or find them by
# a key (upsert_record; update_record with match)
INBOUND_ACTIONS = frozenset({"create_record", "upsert_record", "update_record", "if"})
SETTABLE_SYSTEM_FIELDS = frozenset({"owner"})


def value_type(obj: ObjectDef, name: str) -> str | None:
    """The expression type a workflow value for `obj.name` must have (None: not settable)."""
    if name in SETTABLE_SYSTEM_FIELDS:
        return SYSTEM_FIELD_EXPR_TYPES[name]
    from .validate import expected_type
    f = obj.fields.get(name)
    if f is None or not f.stored or f.type == "autonumber":
        return None
    return expected_type(f)


def settable_problem(obj: ObjectDef, name: str, *, before_save: bool) -> str | None:
    """Why a workflow cannot set `obj.name` (None when it can). Before-save updates may set
    read-only fields (automation maintains them, like an SLA due time); other actions write
    through the record service as input, where read-only fields are refused."""
    if name in SETTABLE_SYSTEM_FIELDS:
        return None
    f = obj.fields.get(name)
    if f is None:
        return f"'{obj.name}' has no field '{name}'"
    if not f.stored:
        return f"'{obj.name}.{name}' is a {f.type} field: it is computed, not set"
    if f.type == "autonumber":
        return f"'{obj.name}.{name}' is an autonumber: it is numbered, not set"
    if f.type == "json":
        return f"'{obj.name}.{name}' is a json field: workflows cannot set it"
    if f.read_only and not before_save:
        return f"'{obj.name}.{name}' is read-only: only a before-save update of the record itself can set it"
    return None


def check_workflows(md: Metadata) -> list[MetaError]:
    errors: list[MetaError] = []
    for comp in md.workflows.values():
        errors += _check_workflow(md, comp)
    return errors


RECORD_EVENTS = frozenset({"create", "update", "create_or_update", "delete"})
# trigger properties that belong to one kind of event only
_EVENT_PROPERTIES = {"timing": RECORD_EVENTS, "when": RECORD_EVENTS, "field": {"time_relative"},
                     "offset": {"time_relative"}, "cron": {"scheduled"}, "secret": {"inbound_webhook"},
                     "payload": {"inbound_webhook"}, "user": {"inbound_webhook"}}
TIME_FIELD_TYPES = frozenset({"date", "datetime"})


def _check_trigger(md, obj, trigger, src, errors) -> None:
    event = trigger["event"]
    for key, events in _EVENT_PROPERTIES.items():
        if key in trigger and event not in events:
            errors.append(MetaError(src, f"trigger.{key}", f"'{key}' does not apply to {event} triggers"))
    if event == "time_relative":
        for key in ("field", "offset"):
            if key not in trigger:
                errors.append(MetaError(src, f"trigger.{key}", "required for time_relative triggers"))
        name = trigger.get("field")
        if name is not None and name not in ("created_at", "updated_at"):
            f = obj.fields.get(name)
            if f is None or not f.stored or f.type not in TIME_FIELD_TYPES:
                errors.append(MetaError(src, "trigger.field", f"'{obj.name}.{name}' is not a stored date or datetime field"))
    if event == "inbound_webhook":
        for key in ("secret", "user", "payload"):
            if key not in trigger:
                errors.append(MetaError(src, f"trigger.{key}", "required for inbound_webhook triggers"))
        if "condition" in trigger:
            errors.append(MetaError(src, "trigger.condition", "an inbound webhook has no record to check a condition "
                                                              "on: use an if action over payload.<key>"))
    if event == "scheduled":
        if "cron" not in trigger:
            errors.append(MetaError(src, "trigger.cron", "required for scheduled triggers"))
        else:
            from cronsim import CronSim, CronSimError
            from datetime import datetime, timezone
            try:
                CronSim(trigger["cron"], datetime(2000, 1, 1, tzinfo=timezone.utc))
            except (CronSimError, TypeError, ValueError) as exc:
                errors.append(MetaError(src, "trigger.cron", f"not a cron expression (minute hour day month weekday): {exc}"))


def check_workflow(md: Metadata, comp) -> list[MetaError]:
    """The semantic checks of one workflow (a draft the change pipeline has not seen yet)."""
    return _check_workflow(md, comp)


def _check_workflow(md: Metadata, comp) -> list[MetaError]:
    src = comp.source
    obj = md.objects.get(comp["object"])
    if obj is None:
        return [MetaError(src, "object", f"there is no object '{comp['object']}'")]
    errors: list[MetaError] = []
    trigger = comp["trigger"]
    timing = trigger.get("timing", "after_save")
    _check_trigger(md, obj, trigger, src, errors)
    if trigger["event"] == "delete":
        if timing == "before_save":
            errors.append(MetaError(src, "trigger.timing", "a delete has nothing to save: delete triggers run after_save"))
        if trigger.get("when") == "becomes_true":
            errors.append(MetaError(src, "trigger.when", "becomes_true needs a record that stays: not for delete triggers"))
    if trigger.get("condition") and trigger["event"] != "inbound_webhook":
        # a scheduled trigger's condition selects records in SQL: no PRIORVALUE / ISCHANGED there
        _compile(md, obj, trigger["condition"], "boolean", src, "trigger.condition", errors,
                 context="read" if trigger["event"] == "scheduled" else "write",
                 current_user=trigger["event"] not in PLATFORM_RUN)
    if trigger["event"] == "inbound_webhook":
        kinds: list[MetaError] = []
        for i, action in enumerate(comp["actions"]):
            _check_inbound_kinds(action, f"actions.{i}", src, kinds)
        if kinds:
            return errors + kinds
        scope = PayloadScope(obj.name, trigger.get("payload") or {})
        _check_actions(md, scope, comp["actions"], "actions", src, False, False, errors)
        return errors
    no_wait = ("a wait needs a record to come back to: a deleted record has none" if trigger["event"] == "delete"
               else None)
    _check_actions(md, obj, comp["actions"], "actions", src, timing == "before_save", trigger["event"] == "delete",
                   errors, no_wait=no_wait)
    return errors


class PayloadScope:
    """What an inbound webhook's expressions see in place of a record: payload.<key>, typed as the
    trigger declares (a key missing from the body is blank)."""

    def __init__(self, name: str, types: dict):
        self.name, self.types = name, dict(types)

    def resolve(self, path) -> str | None:
        path = tuple(path)
        return self.types.get(path[1]) if len(path) == 2 and path[0] == "payload" else None


def _check_inbound_kinds(action, at, src, errors) -> None:
    if action["type"] not in INBOUND_ACTIONS:
        errors.append(MetaError(src, f"{at}.type", f"an inbound webhook has no record: its actions are "
                                                   f"{', '.join(sorted(INBOUND_ACTIONS))}, not '{action['type']}'"))
        return
    if action["type"] == "update_record" and "match" not in action:
        errors.append(MetaError(src, f"{at}.match", "an inbound webhook has no record of its own: update_record "
                                                    "needs a match (field and value) naming the record to update"))
    for branch in ("then", "else"):
        for i, inner in enumerate(action.get(branch) or ()):
            _check_inbound_kinds(inner, f"{at}.{branch}.{i}", src, errors)


# triggers the platform runs on its own clock, for no user: CURRENT_USER() would always be blank
PLATFORM_RUN = ("scheduled", "time_relative")


def _compile(md, obj, text, expected, src, where, errors, *, context="write", current_user=False):
    from .validate import resolver
    resolve = obj.resolve if isinstance(obj, PayloadScope) else resolver(md, obj)
    try:
        return compile_expression(text, resolve, context=context, expected=expected, current_user=current_user)
    except ExprError as exc:
        errors.append(MetaError(src, where, str(exc)))
        return None


def _check_values(md, trigger_obj, target_obj, values, where, src, before_save, errors):
    for name, text in values.items():
        problem = settable_problem(target_obj, name, before_save=before_save)
        if problem:
            errors.append(MetaError(src, f"{where}.{name}", problem))
            continue
        _compile(md, trigger_obj, text, value_type(target_obj, name), src, f"{where}.{name}", errors)


NO_WAIT = "a wait is not allowed here: only a workflow's run can pause and come back to its record"


def _check_actions(md, obj, actions, where, src, before_save, deleted, errors, *, no_wait: str | None = NO_WAIT):
    """`no_wait`: why a wait cannot be among these actions (None: it can)."""
    for i, action in enumerate(actions):
        at = f"{where}.{i}"
        kind = action["type"]
        extra = set(action) - {"type", "label"} - ACTION_PROPERTIES[kind]
        if extra:
            for key in sorted(extra):
                errors.append(MetaError(src, f"{at}.{key}", f"'{key}' does not apply to {kind} actions "
                                                            f"(they take: {', '.join(sorted(ACTION_PROPERTIES[kind]))})"))
            continue
        if kind == "wait" and before_save:
            errors.append(MetaError(src, f"{at}.type", "a before-save workflow cannot wait: it changes the record "
                                                       "inside its own save (use timing: after_save)"))
            continue
        if before_save and kind not in BEFORE_SAVE_ACTIONS:
            errors.append(MetaError(src, f"{at}.type", f"a before-save workflow only changes the record being saved "
                                                       f"(update_record, if); '{kind}' needs timing: after_save"))
            continue
        if kind == "update_record" and ("match" in action or "object" in action):
            errors += _matched_update_problems(md, obj, action, at, src, before_save, errors)
        elif kind == "update_record":
            if deleted:
                errors.append(MetaError(src, f"{at}.type", "the record is deleted: there is nothing to update"))
                continue
            _check_values(md, obj, obj, action["values"], f"{at}.values", src, before_save, errors)
        elif kind == "upsert_record":
            _check_upsert(md, obj, action, at, src, errors)
        elif kind == "update_parent":
            link = obj.fields.get(action["lookup"])
            if link is None or not link.is_relation:
                errors.append(MetaError(src, f"{at}.lookup", f"'{obj.name}.{action['lookup']}' is not a lookup field"))
                continue
            parent = md.objects.get(link.target)
            if parent is not None:
                _check_values(md, obj, parent, action["values"], f"{at}.values", src, False, errors)
        elif kind == "update_related":
            if deleted:
                errors.append(MetaError(src, f"{at}.type", "the record is deleted: its related records are being "
                                                           "deleted or detached with it"))
                continue
            errors.extend(_related_problems(md, obj, action, at, src))
            related = md.objects.get(action["object"])
            if related is not None:
                _check_values(md, obj, related, action["values"], f"{at}.values", src, False, errors)
                if action.get("filter"):
                    _compile(md, related, action["filter"], "boolean", src, f"{at}.filter", errors, context="read")
        elif kind == "create_record":
            target = md.objects.get(action["object"])
            if target is None:
                errors.append(MetaError(src, f"{at}.object", f"there is no object '{action['object']}'"))
                continue
            _check_values(md, obj, target, action["values"], f"{at}.values", src, False, errors)
            missing = [f.name for f in target.stored_fields
                       if f.required and f.type != "autonumber" and f.default is None and not f.default_expression
                       and f.name not in action["values"]]
            if missing:
                errors.append(MetaError(src, f"{at}.values", f"'{target.name}' requires {', '.join(missing)}: "
                                                             "give a value for each"))
        elif kind == "assign_owner":
            if deleted:
                errors.append(MetaError(src, f"{at}.type", "the record is deleted: it has no owner to assign"))
            elif sum(key in action for key in ("user", "queue", "group")) != 1:
                errors.append(MetaError(src, at, "assign_owner takes a user, a queue or a group (exactly one)"))
            elif "user" in action:
                for key in ("method", "busy_filter"):
                    if key in action:
                        errors.append(MetaError(src, f"{at}.{key}", f"'{key}' applies to assignment over a queue or a group"))
                compiled = _compile(md, obj, action["user"], "id", src, f"{at}.user", errors)
                if compiled is not None and compiled.type != "id":   # `fits` lets text stand for an id
                    errors.append(MetaError(src, f"{at}.user", f"the expression must give an id (a user "
                                                               f"lookup such as account.owner), but gives {compiled.type}"))
            elif action.get("busy_filter"):
                if action.get("method") != "least_busy":
                    errors.append(MetaError(src, f"{at}.busy_filter", "busy_filter applies to method: least_busy"))
                else:
                    _compile(md, obj, action["busy_filter"], "boolean", src, f"{at}.busy_filter", errors,
                             context="read")
        elif kind == "notify":
            if not action.get("to") and not action.get("queue") and not action.get("group"):
                errors.append(MetaError(src, at, "notify needs recipients: `to` (user id expressions), a `queue` "
                                                 "and/or a `group`"))
            for i, text in enumerate(action.get("to") or ()):
                compiled = _compile(md, obj, text, "id", src, f"{at}.to.{i}", errors)
                if compiled is not None and compiled.type != "id":
                    errors.append(MetaError(src, f"{at}.to.{i}", f"the expression must give a user id, but gives {compiled.type}"))
            _compile(md, obj, action["title"], "text", src, f"{at}.title", errors)
            if action.get("message"):
                _compile(md, obj, action["message"], "text", src, f"{at}.message", errors)
        elif kind == "send_email":
            from .validate_email_templates import check_send_email
            check_send_email(md, obj, action, at, src, deleted, _compile, errors)
        elif kind == "webhook":
            errors += _webhook_problems(obj, action, at, src)
        elif kind == "submit_for_approval":
            errors += _submit_problems(md, obj, action, at, src, deleted)
        elif kind == "wait":
            errors += _wait_problems(md, obj, action, at, src, no_wait)
        elif kind == "if":
            _compile(md, obj, action["condition"], "boolean", src, f"{at}.condition", errors)
            _check_actions(md, obj, action["then"], f"{at}.then", src, before_save, deleted, errors, no_wait=no_wait)
            _check_actions(md, obj, action.get("else") or (), f"{at}.else", src, before_save, deleted, errors,
                           no_wait=no_wait)


def _matched_update_problems(md, obj, action, at, src, before_save, errors) -> list[MetaError]:
    """update_record with match: another record (of `object`, default the workflow's), found by key.
    Appends value and match errors to `errors`; returns the problems that stop the check."""
    if "match" not in action:
        return [MetaError(src, f"{at}.object", "'object' applies to update_record with a match (without one it "
                                               "updates the triggering record)")]
    if before_save:
        return [MetaError(src, f"{at}.match", "a before-save workflow only changes the record being saved: an "
                                              "update by match needs timing: after_save")]
    target = md.objects.get(action.get("object") or obj.name)
    if target is None:
        return [MetaError(src, f"{at}.object", f"there is no object '{action['object']}'")]
    _check_match(md, obj, target, action["match"], f"{at}.match", src, errors, upsert=False)
    _check_values(md, obj, target, action["values"], f"{at}.values", src, False, errors)
    return []


def _check_upsert(md, obj, action, at, src, errors) -> None:
    target = md.objects.get(action["object"])
    if target is None:
        errors.append(MetaError(src, f"{at}.object", f"there is no object '{action['object']}'"))
        return
    key = action["match"]["field"]
    _check_match(md, obj, target, action["match"], f"{at}.match", src, errors, upsert=True)
    on_create = action.get("on_create") or {}
    for part, values in (("values", action["values"]), ("on_create", on_create)):
        if key in values:
            errors.append(MetaError(src, f"{at}.{part}.{key}", f"'{key}' is the match key: match.value sets it"))
        _check_values(md, obj, target, {k: v for k, v in values.items() if k != key}, f"{at}.{part}", src, False,
                      errors)
    for name in sorted(set(on_create) & set(action["values"]) - {key}):
        errors.append(MetaError(src, f"{at}.on_create.{name}", f"'{name}' is in values already (values are set on "
                                                               "create too): give it in one place"))
    given = {key, *action["values"], *on_create}
    missing = [f.name for f in target.stored_fields
               if f.required and f.type != "autonumber" and f.default is None and not f.default_expression
               and f.name not in given]
    if missing:
        errors.append(MetaError(src, f"{at}.on_create", f"'{target.name}' requires {', '.join(missing)}: give a "
                                                        "value for each in values or on_create (a new record "
                                                        "needs it)"))


def _check_match(md, obj, target, match, where, src, errors, *, upsert: bool) -> None:
    """The key field is unique (an external id, or unique: true) and the value an expression of its type."""
    from .validate import expected_type
    name = match["field"]
    f = target.fields.get(name)
    if f is None:
        errors.append(MetaError(src, f"{where}.field", f"'{target.name}' has no field '{name}'"))
        return
    if not (f.unique and f.stored):
        errors.append(MetaError(src, f"{where}.field", f"'{target.name}.{name}' is neither an external id nor "
                                                       "unique, so it may name several records: match on a field "
                                                       "with external_id: true (or unique: true)"))
        return
    if upsert and f.type == "autonumber":
        errors.append(MetaError(src, f"{where}.field", f"'{target.name}.{name}' is an autonumber: a record cannot be "
                                                       "created with a given number (use update_record with match)"))
        return
    _compile(md, obj, match["value"], "text" if f.type == "autonumber" else expected_type(f), src, f"{where}.value",
             errors)


def _wait_problems(md, obj, action, at, src, no_wait) -> list[MetaError]:
    """Exactly one of duration (a duration text or seconds) and until (a date or datetime
    expression on the record)."""
    if no_wait:
        return [MetaError(src, f"{at}.type", no_wait)]
    if ("duration" in action) == ("until" in action):
        return [MetaError(src, at, "a wait takes a duration or an until expression (exactly one)")]
    errors: list[MetaError] = []
    if "duration" in action:
        from .durations import parse_duration
        try:
            parse_duration(action["duration"])
        except ValueError as exc:
            errors.append(MetaError(src, f"{at}.duration", f"{exc}"))
        return errors
    compiled = _compile(md, obj, action["until"], None, src, f"{at}.until", errors)
    if compiled is not None and compiled.type not in ("date", "datetime", "null"):
        errors.append(MetaError(src, f"{at}.until", f"the expression must give a date or a datetime, "
                                                    f"but gives {compiled.type}"))
    return errors


def _related_problems(md: Metadata, obj: ObjectDef, action, at, src) -> list[MetaError]:
    related = md.objects.get(action["object"])
    if related is None:
        return [MetaError(src, f"{at}.object", f"there is no object '{action['object']}'")]
    link = related.fields.get(action["lookup"])
    if link is None or not link.is_relation:
        return [MetaError(src, f"{at}.lookup", f"'{related.name}.{action['lookup']}' is not a lookup field")]
    if link.target != obj.name:
        return [MetaError(src, f"{at}.lookup", f"'{related.name}.{action['lookup']}' points at '{link.target}', "
                                               f"not at '{obj.name}' (the triggering object)")]
    return []


def _submit_problems(md, obj, action, at, src, deleted) -> list[MetaError]:
    """The named approval process exists and is of the workflow's object (or, unnamed, the object
    has one)."""
    if deleted:
        return [MetaError(src, f"{at}.type", "the record is deleted: it cannot be submitted for approval")]
    name = action.get("process")
    if name is None:
        if not any(p["object"] == obj.name for p in md.approval_processes.values()):
            return [MetaError(src, at, f"there is no approval process for '{obj.name}' records to submit to")]
        return []
    process = md.approval_processes.get(name)
    if process is None:
        return [MetaError(src, f"{at}.process", f"there is no approval process '{name}'")]
    if process["object"] != obj.name:
        return [MetaError(src, f"{at}.process", f"approval process '{name}' is for {process['object']} records, "
                                                f"not {obj.name}")]
    return []


def _webhook_problems(obj: ObjectDef, action, at, src) -> list[MetaError]:
    """The URL is a literal http(s) URL without secrets in it (the signing key is a named
    credential, checked to exist when the workflow runs: credentials are data, not metadata);
    payload names fields of the object."""
    from .outbound_url import url_problem
    errors = []
    problem = url_problem(action["url"])
    if problem:
        errors.append(MetaError(src, f"{at}.url", problem))
    for i, name in enumerate(action.get("payload") or ()):
        if name != "id" and name not in obj.fields and name not in SYSTEM_FIELD_EXPR_TYPES:
            errors.append(MetaError(src, f"{at}.payload.{i}", f"'{obj.name}' has no field '{name}'"))
    return errors
