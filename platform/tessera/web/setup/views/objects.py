"""Object Manager: objects, their fields (type-specific editors) and validation rules."""
from __future__ import annotations

from flask import abort, jsonify, request, url_for
from flask_admin import expose

from ....expr import ExprError, compile_expression
from ....meta.fieldtypes import COMPUTED_TYPES, FORMULA_RETURN_TYPES, SYSTEM_FIELDS, formula_expr_type
from ....meta.model import default_label
from ....meta.validate import resolver
from ....meta.validate_workflows import PayloadScope, settable_problem, value_type
from ..base import FormErrors, SetupView, error_map
from ..fieldforms import (TYPE_GROUPS, prop_types, TYPE_LABELS, FieldFormError, RowsField, describe_type, field_doc_from_form,
                          form_values, form_values_from_post, patch_from_form)
from ..orgedit import allowed_field_props, api_name, name_problem

SHARING_MODELS = [("private", "Private", "Only the owner, people above them in the role hierarchy, and sharing"),
                  ("read", "Public Read Only", "Everyone reads every record; owners and sharing decide edits"),
                  ("read_write", "Public Read/Write", "Everyone reads and edits every record"),
                  ("controlled_by_parent", "Controlled by Parent", "Follows the master record (master-detail children)")]
SYSTEM_FIELD_LABELS = {"owner": "Owner", "created_at": "Created Date", "created_by": "Created By",
                       "updated_at": "Last Modified Date", "updated_by": "Last Modified By"}
# expressions evaluated while a record is written: PRIORVALUE and ISCHANGED are allowed
WRITE_KINDS = ("rule", "condition", "value", "id", "text", "when")
ROLLUP_TYPES = {"integer", "number", "currency", "percent", "date", "datetime"}


YAML_ONLY = ("transitions", "initial")   # picklist state machines are written in YAML, not in this form


