"""Permission set groups: permission sets assigned together (a user holding the group has the
union of its sets). Listed, created, edited (label, description, member sets) and deleted here;
every save is a metadata version through the change pipeline (org layer), like the permission
sets they bundle. A package's group is overridden whole in the org layer on its first edit.

Who holds a group is data, not metadata: `permission_set_assignment` records (kind
permission_set_group), assigned on the Users page; the group page lists them through the record
service as the signed-in admin.
"""
from __future__ import annotations

from flask import abort, request, url_for
from flask_admin import expose

from ....records.errors import RecordError
from ..base import FormErrors, SetupView, error_map
from ..orgedit import api_name, name_problem
from .security import _plain, _state

DIRNAME = "permission_set_groups"
HOLDERS_SHOWN = 200


class PermissionSetGroupsView(SetupView):
    icon = "fa-object-group"

    # -- reads ---------------------------------------------------------------------------------
    def _group(self, name):
        comp = self.md.permission_set_groups.get(name)
        if comp is None:
            abort(404)
        return comp

    def _sets(self):
        return sorted(self.md.permission_sets.values(), key=lambda c: (c.get("label") or c.name).lower())

    def _holders(self, name: str, *, limit: int = HOLDERS_SHOWN) -> tuple[list[dict], int] | None:
        """The users holding one group (first `limit`, by username) and how many there are; None
        when the admin may not read assignments (the page then says so instead of guessing)."""
        # `name` is a group's API name from the metadata (an identifier): safe inside the literal
        where = f"kind == 'permission_set_group' and permission_set == '{name}'"
        try:
            result = self.services.records.query(
                self.actor, "permission_set_assignment", filter=where, count=True, limit=limit,
                fields=["user", "user.username", "user.full_name"], sort=["user.username"])
        except RecordError:
            return None
        return result.records, result.total or 0

    def _edit_page(self, comp, doc, errors, status=200):
        return self.render("setup/permission_groups/edit.html", comp=comp, doc=doc,
                           state=_state(comp, self.editor(), DIRNAME), sets=self._sets(),
                           holders=self._holders(comp.name), errors=errors), status

    @expose("/")
    def index(self):
        return self._index({}, {})

    def _index(self, values, errors, status=200):
        ed = self.editor()
        groups = [(c, _state(c, ed, DIRNAME)) for c in
                  sorted(self.md.permission_set_groups.values(), key=lambda c: (c.get("label") or c.name).lower())]
        counts = {}   # group -> number of users holding it (None: the admin may not read assignments)
        for comp, _state_of in groups:
            held = self._holders(comp.name, limit=1)
            counts[comp.name] = held[1] if held else None
        return self.render("setup/permission_groups/index.html", groups=groups, sets=self._sets(),
                           set_labels={c.name: c.get("label") or c.name for c in self._sets()},
                           counts=counts, values=values, errors=errors), status

    # -- writes --------------------------------------------------------------------------------
    def _posted(self, form, name: str) -> dict:
        """The form → a group document (member sets in the order the page lists them)."""
        chosen = set(form.getlist("permission_sets"))
        doc = {"name": name}
        for key in ("label", "description"):
            value = (form.get(key) or "").strip()
            if value:
                doc[key] = value
        doc["permission_sets"] = [c.name for c in self._sets() if c.name in chosen]
        unknown = sorted(chosen - set(doc["permission_sets"]))
        if unknown:
            raise FormErrors({"permission_sets": [f"there is no permission set '{unknown[0]}'"]})
        if not doc["permission_sets"]:
            raise FormErrors({"permission_sets": ["choose at least one permission set"]})
        return doc

    @expose("/new", methods=("POST",))
    def new(self):
        form = request.form
        label = (form.get("label") or "").strip()
        name = (form.get("name") or "").strip() or api_name(label)

        def build(ed):
            errors = {}
            if not label:
                errors["label"] = ["enter a label, e.g. Sales Operations"]
            problem = name_problem(name, taken=self.md.permission_set_groups)
            if problem:
                errors["name"] = [problem]
            try:
                doc = self._posted(form, name)
            except FormErrors as exc:
                errors.update(exc.errors)
            if errors:
                raise FormErrors(errors)
            ed.put(DIRNAME, name, doc)
            return f"Create permission set group {name} ({', '.join(doc['permission_sets'])})"

        values = {**form.to_dict(), "permission_sets": form.getlist("permission_sets")}
        return self.org_change(build, on_invalid=lambda errors: self._index(values, errors, 422),
                               title=f"Create the permission set group {label or name}",
                               done_url=url_for(".edit", cname=name), cancel_url=url_for(".index"),
                               errors=error_map(f"{DIRNAME}/{name}.yaml", ""))

    @expose("/<cname>/", methods=("GET", "POST"))
    def edit(self, cname):
        comp = self._group(cname)
        if request.method == "GET":
            return self._edit_page(comp, _plain(comp.doc), {})
        form = request.form
        shown = {"name": comp.name, "label": form.get("label", ""), "description": form.get("description", ""),
                 "permission_sets": form.getlist("permission_sets")}

        def build(ed):
            doc = ed.override(DIRNAME, comp.name)
            posted = self._posted(form, comp.name)
            doc.clear()
            doc.update(posted)
            return f"Edit permission set group {comp.name}"

        return self.org_change(build, on_invalid=lambda errors: self._edit_page(comp, shown, errors, 422),
                               title=f"Save the permission set group {comp.get('label') or comp.name}",
                               done_url=url_for(".edit", cname=comp.name),
                               errors=error_map(f"{DIRNAME}/{comp.name}.yaml", ""))

    @expose("/<cname>/delete", methods=("POST",))
    def delete(self, cname):
        """Delete the org's own group, or revert the org's copy of a package's group."""
        comp = self._group(cname)
        ed = self.editor()
        if ed.org_doc(DIRNAME, comp.name) is None:
            abort(400, "a package's permission set group cannot be deleted")
        reverting = ed.package_doc(DIRNAME, comp.name) is not None

        def build(ed):
            held = self._holders(comp.name, limit=1)
            if not reverting and (held is None or held[1]):   # it would silently stop granting anything
                raise FormErrors(f"{held[1] if held else 'Some'} user(s) hold this group: remove it from them "
                                 "on the Users page first")
            ed.delete(DIRNAME, comp.name)
            return f"{'Revert' if reverting else 'Delete'} permission set group {comp.name}"

        return self.org_change(build, on_invalid=lambda errors: self._edit_page(comp, _plain(comp.doc), errors, 422),
                               done_url=url_for(".index"),
                               cancel_url=url_for(".edit", cname=comp.name),
                               title=f"{'Revert' if reverting else 'Delete'} the permission set group "
                                     f"{comp.get('label') or comp.name}")
