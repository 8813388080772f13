"""Workflow metadata compiled once per Runtime: conditions and values as compiled expressions,
indexed by (object, event, timing), so a write asks one dictionary whether anything listens.

Workflows listening to the same event run in name order (a stable order anyone can read in the
metadata; Salesforce's flow trigger order is the same idea with explicit numbers).
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass
from datetime import timedelta

from ..expr import Compiled, compile_expression
from ..meta.model import Metadata
from ..meta.validate import expected_type, resolver
from ..meta.durations import parse_duration
from ..meta.validate_workflows import PLATFORM_RUN, PayloadScope, value_type
from .webhooks import WebhookSpec

EVENTS = {"create": ("create",), "update": ("update",), "create_or_update": ("create", "update"),
          "delete": ("delete",)}


@dataclass(frozen=True)
class Action:
    kind: str                                   # update_record, update_parent, create_record, upsert_record, if …
    path: str                                   # where it is in the workflow (actions.1.then.0)
    label: str
    values: tuple[tuple[str, Compiled], ...] = ()
    lookup: str | None = None                   # update_parent: the lookup field; update_related: the related one's
    target: str | None = None                   # create/upsert_record, update_record by match: the object;
                                                # update_parent/related: the other object
    match_field: str | None = None              # upsert_record, update_record by match: the key field
    match_value: Compiled | None = None         # the key, an expression
    on_create: tuple[tuple[str, Compiled], ...] = ()   # upsert_record: values only a new record gets
    condition: Compiled | None = None           # if
    user: Compiled | None = None                # assign_owner to a user
    queue: str | None = None                    # assign_owner over a queue's members; notify them
    group: str | None = None                    # the same, over a group's members
    method: str = "round_robin"
    busy_filter: str | None = None              # least_busy: the object's records that count
    related_filter: str | None = None           # update_related: which related records (an expression on them)
    to: tuple[Compiled, ...] = ()               # notify: user id expressions
    title: Compiled | None = None               # notify
    message: Compiled | None = None             # notify
    template: str | None = None                 # send_email: the email template (to: address expressions)
    cc: tuple[Compiled, ...] = ()               # send_email
    webhook: WebhookSpec | None = None          # webhook
    process: str | None = None                  # submit_for_approval: the process (None: the first that applies)
    duration: timedelta | None = None           # wait: how long (or `until`: a date/datetime expression)
    until: Compiled | None = None
    recheck: bool = True                        # wait: check the entry condition again when it ends
    then: tuple["Action", ...] = ()
    otherwise: tuple["Action", ...] = ()


@dataclass(frozen=True)
class Workflow:
    name: str
    label: str
    object: str
    events: tuple[str, ...]                     # record events; () for the other triggers
    timing: str
    condition: Compiled | None
    becomes_true: bool
    run_as: str
    actions: tuple[Action, ...]
    trigger: str = "record"                     # record, time_relative, scheduled, manual
    field: str | None = None                    # time_relative: the date/datetime field
    offset: timedelta = timedelta(0)            # time_relative: from the field's value
    cron: str | None = None                     # scheduled
    secret: str | None = None                   # inbound_webhook: the webhook_signing credential
    user: str | None = None                     # inbound_webhook: the username it acts for
    payload: tuple[tuple[str, str], ...] = ()   # inbound_webhook: (key, type) of the body's keys it uses


class CompiledWorkflows:
    def __init__(self, md: Metadata):
        self.by_name: dict[str, Workflow] = {}
        self.listening: dict[tuple[str, str, str], tuple[Workflow, ...]] = {}
        index: dict[tuple, list] = {}
        timed: dict[str, list] = {}
        for name in sorted(md.workflows):
            comp = md.workflows[name]
            if comp.get("active", True) is False:
                continue
            wf = _compile_workflow(md, comp)
            self.by_name[name] = wf
            for event in wf.events:
                index.setdefault((wf.object, event, wf.timing), []).append(wf)
            if wf.trigger == "time_relative":
                timed.setdefault(wf.object, []).append(wf)
        self.listening = {key: tuple(wfs) for key, wfs in index.items()}
        self.timed: dict[str, tuple[Workflow, ...]] = {name: tuple(wfs) for name, wfs in timed.items()}
        self.scheduled = tuple(wf for wf in self.by_name.values() if wf.trigger == "scheduled")

    def for_event(self, object_name: str, event: str, timing: str) -> tuple[Workflow, ...]:
        return self.listening.get((object_name, event, timing), ())

    def timed_for(self, object_name: str) -> tuple[Workflow, ...]:
        return self.timed.get(object_name, ())


_cache: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def workflows_of(runtime) -> CompiledWorkflows:
    """The runtime's compiled workflows (compiled on first use, kept as long as the Runtime)."""
    compiled = _cache.get(runtime)
    if compiled is None:
        compiled = _cache.setdefault(runtime, CompiledWorkflows(runtime.metadata))
    return compiled