class ObjectManagerView(SetupView):
    icon = "fa-cubes"

    # -- lookups -------------------------------------------------------------------------------
    def _object(self, name):
        obj = self.md.objects.get(name)
        if obj is None:
            abort(404)
        return obj

    def _children(self, obj):
        """(child object, lookup field) pairs pointing at `obj`."""
        return [(child, f) for child in self.md.objects.values() for f in child.fields.values()
                if f.is_relation and f.target == obj.name]

    def _field_of(self, obj, name):
        """A field of `obj` as the editor shows it: its rows fields too (kept apart in ObjectDef.rows)."""
        rows = obj.rows.get(name)
        return obj.fields.get(name) if rows is None else RowsField.of(rows)

    def _fields_of(self, obj) -> list:
        return [*obj.fields.values(), *(RowsField.of(r) for r in obj.rows.values())]

    def _layout_choices(self, obj):
        out = []
        for comp in self.md.layouts_for(obj.name):
            org_owned = comp.package is None
            out.append({"name": comp.name, "label": comp.get("label") or default_label(comp.name),
                        "package": comp.package, "checked": org_owned})
        return out

    # -- objects -------------------------------------------------------------------------------
    @expose("/")
    def index(self):
        md = self.md
        rows = sorted(md.objects.values(), key=lambda o: (o.package is not None, o.label.lower()))
        return self.render("setup/objects/index.html", objects=rows, md=md,
                           sharing_labels={v: label for v, label, _h in SHARING_MODELS})

    @expose("/new", methods=("GET", "POST"))
    def new_object(self):
        md = self.md
        apps = sorted(md.apps.values(), key=lambda a: a.get("label") or a.name)
        if request.method == "GET":
            return self.render("setup/objects/new.html", values={"sharing_model": "private", "name_type": "text"},
                               errors={}, apps=apps, sharing_models=SHARING_MODELS)

        form = request.form

        def on_invalid(errors):
            return self.render("setup/objects/new.html", values=form.to_dict(), errors=errors, apps=apps,
                               sharing_models=SHARING_MODELS), 422

        label = (form.get("label") or "").strip()
        name = (form.get("name") or "").strip() or api_name(label)

        def build(ed):
            errors = {}
            if not label:
                errors["label"] = ["enter a label, e.g. Invoice"]
            problem = name_problem(name, taken=self.md.objects, what="name")
            if problem:
                errors["name"] = [problem]
            plural = (form.get("plural_label") or "").strip() or (label + "s")
            name_label = (form.get("name_label") or "").strip() or f"{label} Name"
            if form.get("name_type") == "autonumber":
                fmt = (form.get("name_format") or "").strip()
                if not fmt:
                    errors["name_format"] = ["enter a format such as INV-{00000}"]
                name_field = {"type": "autonumber", "label": name_label, "format": fmt}
            else:
                name_field = {"type": "text", "label": name_label, "required": True, "max_length": 255}
            sharing = form.get("sharing_model") or "private"
            if sharing not in [s[0] for s in SHARING_MODELS[:3]]:
                errors["sharing_model"] = ["choose private, public read only or public read/write"]
            if errors:
                raise FormErrors(errors)
            doc = {"name": name, "label": label, "plural_label": plural}
            if (form.get("description") or "").strip():
                doc["description"] = form["description"].strip()
            doc["sharing_model"] = sharing
            if form.get("track_history"):
                doc["track_history"] = True
            if form.get("activities"):
                doc["activities"] = True
            doc["fields"] = {"name": name_field}
            ed.put("objects", name, doc)
            if not ed.exists("layouts", name):
                ed.put("layouts", name, {
                    "name": name, "object": name, "label": f"{label} Layout",
                    "sections": [{"label": f"{label} Information", "columns": 2, "fields": ["name", "owner"]},
                                 {"label": "System Information", "columns": 2,
                                  "fields": ["created_by", "created_at", "updated_by", "updated_at"]}]})
            view_name = f"all_{name}"[:40].rstrip("_")
            if not ed.exists("list_views", view_name):
                ed.put("list_views", view_name, {"name": view_name, "object": name, "label": f"All {plural}",
                                                 "columns": ["name", "owner", "created_at"], "sort": ["name"]})
            app = form.get("app")
            if app:
                if app not in self.md.apps:
                    raise FormErrors({"app": [f"there is no app '{app}'"]})
                tabs = ed.override("apps", app).setdefault("tabs", [])
                if name not in tabs:
                    tabs.append(name)
            return f"Create object {name} ({label})"

        return self.org_change(build, on_invalid=on_invalid, title=f"Create the object {label or name}",
                               done_url=url_for(".detail", obj=name), cancel_url=url_for(".index"),
                               errors=error_map(f"objects/{name}.yaml", "", {"fields": "name_label"}))

    @expose("/<obj>/")
    def detail(self, obj):
        o = self._object(obj)
        ed = self.editor()
        rows = []
        for f in self._fields_of(o):
            rows.append({"field": f, "type": describe_type(f), "origin": ed.field_origin(o.name, f.name)
                         if o.package else "org"})
        return self.render("setup/objects/detail.html", obj=o, rows=rows, tab="fields",
                           system_fields=SYSTEM_FIELD_LABELS, children=self._children(o),
                           layouts=self.md.layouts_for(o.name), list_views=self.md.list_views_for(o.name))

    @expose("/<obj>/details", methods=("GET", "POST"))
    def details(self, obj):
        o = self._object(obj)
        ed = self.editor()
        allowed = ed.customizable(o.name)["object"]   # None: the org's own object, everything
        keys = ["label", "plural_label", "description", "name_field", "track_history", "sharing_model",
                "hierarchy_access"]
        editable = [k for k in keys if allowed is None or k in allowed]
        package_doc = ed.package_doc("objects", o.name) if o.package else None
        if package_doc is None or not package_doc[1].get("activities"):
            editable.append("activities")   # may be turned on for any object; a package's own stays on
        doc = ed.effective("objects", o.name)
        ctx = dict(obj=o, tab="details", editable=editable, sharing_models=SHARING_MODELS,
                   has_master=self.md.master_of(o) is not None)
        if request.method == "GET":
            return self.render("setup/objects/details.html", values=doc, errors={}, **ctx)
        form = request.form

        def on_invalid(errors):
            return self.render("setup/objects/details.html", values=form.to_dict(), errors=errors, **ctx), 422

        def build(ed):
            props = {}
            for key in editable:
                if key in ("track_history", "hierarchy_access", "activities"):
                    props[key] = bool(form.get(key))
                else:
                    props[key] = (form.get(key) or "").strip() or None
            if "label" in props and not props["label"] and o.package is None:
                raise FormErrors({"label": ["enter a label"]})
            ed.set_object_props(o.name, props)
            return f"Edit object {o.name}"

        return self.org_change(build, on_invalid=on_invalid, title=f"Edit the object {o.label}",
                               done_url=url_for(".details", obj=o.name),
                               errors=error_map(f"objects/{o.name}.yaml", ""))

    @expose("/<obj>/delete", methods=("POST",))
    def delete_object(self, obj):
        o = self._object(obj)
        if o.package is not None:
            abort(400, f"'{o.name}' belongs to the {o.package} package and cannot be deleted")

        def on_invalid(errors):
            return self.render("setup/objects/detail.html", obj=o, rows=[], tab="fields", errors=errors,
                               system_fields=SYSTEM_FIELD_LABELS, children=self._children(o),
                               layouts=[], list_views=[]), 422

        def build(ed):
            ed.remove_object(o.name)
            return f"Delete object {o.name}"

        return self.org_change(build, on_invalid=on_invalid, title=f"Delete the object {o.label}",
                               done_url=url_for(".index"), cancel_url=url_for(".detail", obj=o.name))

    # -- fields --------------------------------------------------------------------------------
    def _field_context(self, o, ftype, **extra):
        md = self.md
        children = [(f"{c.name}.{f.name}", f"{c.plural_label} ({c.name}.{f.name})") for c, f in self._children(o)]
        # a rows field edits master-detail children of this object
        detail_children = [(v, label) for (v, label), (_c, f) in zip(children, self._children(o)) if f.type == "master_detail"]
        child_fields = {c.name: [(cf.name, cf.label) for cf in c.fields.values()
                                 if cf.type in ROLLUP_TYPES or (cf.type == "formula" and cf.options.get("returns") in ROLLUP_TYPES)]
                        for c, _f in self._children(o)}
        return dict(obj=o, tab="fields", ftype=ftype, type_label=TYPE_LABELS.get(ftype, ftype), type_groups=TYPE_GROUPS,
                    allowed=set(allowed_field_props(ftype)) if ftype in TYPE_LABELS else set(),
                    objects=sorted(md.objects.values(), key=lambda x: x.label.lower()),
                    returns=FORMULA_RETURN_TYPES, type_labels=TYPE_LABELS, rollup_children=children,
                    rollup_fields=child_fields, prop_types=prop_types(), object_tracks_history=o.track_history,
                    rows_children=detail_children,
                    computed=ftype in COMPUTED_TYPES or ftype == "autonumber", **extra)

    @expose("/<obj>/fields/new", methods=("GET", "POST"))
    def new_field(self, obj):
        o = self._object(obj)
        ftype = request.values.get("type")
        if ftype not in TYPE_LABELS:
            return self.render("setup/objects/field_type.html", obj=o, type_groups=TYPE_GROUPS, tab="fields")
        ctx = self._field_context(o, ftype, mode="new", layouts=self._layout_choices(o), customizable=None)
        if request.method == "GET":
            return self.render("setup/objects/field.html", errors={}, **ctx,
                               values=form_values({"type": ftype}, history_default=o.track_history))
        form = request.form

        def on_invalid(errors):
            return self.render("setup/objects/field.html", values=form_values_from_post(form), errors=errors,
                               **ctx), 422

        label = (form.get("label") or "").strip()
        name = (form.get("name") or "").strip() or api_name(label)

        def build(ed):
            errors = {}
            if not label:
                errors["label"] = ["enter a label"]
            problem = name_problem(name, taken=[*o.fields, *o.rows], reserved=SYSTEM_FIELDS)
            if problem:
                errors["name"] = [problem]
            try:
                doc = field_doc_from_form(form, ftype, history_default=ed.tracks_history(o.name))
            except FieldFormError as exc:
                errors.update(exc.errors)
            if errors:
                raise FormErrors(errors)
            ed.release_name(o.name, name)
            ed.set_field(o.name, name, doc)
            for layout in form.getlist("add_to_layout"):
                if layout not in self.md.layouts or self.md.layouts[layout]["object"] != o.name:
                    continue
                ed.add_field_to_layout(layout, name)
            summary = f"Add field {o.name}.{name} ({TYPE_LABELS[ftype]})"
            if ftype in ("lookup", "master_detail") and form.get("add_related_list"):
                added = self._add_related_lists(ed, o, name, doc)
                if added:
                    summary += f"; related list on {', '.join(added)}"
            return summary

        return self.org_change(build, on_invalid=on_invalid, title=f"Add the field {label or name} to {o.label}",
                               done_url=url_for(".detail", obj=o.name),
                               cancel_url=url_for(".new_field", obj=o.name, type=ftype),
                               errors=error_map(f"objects/{o.name}.yaml", f"fields.{name}.", _field_error_keys(ftype)))

    def _add_related_lists(self, ed, child, field: str, doc: dict) -> list[str]:
        """Offered when a lookup is created: a related list of `child` records on each page layout
        of the object the lookup points to. Returns the layouts it was added to."""
        related = {"object": child.name, "field": field}
        if doc.get("relationship_label"):
            related["label"] = doc["relationship_label"]
        added = []
        for layout in sorted(self.md.layouts.values(), key=lambda comp: comp.name):
            if layout.get("object") == doc.get("to") and ed.add_related_list(layout.name, related):
                added.append(layout.name)
        return added

    @expose("/<obj>/fields/<field>/", methods=("GET", "POST"))
    def edit_field(self, obj, field):
        o = self._object(obj)
        f = self._field_of(o, field)
        if f is None:
            abort(404)
        ed = self.editor()
        tracks = ed.tracks_history(o.name)
        origin = ed.field_origin(o.name, f.name) if o.package else "org"
        current = (ed.effective("objects", o.name)["fields"] or {}).get(f.name) or {"type": f.type}
        ftype = current["type"]
        if origin == "org" and request.form.get("type") in TYPE_LABELS and "rows" not in (ftype, request.form["type"]):
            ftype = request.form["type"]   # the org's own fields may change type (the pipeline checks the data)
        customizable = None if origin == "org" else [k for k in ed.customizable(o.name)["field"]
                                                     if k in allowed_field_props(f.type) and k not in YAML_ONLY]
        package_doc = ed.package_doc("objects", o.name)[1]["fields"][f.name] if origin == "package" else None
        ctx = self._field_context(o, ftype, mode="edit", field=f, origin=origin, customizable=customizable,
                                  package_field=package_doc, layouts=[])
        if request.method == "GET":
            values = form_values(current, history_default=tracks)
            if ftype == "rows":   # the relationship as resolved when the YAML leaves it implicit
                values["rows_relation"] = f"{f.options['object']}.{f.options['relationship']}"
            return self.render("setup/objects/field.html", values=values, errors={}, **ctx)
        form = request.form

        def on_invalid(errors):
            values = form_values_from_post(form)
            if customizable is not None:   # disabled inputs are not posted: show the package's values
                values = {**form_values(current, history_default=tracks), **{k: v for k, v in values.items() if k in customizable or k in ("values",)}}
            return self.render("setup/objects/field.html", values=values, errors=errors, **ctx), 422

        # only the org's own fields may get a new API name (a package's names are its contract)
        new_name = ((form.get("name") or "").strip() or f.name) if origin == "org" else f.name

        def build(ed):
            if new_name != f.name:
                problem = name_problem(new_name, taken=[n for n in (*o.fields, *o.rows) if n != f.name],
                                       reserved=SYSTEM_FIELDS)
                if problem:
                    raise FormErrors({"name": [problem]})
            try:
                if origin == "org":
                    doc = field_doc_from_form(form, ftype, history_default=ed.tracks_history(o.name))
                    if current.get("renamed_from"):   # keeps an earlier rename undoable by rollback
                        doc["renamed_from"] = current["renamed_from"]
                    if ftype == current.get("type") == "picklist":   # a state machine is edited in YAML
                        doc.update({k: current[k] for k in ("transitions", "initial") if k in current})
                    ed.set_field(o.name, f.name, doc)
                    if new_name != f.name:   # a rename, not a drop and an add: the data stays
                        ed.rename_field(o.name, f.name, new_name)
                        return f"Rename field {o.name}.{f.name} to {new_name}"
                else:
                    ed.patch_package_field(o.name, f.name, patch_from_form(form, f.type, customizable))
            except FieldFormError as exc:
                raise FormErrors(exc.errors) from None
            except ValueError as exc:
                raise FormErrors(str(exc)) from None
            return f"Edit field {o.name}.{f.name}"

        return self.org_change(build, on_invalid=on_invalid, title=f"Edit the field {f.label} of {o.label}",
                               done_url=url_for(".detail", obj=o.name),
                               cancel_url=url_for(".edit_field", obj=o.name, field=f.name),
                               errors=error_map(f"objects/{o.name}.yaml", f"fields.{new_name}.", _field_error_keys(ftype)))

    @expose("/<obj>/fields/<field>/delete", methods=("POST",))
    def delete_field(self, obj, field):
        o = self._object(obj)
        f = self._field_of(o, field)
        if f is None:
            abort(404)

        def on_invalid(errors):
            ed = self.editor()
            rows = [{"field": x, "type": describe_type(x),
                     "origin": ed.field_origin(o.name, x.name) if o.package else "org"} for x in self._fields_of(o)]
            return self.render("setup/objects/detail.html", obj=o, rows=rows, tab="fields", errors=errors,
                               system_fields=SYSTEM_FIELD_LABELS, children=self._children(o),
                               layouts=self.md.layouts_for(o.name), list_views=self.md.list_views_for(o.name)), 422

        def build(ed):
            try:
                ed.remove_field(o.name, f.name)
            except ValueError as exc:
                raise FormErrors(str(exc)) from None
            return f"Remove field {o.name}.{f.name}"

        return self.org_change(build, on_invalid=on_invalid, title=f"Remove the field {f.label} from {o.label}",
                               done_url=url_for(".detail", obj=o.name))

    # -- validation rules ------------------------------------------------------------------------
    @expose("/<obj>/rules")
    def rules(self, obj):
        o = self._object(obj)
        return self.render("setup/objects/rules.html", obj=o, tab="rules")

    @expose("/<obj>/rules/new", methods=("GET", "POST"))
    @expose("/<obj>/rules/<rule>/", methods=("GET", "POST"))
    def edit_rule(self, obj, rule=None):
        o = self._object(obj)
        if o.package is not None:
            abort(400, "validation rules of a package object belong to its package")
        existing = next((r for r in o.validation_rules if r.name == rule), None)
        if rule is not None and existing is None:
            abort(404)
        ctx = dict(obj=o, tab="rules", rule=existing)
        if request.method == "GET":
            values = {"name": existing.name, "condition": existing.condition, "message": existing.message,
                      "field": existing.field or ""} if existing else {}
            return self.render("setup/objects/rule.html", values=values, errors={}, **ctx)
        form = request.form

        def on_invalid(errors):
            return self.render("setup/objects/rule.html", values=form.to_dict(), errors=errors, **ctx), 422

        name = existing.name if existing else (form.get("name") or "").strip()
        rules = [r for r in o.validation_rules]
        index = rules.index(existing) if existing else len(rules)

        def build(ed):
            errors = {}
            if not existing:
                problem = name_problem(name, taken={r.name for r in rules})
                if problem:
                    errors["name"] = [problem]
            condition = (form.get("condition") or "").strip()
            message = (form.get("message") or "").strip()
            if not condition:
                errors["condition"] = ["enter the condition that rejects a write"]
            if not message:
                errors["message"] = ["enter the message users see"]
            if errors:
                raise FormErrors(errors)
            doc = ed.org_doc("objects", o.name)
            entry = {"name": name, "condition": condition, "message": message}
            if form.get("field"):
                entry["field"] = form["field"]
            items = doc.setdefault("validation_rules", [])
            if existing:
                items[index] = entry
            else:
                items.append(entry)
            return f"{'Edit' if existing else 'Add'} validation rule {o.name}.{name}"

        return self.org_change(build, on_invalid=on_invalid, title=f"Validation rule {name} of {o.label}",
                               done_url=url_for(".rules", obj=o.name),
                               errors=error_map(f"objects/{o.name}.yaml", f"validation_rules.{index}."))

    @expose("/<obj>/rules/<rule>/delete", methods=("POST",))
    def delete_rule(self, obj, rule):
        o = self._object(obj)
        if o.package is not None or not any(r.name == rule for r in o.validation_rules):
            abort(404)

        def on_invalid(errors):
            return self.render("setup/objects/rules.html", obj=o, tab="rules", errors=errors), 422

        def build(ed):
            doc = ed.org_doc("objects", o.name)
            doc["validation_rules"] = [r for r in doc.get("validation_rules") or () if r["name"] != rule]
            if not doc["validation_rules"]:
                doc.pop("validation_rules")
            return f"Remove validation rule {o.name}.{rule}"

        return self.org_change(build, on_invalid=on_invalid, title=f"Remove the validation rule {rule}",
                               done_url=url_for(".rules", obj=o.name))

    # -- expression check (as you type) ------------------------------------------------------------
    @expose("/<obj>/check-expression", methods=("POST",))
    def check_expression(self, obj):
        """Type-check an expression against the object: {"ok": true, "type": ...} or {"ok": false,
        "error": ...}. The save goes through the pipeline anyway; this is the early warning. Kinds:
        formula (with `returns`), rule, filter, and the workflow builder's condition, value
        (with `target` object and `field`: the type that field takes), id (a user id: assign_owner's
        user, notify's recipients), text (notify's title and message) and when (a wait's until: a date
        or a datetime) — as save-time validation. With `payload` ({key: type}: an inbound webhook's
        declared keys) the expression sees payload.<key> instead of a record, as validation does
        (meta/validate_workflows.py) compiles them."""
        o = self._object(obj)
        data = request.get_json(silent=True)
        data = data if isinstance(data, dict) else {}
        text = data.get("expression")
        if not isinstance(text, str) or not text.strip():
            return jsonify(ok=False, error="enter an expression")
        kind = data.get("kind", "formula")
        expected = {"rule": "boolean", "filter": "boolean", "condition": "boolean", "id": "id", "text": "text"}.get(kind)
        if kind == "formula" and data.get("returns") in FORMULA_RETURN_TYPES:
            expected = formula_expr_type(data["returns"])
        if kind == "value":   # a workflow value: the type `target.field` takes, computed on `obj`'s record
            target = self.md.objects.get(data.get("target") or "") if isinstance(data.get("target"), str) else None
            field = data.get("field") if isinstance(data.get("field"), str) else ""
            if target is None or not field:
                return jsonify(ok=False, error="choose the field first")
            problem = settable_problem(target, field, before_save=True)
            if problem:
                return jsonify(ok=False, error=problem)
            expected = value_type(target, field)
        payload = data.get("payload")
        resolve = resolver(self.md, o)
        if isinstance(payload, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in payload.items()):
            resolve = PayloadScope(o.name, payload).resolve
        try:
            compiled = compile_expression(text, resolve,
                                          context="write" if kind in WRITE_KINDS else "read", expected=expected)
        except ExprError as exc:
            return jsonify(ok=False, error=str(exc))
        if kind == "when" and compiled.type not in ("date", "datetime", "null"):
            return jsonify(ok=False, error=f"the expression must give a date or a datetime, but gives {compiled.type}")
        if kind == "id" and compiled.type != "id":   # `fits` lets text stand for an id; save-time checks refuse it
            return jsonify(ok=False, error=f"the expression must give a user id (e.g. owner), but gives {compiled.type}")
        return jsonify(ok=True, type=compiled.type)


def _field_error_keys(ftype: str) -> dict:
    """Metadata paths inside a field → the inputs of the field form."""
    keys = {"object": "rollup_relation", "relationship": "rollup_relation", "field": "rollup_field",
            "filter": "rollup_filter"}
    if ftype == "rows":
        keys.update(object="rows_relation", relationship="rows_relation")
    if ftype == "formula":
        keys["scale"] = "formula_scale"
    return keys
