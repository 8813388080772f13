"""The workflow builder's "Test on a record": pick a record of the workflow's object (a search over
its name field, through the record service, or a pasted id) and dry-run the form's CURRENT, unsaved
definition on it (automation/dry_run.py: always rolled back, nothing saved, queued or sent).

Both routes answer JSON for the builder's script (static/setup/workflow.js): errors carry the
input that shows them (the form's own checks, then the metadata checks mapped from their paths).
"""
from __future__ import annotations

from flask import jsonify, request
from flask_admin import expose

from ....automation.dry_run import dry_run
from ....records.errors import RecordError
from ...ui.expr import clean_search, contains_all
from ..workflowforms import doc_from_draft, draft_from_form, input_for

SEARCH_LIMIT = 10


class WorkflowDryRunRoutes:
    """Mixed into the workflow builder's view (automation.WorkflowsView)."""

    @expose("/<cname>/dry-run/records")
    def dry_run_records(self, cname):
        """?q=words: up to SEARCH_LIMIT records of the workflow's object whose name holds every word."""
        comp = self._workflow(cname)
        obj = self.md.objects.get(comp["object"])
        name_field = obj.name_field if obj is not None else None
        q = clean_search(request.args.get("q"))
        try:
            found = self.services.records.query(
                self.actor, comp["object"], filter=contains_all(name_field, q) if q and name_field else None,
                fields=[name_field] if name_field else ["id"], sort=[name_field] if name_field else None,
                limit=SEARCH_LIMIT)
        except RecordError as exc:
            return jsonify(error=exc.to_dict()), exc.status
        return jsonify(results=[{"id": r["id"], "text": str(r.get(name_field) or r["id"]) if name_field else r["id"]}
                                for r in found.records])

    @expose("/<cname>/dry-run", methods=("POST",))
    def dry_run(self, cname):
        """The builder's posted form + `_record` (a record id) → the dry run's result."""
        self._workflow(cname)
        record_id = (request.form.get("_record") or "").strip()
        if not record_id:
            return _invalid("choose a record to test on", [{"input": "_record", "path": "", "message":
                                                           "choose a record to test on"}])
        draft = draft_from_form(request.form)
        draft["name"] = cname
        doc, errors = doc_from_draft(draft, self.md, new=False)
        if errors:
            return _invalid("the form has problems: fix them first",
                            [{"input": key, "path": key, "message": m} for key, ms in errors.items() for m in ms])
        try:
            return jsonify(dry_run(self.services, self.actor, cname, record_id, doc))
        except RecordError as exc:
            body = exc.to_dict()
            problems = body.get("errors")
            if exc.status == 422 and problems:
                return _invalid(exc.message, [{"input": input_for(p["path"], draft), **p} for p in problems])
            return jsonify(error=body), exc.status


def _invalid(message: str, problems: list[dict]):
    return jsonify(error={"code": "validation_failed", "message": message, "errors": problems}), 422
