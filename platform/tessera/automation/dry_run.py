"""A workflow's dry run ("test on a record"): run a workflow — its stored definition or an unsaved
draft — against one saved record and show what it WOULD do, leaving no trace.

The draft is validated like metadata (JSON Schema, then the semantic checks: errors name the path
inside the document), compiled, and run by the engine itself (no second copy of the action logic)
in a transaction that is always rolled back:

  * the entry condition is evaluated on the record and shown; when it does not hold, nothing runs;
  * before-save workflows: the field values the save would get (before → after);
  * after-save and other workflows: every step through the record service as usual — updates
    (before → after), created records (read back before the rollback), upserts and updates by a
    match key (created or updated, the key, the record read back), owners, notifications,
    `if` branches taken — including the workflows those writes trigger in turn;
  * send_email and webhook steps (of this run and of those it triggers) queue nothing: the engine
    collects the rendered email (subject, recipients, bodies) and the request that would be sent
    (URL, body; never the signing secret) instead (engine.collecting_messages).

The rollback takes everything else with it: no outbox row, no delivery, no job, no notification,
no run in the run log (a failure is returned, not recorded). The result is returned, never stored.
"""
from __future__ import annotations

import copy

from ..meta.model import Component
from ..meta.schema import validate_document
from ..meta.validate_workflows import check_workflow
from ..records.errors import NotFound, ValidationFailed, WorkflowFailed
from ..security.actor import SYSTEM, Actor
from ..storage.engine import begin_write
from . import before_save
from .compiler import compile_workflow
from .engine import collecting_messages

UPDATES = ("update_record", "update_parent")
KEYED = ("upsert_record", "update_record")     # with a match: their steps say created / updated


class _RollBack(Exception):
    """Ends the dry run's transaction: whatever happens, it never commits."""


def validated_draft(md, name: str, definition) -> Component:
    """The draft as a workflow component of the active metadata; ValidationFailed (422) naming each
    problem's path otherwise."""
    if not isinstance(definition, dict):
        raise ValidationFailed('"definition" must be a workflow document (an object)')
    doc = {**copy.deepcopy(definition), "name": name}
    source = f"workflows/{name}.yaml"
    errors = validate_document("workflow", doc, source)
    comp = Component("workflow", name, doc, None, source)
    if not errors:
        errors = check_workflow(md, comp)
    if errors:
        raise ValidationFailed(f"the workflow definition has {len(errors)} problem{'s' if len(errors) != 1 else ''}",
                               fields={e.path or "(document)": [e.message] for e in errors},
                               details={"errors": [{"path": e.path, "message": e.message} for e in errors]})
    return comp


def dry_run(services, actor: Actor, name: str, record_id, definition: dict | None = None) -> dict:
    """Run workflow `name` (or the draft `definition` in its place) on `record_id`, rolled back.
    NotFound: no such workflow or record (or not visible to `actor`); ValidationFailed: a bad draft."""
    rt = services.runtimes.current()
    md = rt.metadata
    stored = md.workflows.get(name)
    if stored is None:
        raise NotFound(f"there is no workflow '{name}'")
    comp = validated_draft(md, name, definition) if definition is not None else stored
    wf = compile_workflow(md, comp)
    records = services.records
    shown = records.get(actor, wf.object, record_id)   # 404 unless the actor sees it
    obj = md.objects[wf.object]
    result = {"workflow": name, "draft": definition is not None, "object": wf.object,
              "record": {"id": shown["id"], "name": shown.get(obj.name_field) if obj.name_field else None},
              "condition": None, "status": "would_run", "steps": [], "emails": [], "webhooks": [],
              "rolled_back": True}
    try:
        with begin_write(records.engine) as conn:
            _run(services.records, conn, wf, actor, shown, result)
            raise _RollBack
    except _RollBack:
        pass
    return result


def _event(wf) -> str:
    if wf.trigger != "record":
        return wf.trigger
    return "update" if "update" in wf.events else wf.events[0]


def _run(records, conn, wf, actor, shown, result) -> None:
    engine = records.hooks
    values = records.stored_row(conn, wf.object, shown["id"])
    ctx = records.automation_context(conn, wf.object, actor)
    if wf.condition is not None:
        holds = ctx.evaluate(wf.condition, values, None) is True
        result["condition"] = {"expression": wf.condition.text, "result": holds}
        if not holds:
            result["status"] = "would_skip"
            return
    before = {(wf.object, str(shown["id"])): dict(shown)}
    for parent_object, parent_id in _parents(wf, wf.object, values):
        found = records.get(SYSTEM, parent_object, parent_id)
        before[(parent_object, str(parent_id))] = dict(found)
    event = _event(wf)
    with collecting_messages() as collected:
        if wf.timing == "before_save" and wf.trigger == "record":
            run = engine._run(ctx, wf, event, values)
            try:
                before_save.run_one(engine, ctx, wf, run, values)
            except WorkflowFailed as exc:
                run.fail(exc.message)
                result.update(status="would_fail", error=exc.to_dict())
        else:
            try:
                with records.on_connection(conn):
                    run = engine.run_actions(ctx, wf, event, values)
            except WorkflowFailed as exc:   # the run is the last of the failed ones (inner runs come first)
                run = exc.failed_runs[-1] if getattr(exc, "failed_runs", None) else None
                result.update(status="would_fail", error=exc.to_dict())
        with records.on_connection(conn):
            result["steps"] = _shown_steps(records, run.steps if run else [], before, (wf.object, str(shown["id"])))
    result["emails"] = [m for m in collected if m["type"] == "email"]
    result["webhooks"] = [m for m in collected if m["type"] == "webhook"]


def _parents(wf, object_name, values):
    """(object, id) of each record an update_parent step of the workflow would change."""
    found = []

    def walk(actions):
        for action in actions:
            if action.kind == "update_parent" and values.get(action.lookup) is not None:
                found.append((action.target, values[action.lookup]))
            walk(action.then)
            walk(action.otherwise)
    walk(wf.actions)
    return list(dict.fromkeys(found))


def _shown_steps(records, steps, before, own_key) -> list[dict]:
    """The run's steps, with before → after for updates and the created record read back."""
    out = []
    for step in steps:
        step = copy.deepcopy(step)
        detail = step.get("detail") or {}
        if step["action"] in KEYED and step["status"] == "done" and "outcome" in detail:
            step["record"] = records.get(SYSTEM, detail["object"], detail["record_id"])   # as it would be
        elif step["action"] in UPDATES and step["status"] == "done" and "values" in detail:
            target = own_key if step["action"] == "update_record" else next(
                (k for k in before if k[1] == str(detail.get("record_id"))), None)
            current = before.get(target, {})
            step["changes"] = [{"field": f, "before": current.get(f), "after": v} for f, v in detail["values"].items()]
            current.update(detail["values"])
        elif step["action"] == "create_record" and step["status"] == "done" and detail.get("record_id"):
            step["record"] = records.get(SYSTEM, detail["object"], detail["record_id"])
        out.append(step)
    return out
