"""Automation on the record page: the runs that touched the record, the time-relative runs planned
for it, and the manual workflows a person may run on it (its "Run" menu); running one posts here and comes back with the outcome."""
from __future__ import annotations

import uuid

from flask import flash, redirect, url_for

from ...automation import runlog
from ...automation.compiler import workflows_of
from ...automation.deferred import planned_for_record, run_manual
from ...records.errors import RecordError
from .context import actor, rt, services, ui
from .meta import require_app, require_object

RECENT_RUNS = 10


def record_automation(obj, record_id, can_edit: bool) -> dict | None:
    """What the record page shows of automation (None: nothing to show)."""
    runs = runlog.runs(services().engine, object_name=obj.name, record_id=uuid.UUID(str(record_id)), limit=RECENT_RUNS)
    compiled = workflows_of(rt())
    labels = {name: wf.label for name, wf in compiled.by_name.items()}
    for run in runs:
        run["label"] = labels.get(run["workflow"], run["workflow"])
    manual = [wf for wf in compiled.by_name.values() if wf.trigger == "manual" and wf.object == obj.name] if can_edit else []
    scheduled = planned_for_record(services().engine, rt(), obj.name, record_id)
    if not runs and not manual and not scheduled:
        return None
    return {"runs": runs, "manual": manual, "scheduled": scheduled}


@ui.post("/<app_name>/<object_name>/<record_id>/run/<workflow>")
def run_workflow_on_record(app_name, object_name, record_id, workflow):
    require_app(app_name)
    obj = require_object(object_name)
    page = url_for("ui.record_page", app_name=app_name, object_name=obj.name, record_id=record_id)
    try:
        [result] = run_manual(services(), actor(), workflow, [record_id])
    except RecordError as exc:
        flash(f"Not run: {exc.message}", "danger")
        return redirect(page)
    label = workflows_of(rt()).by_name[workflow].label
    if result["status"] == "succeeded":
        flash(f"“{label}” ran.", "success")
    elif result["status"] == "skipped":
        flash(f"“{label}” did not run: {result.get('reason', 'its condition does not hold')}.", "warning")
    else:
        flash(f"“{label}” failed: {result['error']['message']}", "danger")
    return redirect(page)
