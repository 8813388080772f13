"""Setup → Automation: the workflow builder and the workflow run log (with "Retry from failed step").

A package's workflow is overridden WHOLE in the org layer, like its layouts and sharing rules: the
first save (an edit, or deactivating it) copies the package's document there with the change, and
"revert" deletes the copy so the package's version applies again (metadata/README.md, Workflows).
"""
from __future__ import annotations

from datetime import datetime

import yaml

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose

from ....automation import credentials, runlog
from ....automation.retry import RETRYABLE_EVENTS, retry_run
from ....records.errors import NotFound, RecordError
from ....security.actor import SYSTEM
from ....meta.model import default_label
from ..base import FormErrors, SetupView, flash_errors_to
from ..orgedit import api_name
from ..workflowforms import (DIRECTIONS, EVENTS, PAYLOAD_TYPES, RECORD_EVENTS, RUN_AS, TIMINGS, WHENS, annotate_targets,
                             doc_from_draft, draft_from_doc, draft_from_form, field_choices, map_pipeline_errors,
                             trigger_summary, unsupported)
from ..workflowforms_actions import ACTION_TYPES, ASSIGN_MODES, FIND_MODES, METHODS, RECHECKS, WAIT_MODES, blank_action
from .security import _plain, _state
from .workflow_dry_run import WorkflowDryRunRoutes

EVENT_LABELS = dict(EVENTS)


PICK_LIMIT = 1000   # names offered in a picker; a stored one beyond it is still shown, as stored


def signing_credentials(engine) -> list[str]:
    """The names of the stored webhook_signing credentials (a webhook step's choices; never secrets)."""
    return [c.name for c in credentials.list_credentials(engine) if c.kind == "webhook_signing"]


def builder_pickers(services) -> dict:
    """What the builder's pickers offer besides metadata: signing credentials, the queues and groups
    (records of the core objects) whose members take turns or are told, and the active usernames
    an inbound webhook may act for. Read as the system: the admin picks names, not records."""
    def names(object_name, field, condition=None):
        page = services.records.query(SYSTEM, object_name, filter=condition, fields=field, sort=field,
                                      limit=PICK_LIMIT)
        return [r[field] for r in page.records]
    return {"credential_names": signing_credentials(services.engine),
            "pools": {"queue": names("queue", "name"), "group": names("group", "name")},
            "usernames": names("user", "username", "active == True")}


