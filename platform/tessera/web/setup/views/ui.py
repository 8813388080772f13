"""Page layouts (drag and drop), list views and app navigation.

A package's list view or app is overridden WHOLE by the org's copy of the same name
(metadata/README.md); "Revert" deletes that copy, and the package's version shows again. A
package's layout is saved as a patch when the edit can be said as one (layout_patches.py), so the
package's later changes to it still arrive; otherwise as a whole copy.
"""
from __future__ import annotations

import json

from flask import abort, redirect, request, url_for
from flask_admin import expose

from ....meta.model import default_label
from ..base import FormErrors, SetupView, error_map
from ..layout_patches import as_patch, patch_summary
from ..orgedit import api_name, name_problem
from .objects import SYSTEM_FIELD_LABELS

MAX_SECTIONS = 50


def _state(md_component, ed, dirname) -> str:
    """"package" (as the package ships it), "patched" (a package layout with the org's patch),
    "override" (the org's copy replaces it), "custom"."""
    if md_component.package is not None:
        org = ed.org_doc(dirname, md_component.name) if dirname == "layouts" else None
        return "patched" if org is not None and "patches" in org else "package"
    return "override" if ed.package_doc(dirname, md_component.name) else "custom"


def _field_choices(md, obj, *, paths: bool = False):
    """(path, label) for an object's fields, its system fields and, with `paths`, the name field
    of each lookup's target (account.name)."""
    out = [(f.name, f.label) for f in obj.fields.values()]
    out += [(n, label) for n, label in SYSTEM_FIELD_LABELS.items()]
    if paths:
        for f in obj.fields.values():
            target = md.objects.get(f.target) if f.is_relation else None
            if target is not None and target.name_field:
                out.append((f"{f.name}.{target.name_field}", f"{f.label} › {target.fields[target.name_field].label}"))
        out.append(("owner.full_name", "Owner › Full Name"))
    return out


class _ComponentView(SetupView):
    dirname = ""
    kind = ""

    def _component(self, name, collection):
        comp = collection.get(name)
        if comp is None:
            abort(404)
        return comp

    def _revert(self, name, collection, done_url):
        """Delete the org's copy: a package component shows as shipped; the org's own goes away."""
        comp = self._component(name, collection)
        ed = self.editor()
        if ed.org_doc(self.dirname, name) is None:
            abort(400, f"the {self.kind} '{name}' has no org copy to revert")
        overridden = ed.package_doc(self.dirname, name) is not None

        def build(ed):
            ed.delete(self.dirname, name)
            return f"{'Revert' if overridden else 'Delete'} {self.kind} {name}"

        def on_invalid(errors):
            from flask import flash
            for messages in errors.values():
                for msg in messages:
                    flash(msg, "error")
            return redirect(done_url)

        label = comp.get("label") or default_label(name)
        return self.org_change(build, on_invalid=on_invalid, done_url=done_url,
                               title=f"{'Revert' if overridden else 'Delete'} the {self.kind} {label}")


# --------------------------------------------------------------------------- page layouts

