"""The bell: the signed-in user's in-app notifications (automation/notifications.py)."""
from __future__ import annotations

import uuid

from flask import redirect, render_template, request, url_for

from ...automation import notifications
from .context import actor, services, ui
from .views_nav import _app_for, nav_context


def unread_count() -> int:
    return notifications.unread_count(services().engine, actor().user_id)


@ui.context_processor
def _bell():
    return {"ui_unread_notifications": unread_count}


@ui.get("/notifications")
def notifications_page():
    items = notifications.inbox(services().engine, actor().user_id, limit=100)
    return render_template("app/notifications.html", items=items, **nav_context())


@ui.post("/notifications/read")
def notifications_read():
    """Mark one (`id`) or all of the user's notifications read; then back to the list."""
    chosen = request.form.get("id")
    ids = None
    if chosen:
        try:
            ids = [uuid.UUID(chosen)]
        except ValueError:
            ids = []
    notifications.mark_read(services().engine, actor().user_id, ids)
    return redirect(url_for("ui.notifications_page"))


@ui.post("/notifications/<notification_id>/open")
def notification_open(notification_id):
    """Mark it read and go to the record it is about (or back to the list)."""
    try:
        nid = uuid.UUID(notification_id)
    except ValueError:
        return redirect(url_for("ui.notifications_page"))
    notifications.mark_read(services().engine, actor().user_id, [nid])
    item = next((n for n in notifications.inbox(services().engine, actor().user_id, limit=500) if n["id"] == str(nid)),
                None)
    if item is None or not item["object"] or not item["record_id"]:
        return redirect(url_for("ui.notifications_page"))
    return redirect(url_for("ui.record_page", app_name=_app_for(item["object"]), object_name=item["object"],
                            record_id=item["record_id"]))
