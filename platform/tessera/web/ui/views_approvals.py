"""Approvals in /app: the record page's Approval card (submit, the pending step and its approvers,
approve / reject / recall with a comment, the history), and "Items to approve" (the requests
waiting for the signed-in user, reached from the header and the notifications page). Every
action posts here (CSRF), calls the approval service as the signed-in user and comes back with
the outcome flashed; the service decides who may do what, this module only hides what it would
refuse."""
from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for

from ...automation.approval_processes import approvals_of
from ...records.errors import RecordError
from .context import access, actor, records, rt, safe_return, services, ui
from .meta import require_app, require_object
from .views_nav import _app_for, nav_context

RECENT_REQUESTS = 3
STATUS_CLASSES = {"pending": "warning", "approved": "success", "rejected": "danger", "recalled": "secondary",
                  "submitted": "info", "closed": "light", "skipped": "light"}


def _is_admin(object_name: str) -> bool:
    return access().system("customize_metadata") or access().can(object_name, "modify_all")


def record_approvals(obj, record_id, can_edit: bool) -> dict | None:
    """What the record page shows of approvals (None: the object has no approval process)."""
    if not approvals_of(rt()).of_object(obj.name, active_only=False):
        return None
    service = services().approvals
    found = service.list(actor(), object_name=obj.name, record_id=record_id, limit=RECENT_REQUESTS,
                         with_history=True)
    pending = next((r for r in found if r["status"] == "pending"), None)
    me = str(actor().user_id)
    admin = _is_admin(obj.name)
    approver = pending is not None and me in pending["approvers"]
    submit = service.applicable(obj.name, record_id) if pending is None and can_edit else []
    names = user_names({u for r in found for u in [r["submitter"], *r["approvers"],
                                                    *(h["user"] for h in r["history"])] if u})
    return {"requests": found, "pending": pending, "submit": submit, "names": names, "admin": admin,
            "approver": approver,
            "can_decide": pending is not None and (approver or admin),
            "can_recall": pending is not None and (pending["submitter"] == me or admin),
            "locked_for_me": pending is not None and pending["locked"] and not approver and not admin,
            "status_classes": STATUS_CLASSES}


def user_names(ids) -> dict:
    """User id -> full name, as the signed-in user may read them (every stock profile reads users;
    without that right the page says "someone")."""
    ids = sorted(str(i) for i in ids)
    if not ids:
        return {}
    listed = ", ".join(f"'{uuid.UUID(i)}'" for i in ids)   # canonical UUIDs only
    try:
        found = records().query(actor(), "user", filter=f"id in [{listed}]", fields=["id", "full_name"],
                                limit=len(ids)).records
    except RecordError:
        return {}
    return {r["id"]: r["full_name"] for r in found}


def waiting_count() -> int:
    return services().approvals.waiting_count(actor())


@ui.context_processor
def _approvals_badge():
    return {"ui_waiting_approvals": waiting_count}


@ui.post("/<app_name>/<object_name>/<record_id>/approval")
def submit_for_approval(app_name, object_name, record_id):
    require_app(app_name)
    obj = require_object(object_name)
    page = url_for("ui.record_page", app_name=app_name, object_name=obj.name, record_id=record_id)
    process = request.form.get("process") or None
    try:
        result = services().approvals.submit(actor(), obj.name, record_id, process=process,
                                             comment=request.form.get("comment", ""))
    except RecordError as exc:
        if exc.status == 404:
            raise
        flash(f"Not submitted: {exc.message}", "danger")
        return redirect(page)
    if result["status"] == "approved":
        flash(f"Submitted to “{result['process_label']}”: no step needed an approver, so it is approved.", "success")
    else:
        flash(f"Submitted for approval: “{result['process_label']}”, {result['step_label']}.", "success")
    return redirect(page)


@ui.post("/approvals/<request_id>/<decision>")
def decide_approval(request_id, decision):
    back = safe_return(request.form.get("_return"), url_for("ui.items_to_approve"))
    if decision not in ("approve", "reject", "recall"):
        flash("Unknown action.", "danger")
        return redirect(back)
    try:
        result = services().approvals.decide(actor(), request_id, decision, request.form.get("comment", ""))
    except RecordError as exc:
        flash(f"Not done: {exc.message}", "danger")
        return redirect(back)
    what = {"approve": "Approved", "reject": "Rejected", "recall": "Recalled"}[decision]
    name = result.get("record_name") or result["object"]
    if decision == "approve" and result["status"] == "pending":
        flash(f"{what} “{name}”: it now waits for {result['step_label']}.", "success")
    else:
        flash(f"{what} “{name}” ({result['process_label']}).", "success")
    return redirect(back)


@ui.get("/approvals")
def items_to_approve():
    service = services().approvals
    waiting = service.list(actor(), mine=True, limit=100, with_history=True)
    me = str(actor().user_id)
    mine = [r for r in service.list(actor(), limit=50) if r["submitter"] == me]
    md = rt().metadata
    for item in waiting + mine:
        obj = md.objects.get(item["object"])
        item["object_label"] = obj.label if obj else item["object"]
        item["url"] = url_for("ui.record_page", app_name=_app_for(item["object"]), object_name=item["object"],
                              record_id=item["record_id"]) if obj is not None and access().can(obj.name, "read") else None
    names = user_names({r["submitter"] for r in waiting} | {u for r in mine for u in r["approvers"]})
    return render_template("app/approvals.html", waiting=waiting, mine=mine, names=names,
                           status_classes=STATUS_CLASSES, here=url_for("ui.items_to_approve"), **nav_context())
