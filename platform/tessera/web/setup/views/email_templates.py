"""Setup → Automation → Email Templates: the list (with the workflows that send each one) and an
editor (subject, text and HTML bodies with merge fields), saved through the change pipeline with
the plan shown first. "Preview" renders the form's current draft on a record the admin picks —
the same compiled template and field reads a send_email step uses — without saving or sending
anything. A package's template is overridden whole in the org layer, like a workflow."""
from __future__ import annotations

from types import MappingProxyType

from flask import abort, request, url_for
from flask_admin import expose

from ....automation.email_outbox import CompiledTemplate
from ....meta.model import default_label
from ....meta.validate_email_templates import PARTS, TemplateProblem, check_template_paths, parse
from ....records.errors import RecordError
from ..base import FormErrors, SetupView, error_map, flash_errors_to
from ..orgedit import api_name, name_problem
from .security import _plain, _state

FIELDS = ("name", "label", "description", "object", *PARTS)


def senders(md) -> dict[str, list[str]]:
    """template name → the workflows (and approval processes) whose steps send it."""
    out: dict[str, list[str]] = {}

    def walk(actions, owner):
        for action in actions or ():
            if action.get("type") == "send_email":
                out.setdefault(action.get("template"), []).append(owner)
            walk(action.get("then"), owner)
            walk(action.get("else"), owner)
    for comp in md.workflows.values():
        walk(comp.get("actions"), comp.name)
    for comp in md.approval_processes.values():
        for key in ("on_approve", "on_reject", "on_recall"):
            walk(comp.get(key), comp.name)
    return {name: sorted(set(owners)) for name, owners in out.items()}


class _Draft:
    """A draft shaped like a metadata component, for CompiledTemplate."""
    def __init__(self, doc: dict):
        self.name, self._doc = doc.get("name") or "draft", MappingProxyType(doc)

    def __getitem__(self, key):
        return self._doc[key]

    def get(self, key, default=None):
        return self._doc.get(key, default)


class EmailTemplatesView(SetupView):
    icon = "fa-envelope-o"

    def _template(self, name):
        comp = self.md.email_templates.get(name)
        if comp is None:
            abort(404)
        return comp

    @expose("/")
    def index(self):
        md, ed = self.md, self.editor()
        used = senders(md)
        rows = [{"comp": comp, "state": _state(comp, ed, "email_templates"),
                 "package": (ed.package_doc("email_templates", comp.name) or (None,))[0],
                 "senders": used.get(comp.name, [])}
                for comp in sorted(md.email_templates.values(), key=lambda c: (c["object"], c.name))]
        return self.render("setup/email_templates/index.html", rows=rows, md=md)

    def _page(self, existing, draft, errors, status=200, preview=None):
        objects = sorted(self.md.objects.values(), key=lambda o: o.label.lower())
        state = _state(existing, self.editor(), "email_templates") if existing is not None else "custom"
        return self.render("setup/email_templates/edit.html", tpl=existing, state=state, draft=draft,
                           errors=errors, objects=objects, preview=preview,
                           senders=senders(self.md).get(existing.name, []) if existing is not None else []), status

    @expose("/new", methods=("GET", "POST"))
    @expose("/<cname>/", methods=("GET", "POST"))
    def edit(self, cname=None):
        existing = self._template(cname) if cname else None
        if request.method == "GET":
            doc = _plain(existing.doc) if existing is not None else {"object": request.args.get("object", "")}
            return self._page(existing, {k: doc.get(k) or "" for k in FIELDS}, {})
        draft = {k: (request.form.get(k) or "").replace("\r\n", "\n").strip() if k not in PARTS
                 else (request.form.get(k) or "").replace("\r\n", "\n") for k in FIELDS}
        if existing is not None:
            draft["name"] = existing.name
        elif not draft["name"]:
            draft["name"] = api_name(draft["label"])
        if request.form.get("_preview") == "1":
            return self._preview(existing, draft)
        name = draft["name"]

        def build(ed):
            errors = {}
            if existing is None:
                problem = name_problem(name, taken=set(self.md.email_templates), what="API name")
                if problem:
                    errors["name"] = [problem]
            for key in ("object", "subject", "text_body"):
                if not draft[key].strip():
                    errors.setdefault(key, []).append("required")
            if errors:
                raise FormErrors(errors)
            doc = {"name": name, "label": draft["label"] or None, "description": draft["description"] or None,
                   "object": draft["object"], "subject": draft["subject"].strip(), "text_body": draft["text_body"],
                   "html_body": draft["html_body"] if draft["html_body"].strip() else None}
            ed.put("email_templates", name, {k: v for k, v in doc.items() if v is not None})
            return f"{'Edit' if existing else 'Add'} email template {name} ({draft['object']})"

        return self.org_change(build, on_invalid=lambda errors: self._page(existing, draft, errors, 422),
                               title=f"Save the email template {draft['label'] or name}", done_url=url_for(".index"),
                               cancel_url=url_for(".edit", cname=name) if existing else url_for(".index"),
                               errors=error_map(f"email_templates/{name}.yaml"))

    def _preview(self, existing, draft):
        """Render the draft on a record (read with the admin's own access), or say why not."""
        obj = self.md.objects.get(draft["object"])
        if obj is None:
            return self._page(existing, draft, {"object": ["choose the object first"]}, 422)
        errors = {}
        for part in PARTS:
            if not draft[part].strip():
                if part != "html_body":
                    errors[part] = ["required"]
                continue
            try:
                _tree, paths = parse(draft[part], html=part == "html_body")
                problem = check_template_paths(self.md, obj, paths)
            except TemplateProblem as exc:
                problem = exc
            if problem is not None:
                errors[part] = [str(problem)]
        record_id = (request.form.get("_record") or "").strip()
        if not record_id:
            errors["_record"] = ["enter the id of a record to preview on"]
        if errors:
            return self._page(existing, draft, errors, 422)
        doc = {"name": draft["name"], "object": obj.name, "subject": draft["subject"], "text_body": draft["text_body"]}
        if draft["html_body"].strip():
            doc["html_body"] = draft["html_body"]
        template = CompiledTemplate(_Draft(doc))
        fields = sorted({".".join(path) for path in template.paths}) or ["id"]
        try:
            values = self.services.records.get(self.actor, obj.name, record_id, fields=fields)
        except RecordError as exc:
            return self._page(existing, draft, {"_record": [exc.message]}, 422)
        rendered = template.render(values, record_id)
        return self._page(existing, draft, {}, preview={"subject": rendered.subject, "text": rendered.text,
                                                        "html": rendered.html, "record": record_id})

    @expose("/<cname>/delete", methods=("POST",))
    def delete(self, cname):
        comp = self._template(cname)
        ed = self.editor()
        if ed.org_doc("email_templates", cname) is None:
            abort(404)   # a package's own template cannot be deleted from the org
        overridden = ed.package_doc("email_templates", cname) is not None

        def build(ed):
            ed.delete("email_templates", cname)
            return f"{'Revert' if overridden else 'Delete'} email template {cname}"

        return self.org_change(build, on_invalid=flash_errors_to(url_for(".index"), "Not deleted:"),
                               done_url=url_for(".index"),
                               title=f"{'Revert' if overridden else 'Delete'} the email template "
                                     f"{comp.get('label') or default_label(cname)}"
                                     + (" to the package's version" if overridden else ""))
