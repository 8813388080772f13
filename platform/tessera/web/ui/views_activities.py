"""The record page's Activity card (tessera.activities): quick actions — new task, log a call,
new note, upload a file — posted inline by timeline.js, the open tasks, and the feed with its kind
filter and "Load more"; and "My tasks" on each app's home page. Every write goes through the
record service (a task, call or note related to the record) or the attachments route."""
from __future__ import annotations

from datetime import date, timedelta

from flask import flash, jsonify, redirect, render_template, request, url_for

from ...activities import KINDS, Timeline
from ...records.errors import RecordError
from .context import access, actor, records, services, ui
from .display import record_url
from .meta import object_label, require_app, require_object

KIND_LABELS = {"call": "Calls", "task": "Tasks", "event": "Events", "note": "Notes", "email": "Emails",
               "change": "Field changes", "file": "Files"}
KIND_ICONS = {"call": "phone", "task": "check-square", "event": "calendar", "note": "sticky-note",
              "email": "envelope", "change": "history", "file": "paperclip"}
PAGE = 15


def _timeline() -> Timeline:
    svc = services()
    return Timeline(svc.records, svc.files)


def _fragment_url(app_name, obj, record_id) -> str:
    return url_for("ui.timeline_fragment", app_name=app_name, object_name=obj.name, record_id=record_id)


def timeline_card(app_name, obj, record, can_edit) -> dict | None:
    """What the Activity card shows; None for objects that do not allow activities."""
    if not obj.activities:
        return None
    try:
        page = _timeline().page(actor(), obj.name, record["id"], limit=PAGE)
    except RecordError as exc:
        return {"error": exc.message}
    a = access()
    can_read_task = a.can("task", "read")
    actions = {"task": a.can("task", "create"), "call": a.can("task", "create"), "note": a.can("note", "create"),
               "file": can_edit and obj.attachments}
    return {"page": page, "kinds": [(k, KIND_LABELS[k]) for k in KINDS], "icons": KIND_ICONS,
            "actions": actions, "any_action": any(actions.values()), "can_read_task": can_read_task,
            "fragment_url": _fragment_url(app_name, obj, record["id"]),
            "action_url": lambda kind: url_for("ui.log_activity", app_name=app_name, object_name=obj.name,
                                               record_id=record["id"], kind=kind),
            "upload_url": url_for("ui.attach_files", app_name=app_name, object_name=obj.name, record_id=record["id"])
            if actions["file"] else None,
            "task_url": lambda task_id: record_url(app_name, "task", task_id)}


@ui.get("/<app_name>/<object_name>/<record_id>/timeline")
def timeline_fragment(app_name, object_name, record_id):
    """The feed's entries as HTML (filter, Load more, and the refresh after a quick action)."""
    require_app(app_name)
    obj = require_object(object_name)
    try:
        page = _timeline().page(actor(), obj.name, record_id, kinds=request.args.get("kinds") or None,
                                cursor=request.args.get("cursor") or None, limit=PAGE)
    except RecordError as exc:
        return jsonify(error={"code": exc.code, "message": exc.message}), exc.status
    task_url = lambda task_id: record_url(app_name, "task", task_id)  # noqa: E731
    if request.args.get("part") == "open":
        return render_template("app/_timeline_open.html", open_tasks=page.get("open_tasks"), task_url=task_url)
    return render_template("app/_timeline_entries.html", page=page, icons=KIND_ICONS, app=require_app(app_name),
                           cursor_given=bool(request.args.get("cursor")))


def _activity_values(kind: str, form) -> tuple[str, dict]:
    text = lambda key: (form.get(key) or "").strip()  # noqa: E731
    if kind == "note":
        return "note", {"title": text("title") or "Note", **({"body": text("body")} if text("body") else {})}
    if kind == "call":
        values = {"subject": text("subject") or "Call", "type": "Call", "status": "Completed"}
        if text("description"):
            values["description"] = text("description")
        if text("call_duration"):
            values["call_duration"] = text("call_duration")
        return "task", values
    values = {"subject": text("subject")}
    if text("due_date"):
        values["due_date"] = text("due_date")
    return "task", values


@ui.post("/<app_name>/<object_name>/<record_id>/activities/<kind>")
def log_activity(app_name, object_name, record_id, kind):
    """A quick action: a task, a logged call or a note related to the record. JSON for timeline.js
    (the card updates in place), a redirect back to the record for a plain form post."""
    require_app(app_name)
    obj = require_object(object_name)
    wants_json = request.accept_mimetypes.best == "application/json"
    if kind not in ("task", "call", "note") or not obj.activities:
        message = f"'{kind}' is not a quick action of {obj.label}"
        return (jsonify(error={"code": "not_found", "message": message}), 404) if wants_json else (message, 404)
    target, values = _activity_values(kind, request.form)
    values["related_to"] = {"object": obj.name, "id": record_id}
    try:
        created = records().create(actor(), target, values, from_text=True)
    except RecordError as exc:
        if wants_json:
            return jsonify(error={"code": exc.code, "message": exc.message, "fields": getattr(exc, "fields", None)}), exc.status
        flash(exc.message, "danger")
    else:
        if wants_json:
            return jsonify(id=created["id"], kind=kind), 201
        flash({"call": "Call logged.", "note": "Note added.", "task": "Task created."}[kind], "success")
    return redirect(url_for("ui.record_page", app_name=app_name, object_name=obj.name, record_id=record_id) + "#timeline")


def my_tasks(app_name) -> dict | None:
    """The user's open tasks for the app home: overdue, today, upcoming (next 7 days) — as the
    record service shows them to the user (owner or assignee)."""
    a = access()
    if not a.can("task", "read"):
        return None
    me = actor().user_id
    today = date.today()
    week = today + timedelta(days=7)
    try:
        rows = records().query(
            actor(), "task",
            filter=f"not is_closed and (owner == '{me}' or assigned_to == '{me}') and not ISBLANK(due_date) "
                   f"and due_date <= DATE({week.year}, {week.month}, {week.day})",
            sort=["due_date", "created_at"], fields=["id", "subject", "due_date", "related_to", "priority"],
            limit=50).records
    except RecordError:
        return None
    groups = {"overdue": [], "today": [], "upcoming": []}
    for t in rows:
        due = date.fromisoformat(t["due_date"])
        groups["overdue" if due < today else "today" if due == today else "upcoming"].append(t)
    for t in rows:
        t["url"] = record_url(app_name, "task", t["id"])
        ref = t.get("related_to")
        t["about"] = (ref.get("name"), object_label(ref["object"])) if ref and ref.get("name") else None
    return {"groups": groups, "count": len(rows)}