def compile_actions(md: Metadata, obj, items, where: str, resolve=None) -> tuple[Action, ...]:
    """A list of workflow actions (validated metadata) on records of `obj`, compiled; `where` is
    the list's path in its document (actions, on_approve ...), which names each step in run logs.
    `resolve`: what expressions may name (default: the fields of `obj`'s records)."""
    resolve = resolve or resolver(md, obj)

    def expr(text, expected):
        return compile_expression(text, resolve, context="write", expected=expected)

    def values_for(target_name, values):
        target = md.objects[target_name]
        return tuple((field, expr(text, value_type(target, field))) for field, text in values.items())

    def match_of(target_name, match):
        f = md.objects[target_name].fields[match["field"]]
        return {"match_field": f.name,
                "match_value": expr(match["value"], "text" if f.type == "autonumber" else expected_type(f))}

    def actions(items, where):
        out = []
        for i, a in enumerate(items):
            path = f"{where}.{i}"
            kind = a["type"]
            label = a.get("label") or kind.replace("_", " ")
            if kind == "update_record" and "match" in a:
                target = a.get("object") or obj.name
                out.append(Action(kind, path, label, values_for(target, a["values"]), target=target,
                                  **match_of(target, a["match"])))
            elif kind == "update_record":
                out.append(Action(kind, path, label, values_for(obj.name, a["values"])))
            elif kind == "upsert_record":
                out.append(Action(kind, path, label, values_for(a["object"], a["values"]), target=a["object"],
                                  on_create=values_for(a["object"], a.get("on_create") or {}),
                                  **match_of(a["object"], a["match"])))
            elif kind == "update_parent":
                parent = obj.fields[a["lookup"]].target
                out.append(Action(kind, path, label, values_for(parent, a["values"]), lookup=a["lookup"], target=parent))
            elif kind == "update_related":
                related = md.objects[a["object"]]
                out.append(Action(kind, path, label, values_for(related.name, a["values"]), lookup=a["lookup"],
                                  target=related.name, related_filter=a.get("filter")))
            elif kind == "create_record":
                out.append(Action(kind, path, label, values_for(a["object"], a["values"]), target=a["object"]))
            elif kind == "assign_owner":
                out.append(Action(kind, path, label, user=expr(a["user"], "id") if "user" in a else None,
                                  queue=a.get("queue"), group=a.get("group"),
                                  method=a.get("method", "round_robin"),
                                  busy_filter=a.get("busy_filter")))
            elif kind == "notify":
                out.append(Action(kind, path, label, queue=a.get("queue"), group=a.get("group"),
                                  to=tuple(expr(text, "id") for text in a.get("to") or ()),
                                  title=expr(a["title"], "text"),
                                  message=expr(a["message"], "text") if a.get("message") else None))
            elif kind == "send_email":
                out.append(Action(kind, path, label, template=a["template"],
                                  to=tuple(expr(text, "text") for text in a["to"]),
                                  cc=tuple(expr(text, "text") for text in a.get("cc") or ())))
            elif kind == "webhook":
                out.append(Action(kind, path, label, webhook=WebhookSpec(a["url"], a["credential"], a.get("event"),
                                                                         tuple(a.get("payload") or ()))))
            elif kind == "submit_for_approval":
                out.append(Action(kind, path, label, process=a.get("process")))
            elif kind == "wait":
                out.append(Action(kind, path, label, recheck=a.get("recheck_condition", True),
                                  duration=(timedelta(seconds=parse_duration(a["duration"])) if "duration" in a
                                            else None),
                                  until=expr(a["until"], None) if "until" in a else None))
            elif kind == "if":
                out.append(Action(kind, path, label, condition=expr(a["condition"], "boolean"),
                                  then=actions(a["then"], f"{path}.then"),
                                  otherwise=actions(a.get("else") or (), f"{path}.else")))
        return tuple(out)

    return actions(items, where)


def compile_workflow(md: Metadata, comp) -> Workflow:
    """One validated workflow document, compiled (active or not: a dry run tries drafts too)."""
    return _compile_workflow(md, comp)


def _compile_workflow(md: Metadata, comp) -> Workflow:
    obj = md.objects[comp["object"]]
    trigger = comp["trigger"]
    resolve = resolver(md, obj)
    event = trigger["event"]
    offset = trigger.get("offset") or {}
    payload = trigger.get("payload") or {}
    if event == "inbound_webhook":   # no record: expressions name payload.<key>
        actions = compile_actions(md, obj, comp["actions"], "actions", PayloadScope(obj.name, payload).resolve)
    else:
        actions = compile_actions(md, obj, comp["actions"], "actions")
    return Workflow(
        name=comp.name, label=comp.get("label") or comp.name.replace("_", " ").title(), object=obj.name,
        events=EVENTS.get(event, ()), timing=trigger.get("timing", "after_save"),
        condition=(compile_expression(trigger["condition"], resolve, context="read" if event == "scheduled" else "write",
                                      expected="boolean", current_user=event not in PLATFORM_RUN) if trigger.get("condition") else None),
        becomes_true=trigger.get("when") == "becomes_true", run_as=comp.get("run_as", "system"),
        actions=actions,
        trigger=event if event in ("time_relative", "scheduled", "manual", "inbound_webhook") else "record",
        field=trigger.get("field"),
        offset=timedelta(days=offset.get("days", 0), hours=offset.get("hours", 0), minutes=offset.get("minutes", 0)),
        cron=trigger.get("cron"), secret=trigger.get("secret"), user=trigger.get("user"), payload=tuple(payload.items()))