class WorkflowsView(WorkflowDryRunRoutes, SetupView):
    icon = "fa-bolt"

    def _workflow(self, name):
        comp = self.md.workflows.get(name)
        if comp is None:
            abort(404)
        return comp

    @expose("/")
    def index(self):
        md, ed = self.md, self.editor()
        rows = []
        for comp in sorted(md.workflows.values(), key=lambda c: (c["object"], c.name)):
            last = runlog.runs(self.services.engine, workflow=comp.name, limit=1)
            rows.append({"comp": comp, "state": _state(comp, ed, "workflows"),
                         "package": (ed.package_doc("workflows", comp.name) or (None,))[0],
                         "active": comp.get("active", True) is not False,
                         "last": last[0] if last else None})
        return self.render("setup/workflows/index.html", rows=rows, md=md, event_labels=EVENT_LABELS,
                           trigger_summary=trigger_summary)

    # -- the builder ---------------------------------------------------------------------------
    @expose("/new", methods=("GET", "POST"))
    @expose("/<cname>/", methods=("GET", "POST"))
    def edit(self, cname=None):
        md = self.md
        existing = self._workflow(cname) if cname else None
        state = _state(existing, self.editor(), "workflows") if existing else "custom"

        def page(draft, errors, status=200):
            annotate_targets(draft["actions"], md, draft["object"])
            objects = sorted(md.objects.values(), key=lambda o: o.label.lower())
            return self.render("setup/workflows/edit.html", wf=existing, state=state, draft=draft, errors=errors,
                               objects=objects, choices=field_choices(md), events=EVENTS, timings=TIMINGS,
                               whens=WHENS, run_as=RUN_AS, action_types=ACTION_TYPES, directions=DIRECTIONS,
                               assign_modes=ASSIGN_MODES, methods=METHODS, record_events=RECORD_EVENTS,
                               wait_modes=WAIT_MODES, rechecks=RECHECKS, find_modes=FIND_MODES,
                               payload_types=PAYLOAD_TYPES,
                               blank=blank_action(), **builder_pickers(self.services)), status

        # never a lossy save: what the form cannot carry is shown read-only and edited as YAML
        problems = unsupported(_plain(existing.doc), md) if existing is not None else []
        if problems:
            return self._read_only(existing, state, problems, refused=request.method == "POST")

        if request.method == "GET":
            if existing is not None:
                return page(draft_from_doc(_plain(existing.doc)), {})
            draft = draft_from_doc({"object": request.args.get("object", ""),
                                    "trigger": {"event": "create_or_update"}})
            draft["actions"] = [blank_action()]
            return page(draft, {})

        draft = draft_from_form(request.form)
        if existing is not None:
            draft["name"] = existing.name
        elif not draft["name"]:
            draft["name"] = api_name(draft["label"])
        name = draft["name"]

        def build(ed):
            doc, errors = doc_from_draft(draft, md, new=existing is None)
            if errors:
                raise FormErrors(errors)
            ed.put("workflows", name, doc)
            verb = "Edit" if existing else "Add"
            return f"{verb} workflow {name} ({doc['object']}: {trigger_summary(doc['trigger']).lower()})"

        return self.org_change(build, on_invalid=lambda errors: page(draft, errors, 422),
                               title=f"Save the workflow {draft['label'] or name}", done_url=url_for(".index"),
                               cancel_url=url_for(".edit", cname=name) if existing else url_for(".index"),
                               errors=lambda meta_errors: map_pipeline_errors(meta_errors, f"workflows/{name}.yaml",
                                                                               draft))

    def _read_only(self, comp, state, problems, *, refused):
        """The workflow as YAML, with why the builder cannot edit it; a POST gets 409 and the same page."""
        row_active = comp.get("active", True) is not False
        text = yaml.safe_dump(_plain(comp.doc), sort_keys=False, allow_unicode=True)
        return self.render("setup/workflows/readonly.html", wf=comp, state=state, problems=problems, yaml_text=text,
                           refused=refused, active=row_active), (409 if refused else 200)

    # -- activate / deactivate, delete / revert -----------------------------------------------
    @expose("/<cname>/active", methods=("POST",))
    def set_active(self, cname):
        comp = self._workflow(cname)
        on = request.form.get("active") == "1"

        def build(ed):
            doc = ed.override("workflows", cname)
            if on:
                doc.pop("active", None)
            else:
                doc["active"] = False
            return f"{'Activate' if on else 'Deactivate'} workflow {cname}"

        return self.org_change(build, on_invalid=flash_errors_to(url_for(".index")), done_url=url_for(".index"),
                               title=f"{'Activate' if on else 'Deactivate'} the workflow "
                                     f"{comp.get('label') or default_label(cname)}")

    @expose("/<cname>/delete", methods=("POST",))
    def delete(self, cname):
        comp = self._workflow(cname)
        ed = self.editor()
        if ed.org_doc("workflows", cname) is None:
            abort(404)   # a package's own workflow: deactivate it instead
        overridden = ed.package_doc("workflows", cname) is not None
        verb = "Revert" if overridden else "Delete"

        def build(ed):
            ed.delete("workflows", cname)
            if not overridden:
                return f"Delete workflow {cname}"
            return f"Revert workflow {cname} to the package's version"

        return self.org_change(build, on_invalid=flash_errors_to(url_for(".index")), done_url=url_for(".index"),
                               title=f"{verb} the workflow {comp.get('label') or default_label(cname)}"
                                     + (" to the package's version" if overridden else ""))


# --------------------------------------------------------------------------- run log

class RunLogView(SetupView):
    icon = "fa-history"
    PAGE = 100

    @expose("/")
    def index(self):
        md = self.md
        args = request.args
        status = args.get("status") or None
        if status is not None and status not in runlog.STATUSES:
            status = None
        filters = {"workflow": args.get("workflow") or None, "object": args.get("object") or None, "status": status}
        found = runlog.runs(self.services.engine, workflow=filters["workflow"], object_name=filters["object"],
                            status=status, limit=self.PAGE)
        for run in found:
            run["duration_ms"] = _duration_ms(run)
        workflows = sorted(md.workflows.values(), key=lambda c: c.name)
        objects = sorted({c["object"] for c in workflows} | ({filters["object"]} - {None}))
        return self.render("setup/workflows/runs.html", runs=found, filters=filters, workflows=workflows,
                           objects=objects, statuses=runlog.STATUSES, md=md, limit=self.PAGE,
                           event_labels=EVENT_LABELS, retryable=RETRYABLE_EVENTS)

    @expose("/<run_id>/retry", methods=("POST",))
    def retry(self, run_id):
        """"Retry from failed step": a new run under the active version (automation/retry.py); the
        outcome or the refusal is flashed over the log, which shows the new run first."""
        try:
            outcome = retry_run(self.services, self.actor, run_id)
        except NotFound:
            abort(404)
        except RecordError as exc:
            flash(f"Not retried: {exc.message}", "error")
            return redirect(url_for(".index"))
        new = outcome["run"]
        if new["status"] == "succeeded":
            flash(f"Retried from the failed step: run {new['id']} succeeded.", "success")
        else:
            flash(f"Retried from the failed step: run {new['id']} failed again — {new['error']}", "error")
        return redirect(url_for(".index"))


def _duration_ms(run: dict) -> float | None:
    if not run.get("finished_at"):
        return None
    started, finished = datetime.fromisoformat(run["started_at"]), datetime.fromisoformat(run["finished_at"])
    return max(0.0, round((finished - started).total_seconds() * 1000, 1))