class LayoutsView(_ComponentView):
    icon = "fa-columns"
    dirname = "layouts"
    kind = "page layout"

    @expose("/")
    def index(self):
        md, ed = self.md, self.editor()
        only = request.args.get("object")
        rows = [(c, md.objects.get(c["object"]), _state(c, ed, "layouts")) for c in md.layouts.values()
                if not only or c["object"] == only]
        rows.sort(key=lambda r: ((r[1].label if r[1] else r[0]["object"]).lower(), r[0].name))
        without = [o for o in md.objects.values() if not md.layouts_for(o.name)]
        return self.render("setup/layouts/index.html", rows=rows, only=md.objects.get(only) if only else None,
                           without=sorted(without, key=lambda o: o.label.lower()))

    def _editor_context(self, obj, name, doc, state):
        md = self.md
        children = [{"value": f"{c.name}.{f.name}", "object": c.name, "field": f.name,
                     "label": f"{c.plural_label} ({c.name}.{f.name})",
                     "fields": [[p, lbl] for p, lbl in _field_choices(md, c, paths=True)]}
                    for c in md.objects.values() for f in c.fields.values() if f.is_relation and f.target == obj.name]
        fields = {n: lbl for n, lbl in _field_choices(md, obj)}
        types = {f.name: f.type for f in obj.fields.values()}
        return dict(obj=obj, name=name, doc=doc, state=state, field_labels=fields, field_types=types,
                    children=children)

    @expose("/new", methods=("GET", "POST"))
    def new(self):
        obj = self.md.objects.get(request.values.get("object", ""))
        if obj is None:
            abort(404)
        base = obj.name if not self.md.layouts.get(obj.name) else f"{obj.name}_layout"
        name, n = base, 2
        while name in self.md.layouts:
            name, n = f"{base[:36]}_{n}", n + 1
        doc = {"name": name, "object": obj.name, "label": f"{obj.label} Layout",
               "sections": [{"label": f"{obj.label} Information", "columns": 2,
                             "fields": [obj.name_field] if obj.name_field else list(obj.fields)[:1]}]}
        return self._edit(name, obj, doc, "custom", new=True)

    @expose("/<cname>/", methods=("GET", "POST"))
    def edit(self, cname):
        name = cname
        comp = self._component(name, self.md.layouts)
        obj = self.md.objects[comp["object"]]
        return self._edit(name, obj, dict(comp.doc), _state(comp, self.editor(), "layouts"), new=False)

    def _edit(self, name, obj, doc, state, *, new: bool):
        if request.method == "GET":
            return self.render("setup/layouts/edit.html", errors={}, new=new,
                               **self._editor_context(obj, name, doc, state))
        posted = None

        def on_invalid(errors):
            shown = posted or doc
            return self.render("setup/layouts/edit.html", errors=errors, new=new,
                               **self._editor_context(obj, name, shown, state)), 422

        try:
            posted = parse_layout(request.form.get("layout_json", ""), name=name, object_name=obj.name)
        except FormErrors as exc:
            return on_invalid(exc.errors)

        def build(ed):
            shipped = ed.package_doc("layouts", name)
            patch = as_patch(shipped[1], posted) if shipped else None
            if patch is None:
                ed.put("layouts", name, posted)
                return f"{'Create' if new else 'Edit'} page layout {name} ({obj.name})" + \
                    (": the org's copy replaces the package's" if shipped else "")
            if len(patch) == 1:     # no operation left: the package's layout as shipped
                if ed.org_doc("layouts", name) is not None:
                    ed.delete("layouts", name)
                return f"Revert page layout {name} ({obj.name}) to the package's"
            ed.put("layouts", name, patch)
            return f"Patch page layout {name} ({obj.name}): {patch_summary(patch)}"

        return self.org_change(build, on_invalid=on_invalid, title=f"Save the page layout {posted.get('label') or name}",
                               done_url=url_for(".edit", cname=name),
                               cancel_url=url_for(".edit", cname=name) if not new else url_for(".index"))

    @expose("/<cname>/revert", methods=("POST",))
    def revert(self, cname):
        name = cname
        return self._revert(name, self.md.layouts, url_for(".index"))


