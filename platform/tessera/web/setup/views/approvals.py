"""Setup → Automation → Approval Processes: the list and a point-and-click editor (entry
condition, ordered steps with their approvers and decision mode, the final actions as workflow
steps), saved through the change pipeline with the plan shown first. A package's process is
overridden whole in the org layer, like a workflow (views/automation.py)."""
from __future__ import annotations

import yaml
from flask import abort, request, url_for
from flask_admin import expose

from ....meta.model import default_label
from ..approvalforms import (ACTION_LISTS, APPROVER_TYPES, DECISIONS, NO_APPROVER, VALUE_HINTS, approver_summary,
                             blank_step, doc_from_draft, draft_from_doc, draft_from_form, map_pipeline_errors,
                             unsupported)
from ..base import FormErrors, SetupView, flash_errors_to
from ..orgedit import api_name
from ..workflowforms import annotate_targets, field_choices
from ..workflowforms_actions import ACTION_TYPES, ASSIGN_MODES, FIND_MODES, METHODS, RECHECKS, WAIT_MODES, blank_action
from .automation import builder_pickers
from .security import _plain, _state

# final actions: every after-save workflow step but submitting for approval again, and waiting (a
# decision is not a run that could come back to its record)
FINAL_ACTION_TYPES = [(v, label) for v, label in ACTION_TYPES if v not in ("submit_for_approval", "wait")]


class ApprovalProcessesView(SetupView):
    icon = "fa-check-square-o"

    def _process(self, name):
        comp = self.md.approval_processes.get(name)
        if comp is None:
            abort(404)
        return comp

    @expose("/")
    def index(self):
        md, ed = self.md, self.editor()
        rows = [{"comp": comp, "state": _state(comp, ed, "approval_processes"),
                 "package": (ed.package_doc("approval_processes", comp.name) or (None,))[0],
                 "active": comp.get("active", True) is not False,
                 "steps": [approver_summary(step) for step in comp["steps"]]}
                for comp in sorted(md.approval_processes.values(), key=lambda c: (c["object"], c.name))]
        return self.render("setup/approvals/index.html", rows=rows, md=md)

    @expose("/new", methods=("GET", "POST"))
    @expose("/<cname>/", methods=("GET", "POST"))
    def edit(self, cname=None):
        md = self.md
        existing = self._process(cname) if cname else None
        state = _state(existing, self.editor(), "approval_processes") if existing else "custom"

        def page(draft, errors, status=200):
            for key, _label in ACTION_LISTS:
                annotate_targets(draft[key], md, draft["object"])
            objects = sorted(md.objects.values(), key=lambda o: o.label.lower())
            return self.render("setup/approvals/edit.html", proc=existing, state=state, draft=draft, errors=errors,
                               objects=objects, choices=field_choices(md), action_types=FINAL_ACTION_TYPES,
                               assign_modes=ASSIGN_MODES, methods=METHODS, decisions=DECISIONS,
                               no_approver=NO_APPROVER, approver_types=APPROVER_TYPES, value_hints=VALUE_HINTS,
                               action_lists=ACTION_LISTS, roles=sorted(md.roles), blank=blank_action(),
                               blank_step=blank_step(), wait_modes=WAIT_MODES, rechecks=RECHECKS,
                               find_modes=FIND_MODES,
                               **builder_pickers(self.services)), status

        problems = unsupported(_plain(existing.doc), md) if existing is not None else []
        if problems:
            text = yaml.safe_dump(_plain(existing.doc), sort_keys=False, allow_unicode=True)
            return self.render("setup/approvals/readonly.html", proc=existing, state=state, problems=problems,
                               yaml_text=text, refused=request.method == "POST"), \
                (409 if request.method == "POST" else 200)

        if request.method == "GET":
            if existing is not None:
                return page(draft_from_doc(_plain(existing.doc)), {})
            draft = draft_from_doc({"object": request.args.get("object", "")})
            draft["steps"] = [blank_step()]
            return page(draft, {})

        draft = draft_from_form(request.form)
        if existing is not None:
            draft["name"] = existing.name
        elif not draft["name"]:
            draft["name"] = api_name(draft["label"])
        name = draft["name"]

        def build(ed):
            doc, errors = doc_from_draft(draft, md, new=existing is None,
                                         stored=_plain(existing.doc) if existing is not None else None)
            if errors:
                raise FormErrors(errors)
            ed.put("approval_processes", name, doc)
            return f"{'Edit' if existing else 'Add'} approval process {name} ({doc['object']})"

        return self.org_change(build, on_invalid=lambda errors: page(draft, errors, 422),
                               title=f"Save the approval process {draft['label'] or name}", done_url=url_for(".index"),
                               cancel_url=url_for(".edit", cname=name) if existing else url_for(".index"),
                               errors=lambda meta_errors: map_pipeline_errors(
                                   meta_errors, f"approval_processes/{name}.yaml", draft))

    @expose("/<cname>/active", methods=("POST",))
    def set_active(self, cname):
        comp = self._process(cname)
        on = request.form.get("active") == "1"

        def build(ed):
            doc = ed.override("approval_processes", cname)
            if on:
                doc.pop("active", None)
            else:
                doc["active"] = False
            return f"{'Activate' if on else 'Deactivate'} approval process {cname}"

        return self.org_change(build, on_invalid=flash_errors_to(url_for(".index")), done_url=url_for(".index"),
                               title=f"{'Activate' if on else 'Deactivate'} the approval process "
                                     f"{comp.get('label') or default_label(cname)}")

    @expose("/<cname>/delete", methods=("POST",))
    def delete(self, cname):
        comp = self._process(cname)
        ed = self.editor()
        if ed.org_doc("approval_processes", cname) is None:
            abort(404)   # a package's own process: deactivate it instead
        overridden = ed.package_doc("approval_processes", cname) is not None

        def build(ed):
            ed.delete("approval_processes", cname)
            return f"{'Revert' if overridden else 'Delete'} approval process {cname}"

        return self.org_change(build, on_invalid=flash_errors_to(url_for(".index")), done_url=url_for(".index"),
                               title=f"{'Revert' if overridden else 'Delete'} the approval process "
                                     f"{comp.get('label') or default_label(cname)}"
                                     + (" to the package's version" if overridden else ""))