def parse_layout(text: str, *, name: str, object_name: str) -> dict:
    """The editor's JSON → a layout document (shape-checked here; the pipeline checks the rest)."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        raise FormErrors("the layout editor did not send a layout (is JavaScript on?)") from None
    if not isinstance(data, dict) or not isinstance(data.get("sections"), list):
        raise FormErrors("the layout editor sent something unexpected")
    errors: list[str] = []
    sections = []
    for i, s in enumerate(data["sections"][:MAX_SECTIONS]):
        if not isinstance(s, dict):
            raise FormErrors("the layout editor sent something unexpected")
        fields = [f for f in s.get("fields") or [] if isinstance(f, str)]
        label = (s.get("label") or "").strip() if isinstance(s.get("label"), str) else ""
        if not fields:
            errors.append(f"Section {i + 1}{' (' + label + ')' if label else ''} has no fields: "
                          "drag fields into it or remove it.")
            continue
        section = {}
        if label:
            section["label"] = label[:255]
        section["columns"] = 1 if s.get("columns") in (1, "1") else 2
        section["fields"] = list(dict.fromkeys(fields))
        sections.append(section)
    if not sections and not errors:
        errors.append("A layout needs at least one section with fields.")
    related = []
    for i, r in enumerate(data.get("related_lists") or []):
        if not isinstance(r, dict) or not isinstance(r.get("relation"), str) or "." not in r["relation"]:
            errors.append(f"Related list {i + 1}: choose the related records.")
            continue
        child, field = r["relation"].split(".", 1)
        item = {"object": child, "field": field}
        if isinstance(r.get("label"), str) and r["label"].strip():
            item["label"] = r["label"].strip()[:255]
        columns = [c for c in r.get("columns") or [] if isinstance(c, str) and c]
        if columns:
            item["columns"] = list(dict.fromkeys(columns))
        related.append(item)
    if errors:
        raise FormErrors({"": errors})
    doc = {"name": name, "object": object_name}
    label = data.get("label")
    if isinstance(label, str) and label.strip():
        doc["label"] = label.strip()[:255]
    doc["sections"] = sections
    if related:
        doc["related_lists"] = related
    return doc


# --------------------------------------------------------------------------- list views

class ListViewsView(_ComponentView):
    icon = "fa-list"
    dirname = "list_views"
    kind = "list view"

    @expose("/")
    def index(self):
        md, ed = self.md, self.editor()
        only = request.args.get("object")
        rows = [(c, md.objects.get(c["object"]), _state(c, ed, "list_views")) for c in md.list_views.values()
                if not only or c["object"] == only]
        rows.sort(key=lambda r: ((r[1].label if r[1] else r[0]["object"]).lower(), (r[0].get("label") or r[0].name).lower()))
        objects = sorted(md.objects.values(), key=lambda o: o.label.lower())
        return self.render("setup/list_views/index.html", rows=rows, only=md.objects.get(only) if only else None,
                           objects=objects)

    def _render(self, name, obj, values, state, errors, new, status=200):
        choices = _field_choices(self.md, obj, paths=True)
        labels = dict(choices)
        columns = [(c, labels.get(c, c)) for c in values.get("columns") or []]
        sort = []
        for key in values.get("sort") or []:
            sort.append((key.lstrip("-"), key.startswith("-")))
        return self.render("setup/list_views/edit.html", name=name, obj=obj, values=values, state=state,
                           errors=errors, new=new, choices=choices, columns=columns, sort=sort,
                           objects=sorted(self.md.objects.values(), key=lambda o: o.label.lower())), status

    @expose("/new", methods=("GET", "POST"))
    def new(self):
        obj = self.md.objects.get(request.values.get("object", ""))
        if obj is None:
            abort(404)
        if request.method == "GET":
            first = [obj.name_field] if obj.name_field else list(obj.fields)[:1]
            return self._render("", obj, {"columns": first + ["owner"], "label": ""}, "custom", {}, True)
        label = (request.form.get("label") or "").strip()
        name = (request.form.get("name") or "").strip() or api_name(label)
        return self._save(name, obj, "custom", new=True)

    @expose("/<cname>/", methods=("GET", "POST"))
    def edit(self, cname):
        name = cname
        comp = self._component(name, self.md.list_views)
        obj = self.md.objects[comp["object"]]
        state = _state(comp, self.editor(), "list_views")
        if request.method == "GET":
            return self._render(name, obj, dict(comp.doc), state, {}, False)
        return self._save(name, obj, state, new=False)

    def _save(self, name, obj, state, *, new):
        form = request.form
        sort = []
        for field, direction in zip(form.getlist("sort_field"), form.getlist("sort_dir")):
            if field:
                sort.append(("-" if direction == "desc" else "") + field)
        values = {"label": (form.get("label") or "").strip(), "columns": form.getlist("columns"),
                  "filter": (form.get("filter") or "").strip(), "sort": sort, "name": name}

        def on_invalid(errors):
            return self._render(name, obj, values, state, errors, new, 422)

        def build(ed):
            errors = {}
            if new:
                problem = name_problem(name, taken=self.md.list_views)
                if problem:
                    errors["name"] = [problem]
            if not values["label"]:
                errors["label"] = ["enter a label"]
            if not values["columns"]:
                errors["columns"] = ["add at least one column"]
            if len(set(values["columns"])) != len(values["columns"]):
                errors["columns"] = ["a column is listed twice"]
            if errors:
                raise FormErrors(errors)
            doc = {"name": name, "object": obj.name, "label": values["label"], "columns": values["columns"]}
            if values["filter"]:
                doc["filter"] = values["filter"]
            if sort:
                doc["sort"] = list(dict.fromkeys(sort))
            ed.put("list_views", name, doc)
            return f"{'Create' if new else 'Edit'} list view {name} ({obj.name})"

        return self.org_change(build, on_invalid=on_invalid, title=f"Save the list view {values['label'] or name}",
                               done_url=url_for(".index", object=obj.name),
                               errors=error_map(f"list_views/{name}.yaml", ""))

    @expose("/<cname>/revert", methods=("POST",))
    def revert(self, cname):
        name = cname
        return self._revert(name, self.md.list_views, url_for(".index"))


# --------------------------------------------------------------------------- apps

class AppsView(_ComponentView):
    icon = "fa-th-large"
    dirname = "apps"
    kind = "app"

    @expose("/")
    def index(self):
        md, ed = self.md, self.editor()
        rows = [(c, _state(c, ed, "apps")) for c in sorted(md.apps.values(), key=lambda a: (a.get("label") or a.name).lower())]
        return self.render("setup/apps/index.html", rows=rows, objects=md.objects)

    def _render(self, name, values, state, errors, new, status=200):
        objects = sorted(self.md.objects.values(), key=lambda o: o.label.lower())
        labels = {o.name: o.plural_label for o in objects}
        tabs = [(t, labels.get(t, t)) for t in values.get("tabs") or []]
        return self.render("setup/apps/edit.html", name=name, values=values, state=state, errors=errors,
                           new=new, tabs=tabs, choices=[(o.name, o.plural_label) for o in objects]), status

    @expose("/new", methods=("GET", "POST"))
    def new(self):
        if request.method == "GET":
            return self._render("", {"tabs": []}, "custom", {}, True)
        label = (request.form.get("label") or "").strip()
        return self._save((request.form.get("name") or "").strip() or api_name(label), "custom", new=True)

    @expose("/<cname>/", methods=("GET", "POST"))
    def edit(self, cname):
        name = cname
        comp = self._component(name, self.md.apps)
        state = _state(comp, self.editor(), "apps")
        if request.method == "GET":
            return self._render(name, dict(comp.doc), state, {}, False)
        return self._save(name, state, new=False)

    def _save(self, name, state, *, new):
        form = request.form
        values = {"name": name, "label": (form.get("label") or "").strip(),
                  "description": (form.get("description") or "").strip(), "tabs": form.getlist("tabs")}

        def on_invalid(errors):
            return self._render(name, values, state, errors, new, 422)

        def build(ed):
            errors = {}
            if new:
                problem = name_problem(name, taken=self.md.apps)
                if problem:
                    errors["name"] = [problem]
            if not values["label"]:
                errors["label"] = ["enter a label"]
            if not values["tabs"]:
                errors["tabs"] = ["add at least one tab"]
            if errors:
                raise FormErrors(errors)
            doc = {"name": name, "label": values["label"]}
            if values["description"]:
                doc["description"] = values["description"]
            doc["tabs"] = list(dict.fromkeys(values["tabs"]))
            ed.put("apps", name, doc)
            return f"{'Create' if new else 'Edit'} app {name}"

        return self.org_change(build, on_invalid=on_invalid, title=f"Save the app {values['label'] or name}",
                               done_url=url_for(".index"), errors=error_map(f"apps/{name}.yaml", ""))

    @expose("/<cname>/revert", methods=("POST",))
    def revert(self, cname):
        name = cname
        return self._revert(name, self.md.apps, url_for(".index"))
