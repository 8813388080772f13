"""Profiles and permission sets (object matrix, field-level security), roles, sharing.

A package's profile, permission set, role or sharing rule is overridden WHOLE in the org layer:
the first save copies the package's document there with the edits (metadata/README.md).
"""
from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask_admin import expose

from ....meta.fieldtypes import COMPUTED_TYPES
from ....meta.model import default_label
from ....security.actor import SYSTEM
from ....security.exposure import hidden_inputs
from ....security.policy import OBJECT_ACTIONS, SYSTEM_PERMISSIONS, expand_actions
from ..base import FormErrors, SetupView, error_map
from ..orgedit import api_name, name_problem
from .objects import SHARING_MODELS

KINDS = {"profile": ("profiles", "Profile"), "permission_set": ("permission_sets", "Permission Set")}
ACTION_LABELS = {"create": "Create", "read": "Read", "edit": "Edit", "delete": "Delete",
                 "view_all": "View All", "modify_all": "Modify All"}
SYSTEM_LABELS = {
    "customize_metadata": ("Customize Metadata", "Use Setup: objects, layouts, permissions, versions"),
    "manage_users": ("Manage Users", "Create, deactivate and assign users"),
    "api_access": ("API Access", "Use the REST API with a token"),
    "export_data": ("Export Data", "Export records"),
    "transfer_records": ("Transfer Records", "Change the owner of records"),
    "view_all_data": ("View All Data", "Read every record of every object, ignoring sharing"),
    "modify_all_data": ("Modify All Data", "Edit and delete every record, ignoring sharing"),
    "view_encrypted_data": ("View Encrypted Data", "Read encrypted fields in clear (others see them masked)"),
}


def _exposures(md, kind, doc, obj: str | None = None) -> list[dict]:
    """The container's readable formulas/roll-ups that read fields it cannot read (all of them,
    or those where `obj` holds the formula or the hidden field), ready for the warning."""
    def ref(pair):
        o = md.objects[pair[0]]
        f = o.fields[pair[1]]
        return {"object": o.label, "field": f.label, "name": f"{o.name}.{f.name}", "type": f.type}
    return [{"field": ref(e.field), "hidden": ref(e.hidden), "via": [ref(v) for v in e.via]}
            for e in hidden_inputs(md, doc, additive=kind == "permission_set") if obj is None or obj in (e.field[0], e.hidden[0])]


def _state(comp, ed, dirname) -> str:
    if comp.package is not None:
        return "package"
    return "override" if ed.package_doc(dirname, comp.name) else "custom"


class PermissionsView(SetupView):
    icon = "fa-shield"

    def _container(self, kind, name):
        if kind not in KINDS:
            abort(404)
        dirname, _title = KINDS[kind]
        comp = getattr(self.md, dirname).get(name)
        if comp is None:
            abort(404)
        return dirname, comp

    def _users_by_profile(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        cursor = None
        try:
            while True:
                page = self.services.records.query(SYSTEM, "user", fields="profile", limit=1000, cursor=cursor)
                for u in page.records:
                    counts[u.get("profile") or ""] = counts.get(u.get("profile") or "", 0) + 1
                cursor = page.next_cursor
                if not cursor:
                    return counts
        except Exception:   # no user object (a bare test org): counts are a nicety
            return counts

    @expose("/")
    def index(self):
        md, ed = self.md, self.editor()
        profiles = [(c, _state(c, ed, "profiles")) for c in sorted(md.profiles.values(), key=lambda c: (c.get("label") or c.name).lower())]
        sets = [(c, _state(c, ed, "permission_sets")) for c in sorted(md.permission_sets.values(), key=lambda c: (c.get("label") or c.name).lower())]
        groups = sorted(md.permission_set_groups.values(), key=lambda c: (c.get("label") or c.name).lower())
        return self.render("setup/permissions/index.html", profiles=profiles, sets=sets, groups=groups,
                           users=self._users_by_profile(), errors={}, values={})

    @expose("/new", methods=("POST",))
    def new(self):
        form = request.form
        kind = form.get("kind")
        if kind not in KINDS:
            abort(400)
        dirname, title = KINDS[kind]
        label = (form.get("label") or "").strip()
        name = (form.get("name") or "").strip() or api_name(label)
        source = form.get("copy_from") or ""

        def on_invalid(errors):
            md, ed = self.md, self.editor()
            profiles = [(c, _state(c, ed, "profiles")) for c in md.profiles.values()]
            sets = [(c, _state(c, ed, "permission_sets")) for c in md.permission_sets.values()]
            return self.render("setup/permissions/index.html", profiles=profiles, sets=sets,
                               groups=list(md.permission_set_groups.values()), users={}, errors=errors,
                               values=form.to_dict()), 422

        def build(ed):
            errors = {}
            if not label:
                errors["label"] = ["enter a label"]
            problem = name_problem(name, taken=getattr(self.md, dirname))
            if problem:
                errors["name"] = [problem]
            if errors:
                raise FormErrors(errors)
            doc = {"name": name, "label": label}
            if source:
                src = getattr(self.md, dirname).get(source)
                if src is None:
                    raise FormErrors({"copy_from": [f"there is no {title.lower()} '{source}'"]})
                for key in ("description", "system_permissions", "objects", "fields"):
                    if src.get(key):
                        doc[key] = src.doc[key] if not isinstance(src.doc[key], dict) else dict(src.doc[key])
            ed.put(dirname, name, _plain(doc))
            return f"Create {title.lower()} {name}" + (f" (a copy of {source})" if source else "")

        return self.org_change(build, on_invalid=on_invalid, title=f"Create the {title.lower()} {label or name}",
                               done_url=url_for(".matrix", kind=kind, cname=name), cancel_url=url_for(".index"))

    # -- the object matrix ---------------------------------------------------------------------
    def _groups(self):
        md = self.md
        groups: dict[str, list] = {}
        for o in sorted(md.objects.values(), key=lambda o: o.label.lower()):
            groups.setdefault(o.package or "", []).append(o)
        order = sorted(groups, key=lambda p: (p != "", p == "core", p))
        return [(p, groups[p]) for p in order]

    @expose("/<kind>/<cname>/", methods=("GET", "POST"))
    def matrix(self, kind, cname):
        name = cname
        dirname, comp = self._container(kind, name)
        state = _state(comp, self.editor(), dirname)
        objects = self.md.objects

        def page(doc, errors, status=200):
            rights = {o: set(acts) for o, acts in (doc.get("objects") or {}).items()}
            return self.render("setup/permissions/matrix.html", kind=kind, kind_title=KINDS[kind][1], comp=comp,
                               doc=doc, rights=rights, groups=self._groups(), actions=OBJECT_ACTIONS,
                               action_labels=ACTION_LABELS, system_labels=SYSTEM_LABELS,
                               system_permissions=SYSTEM_PERMISSIONS, state=state, errors=errors,
                               field_exceptions={o: len(f) for o, f in (doc.get("fields") or {}).items()},
                               exposures=_exposures(self.md, kind, doc)), status

        if request.method == "GET":
            return page(dict(comp.doc), {})
        form = request.form
        posted = _posted_container(form, comp.doc, objects)

        def build(ed):
            doc = ed.override(dirname, name)
            doc.clear()
            doc.update(_plain(posted))
            return f"Edit {KINDS[kind][1].lower()} {name}: object and system permissions"

        return self.org_change(build, on_invalid=lambda errors: page(posted, errors, 422),
                               title=f"Save the {KINDS[kind][1].lower()} {comp.get('label') or name}",
                               done_url=url_for(".matrix", kind=kind, cname=name),
                               errors=error_map(f"{dirname}/{name}.yaml", ""))

    # -- field-level security -----------------------------------------------------------------
    @expose("/<kind>/<cname>/fields/<obj>", methods=("GET", "POST"))
    def fields(self, kind, cname, obj):
        name = cname
        dirname, comp = self._container(kind, name)
        o = self.md.objects.get(obj)
        if o is None:
            abort(404)
        state = _state(comp, self.editor(), dirname)
        system = set(comp.get("system_permissions") or ())
        object_rights = expand_actions((comp.get("objects") or {}).get(obj, ()))
        if "modify_all_data" in system:
            object_rights |= expand_actions({"modify_all", "create"})
        elif "view_all_data" in system:
            object_rights |= expand_actions({"view_all"})
        default = {a for a in ("read", "edit") if a in object_rights}

        def effective(doc):
            listed = (doc.get("fields") or {}).get(obj) or {}
            return {f: set(listed[f]) if f in listed else set(default) for f in o.fields}

        def page(doc, errors, status=200):
            return self.render("setup/permissions/fields.html", kind=kind, kind_title=KINDS[kind][1], comp=comp,
                               obj=o, rights=effective(doc), object_rights=object_rights, state=state,
                               computed={f.name for f in o.fields.values() if f.type in COMPUTED_TYPES or f.read_only},
                               exposures=_exposures(self.md, kind, doc, obj), errors=errors), status

        if request.method == "GET":
            return page(comp.doc, {})
        form = request.form
        readable, editable = set(form.getlist("read")), set(form.getlist("edit"))
        exceptions = {}
        for f in o.fields.values():
            fixed = f.type in COMPUTED_TYPES or f.read_only   # nobody edits it: only read matters
            want = {"read"} if f.name in readable else set()
            if want and (default & {"edit"} if fixed else ({"edit"} if f.name in editable else set())):
                want.add("edit")
            if want != default:
                exceptions[f.name] = [a for a in ("read", "edit") if a in want]

        def build(ed):
            doc = ed.override(dirname, name)
            fields = doc.setdefault("fields", {})
            if exceptions:
                fields[obj] = exceptions
            else:
                fields.pop(obj, None)
            if not fields:
                doc.pop("fields")
            return f"Edit {KINDS[kind][1].lower()} {name}: field access on {obj}"

        preview = dict(comp.doc)
        preview["fields"] = {**(comp.get("fields") or {}), obj: exceptions}
        return self.org_change(build, on_invalid=lambda errors: page(preview, errors, 422),
                               title=f"Field access of {comp.get('label') or name} on {o.label}",
                               done_url=url_for(".fields", kind=kind, cname=name, obj=obj),
                               errors=error_map(f"{dirname}/{name}.yaml", ""))

    @expose("/<kind>/<cname>/revert", methods=("POST",))
    def revert(self, kind, name):
        dirname, comp = self._container(kind, name)
        ed = self.editor()
        if ed.org_doc(dirname, name) is None:
            abort(400)
        overridden = ed.package_doc(dirname, name) is not None

        def build(ed):
            ed.delete(dirname, name)
            return f"{'Revert' if overridden else 'Delete'} {KINDS[kind][1].lower()} {name}"

        def on_invalid(errors):
            from flask import flash
            for messages in errors.values():
                for msg in messages:
                    flash(msg, "error")
            return redirect(url_for(".matrix", kind=kind, cname=name))

        return self.org_change(build, on_invalid=on_invalid, done_url=url_for(".index"),
                               title=f"{'Revert' if overridden else 'Delete'} the {KINDS[kind][1].lower()} {comp.get('label') or name}")


def _posted_container(form, current: dict, objects) -> dict:
    """The matrix form → the container document (field exceptions kept as they were)."""
    doc = {"name": current["name"]}
    label = (form.get("label") or "").strip()
    if label:
        doc["label"] = label
    description = (form.get("description") or "").strip()
    if description:
        doc["description"] = description
    system = [p for p in SYSTEM_PERMISSIONS if p in form.getlist("system")]
    if system:
        doc["system_permissions"] = system
    rights = {}
    for name in objects:
        chosen = set(form.getlist(f"obj:{name}"))
        acts = [a for a in OBJECT_ACTIONS if a in chosen]
        if acts:
            rights[name] = acts
    # keep objects the matrix does not show (unknown here) untouched
    for name, acts in (current.get("objects") or {}).items():
        if name not in objects:
            rights[name] = list(acts)
    if rights:
        doc["objects"] = rights
    if current.get("fields"):
        doc["fields"] = {o: dict(f) for o, f in current["fields"].items()}
    return doc


def _plain(value):
    """Deep copy into plain dicts/lists (metadata components hold read-only mappings)."""
    if isinstance(value, dict) or hasattr(value, "items"):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# --------------------------------------------------------------------------- roles

class RolesView(SetupView):
    icon = "fa-sitemap"

    def _tree(self, roles: dict):
        children: dict[str | None, list] = {}
        for name, doc in roles.items():
            parent = doc.get("parent")
            children.setdefault(parent if parent in roles else None, []).append(name)
        for v in children.values():
            v.sort(key=lambda n: (roles[n].get("label") or n).lower())
        out = []

        def walk(name, depth, seen):
            out.append((name, depth))
            for child in children.get(name, []):
                if child not in seen:
                    walk(child, depth + 1, seen | {child})
        for top in children.get(None, []):
            walk(top, 0, {top})
        return out

    def _users_by_role(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        try:
            cursor = None
            while True:
                page = self.services.records.query(SYSTEM, "user", fields="role", limit=1000, cursor=cursor)
                for u in page.records:
                    if u.get("role"):
                        counts[u["role"]] = counts.get(u["role"], 0) + 1
                cursor = page.next_cursor
                if not cursor:
                    return counts
        except Exception:
            return counts

    @expose("/", methods=("GET", "POST"))
    def index(self):
        md, ed = self.md, self.editor()
        roles = {n: dict(c.doc) for n, c in md.roles.items()}
        states = {n: _state(c, ed, "roles") for n, c in md.roles.items()}
        users = self._users_by_role()

        def page(values, errors, status=200):
            return self.render("setup/roles/index.html", roles=roles, tree=self._tree(roles), states=states,
                               users=users, values=values, errors=errors,
                               packages={n: c.package for n, c in md.roles.items()}), status

        if request.method == "GET":
            return page({}, {})
        form = request.form

        def build(ed):
            errors = {}
            changed = []
            removing = set(form.getlist("delete"))
            for name, doc in roles.items():
                if name in removing:
                    if states[name] == "package":
                        errors[f"delete:{name}"] = ["a package's role cannot be deleted"]
                    elif users.get(name):
                        errors[f"delete:{name}"] = [f"{users[name]} user(s) have this role: give them another role first"]
                    else:
                        ed.delete("roles", name)
                        changed.append(f"delete {name}")
                    continue
                label = (form.get(f"label:{name}") or "").strip() or None
                parent = form.get(f"parent:{name}") or None
                if label == (doc.get("label") or None) and parent == (doc.get("parent") or None):
                    continue
                new = ed.override("roles", name)
                for key, value in (("label", label), ("parent", parent)):
                    if value:
                        new[key] = value
                    else:
                        new.pop(key, None)
                changed.append(name)
            new_label = (form.get("new_label") or "").strip()
            if new_label:
                new_name = (form.get("new_name") or "").strip() or api_name(new_label)
                problem = name_problem(new_name, taken=roles)
                if problem:
                    errors["new_name"] = [problem]
                else:
                    doc = {"name": new_name, "label": new_label}
                    if form.get("new_parent"):
                        doc["parent"] = form["new_parent"]
                    ed.put("roles", new_name, doc)
                    changed.append(f"add {new_name}")
            if errors:
                raise FormErrors(errors)
            if not changed:
                raise FormErrors("Nothing changed: edit a label or parent, add a role or tick one to delete.")
            return "Edit role hierarchy: " + ", ".join(changed)

        def on_invalid(errors):
            return page(form.to_dict(), errors, 422)

        def map_errors(meta_errors):
            out = {}
            for e in meta_errors:
                name = e.source.rsplit("/", 1)[-1].removesuffix(".yaml")
                if e.path == "parent" and name in roles:
                    out.setdefault(f"parent:{name}", []).append(e.message)
                else:
                    out.setdefault("", []).append(str(e))
            return out

        return self.org_change(build, on_invalid=on_invalid, title="Save the role hierarchy",
                               done_url=url_for(".index"), errors=map_errors)


# --------------------------------------------------------------------------- sharing

class SharingView(SetupView):
    icon = "fa-share-alt"

    @expose("/")
    def index(self):
        md, ed = self.md, self.editor()
        rules = sorted(md.sharing_rules.values(), key=lambda r: (r["object"], r.name))
        owd = []
        for o in sorted(md.objects.values(), key=lambda o: o.label.lower()):
            allowed = ed.customizable(o.name)["object"]
            owd.append((o, allowed is None or "sharing_model" in allowed))
        return self.render("setup/sharing/index.html", rules=[(r, _state(r, ed, "sharing_rules")) for r in rules],
                           owd=owd, sharing_models=SHARING_MODELS, errors={}, md=md)

    @expose("/defaults", methods=("POST",))
    def defaults(self):
        md = self.md
        form = request.form
        changes = {}
        for o in md.objects.values():
            value = form.get(f"owd:{o.name}")
            if value and value != o.sharing_model:
                changes[o.name] = value

        def build(ed):
            if not changes:
                raise FormErrors("Nothing changed.")
            for name, value in changes.items():
                ed.set_object_props(name, {"sharing_model": value})
            return "Organization-wide defaults: " + ", ".join(f"{n} → {v}" for n, v in changes.items())

        def on_invalid(errors):
            ed = self.editor()
            rules = sorted(md.sharing_rules.values(), key=lambda r: (r["object"], r.name))
            owd = [(o, ed.customizable(o.name)["object"] is None or "sharing_model" in ed.customizable(o.name)["object"])
                   for o in sorted(md.objects.values(), key=lambda o: o.label.lower())]
            return self.render("setup/sharing/index.html", rules=[(r, _state(r, ed, "sharing_rules")) for r in rules],
                               owd=owd, sharing_models=SHARING_MODELS, errors=errors, md=md), 422

        return self.org_change(build, on_invalid=on_invalid, title="Save the organization-wide defaults",
                               done_url=url_for(".index"))

    @expose("/rules/new", methods=("GET", "POST"))
    @expose("/rules/<cname>/", methods=("GET", "POST"))
    def rule(self, cname=None):
        name = cname
        md = self.md
        existing = md.sharing_rules.get(name) if name else None
        if name and existing is None:
            abort(404)
        objects = sorted([o for o in md.objects.values() if o.sharing_model in ("private", "read")],
                         key=lambda o: o.label.lower())
        roles = sorted(md.roles.values(), key=lambda r: (r.get("label") or r.name).lower())

        def page(values, errors, status=200):
            return self.render("setup/sharing/rule.html", rule=existing, values=values, errors=errors,
                               objects=objects, roles=roles), status

        if request.method == "GET":
            if existing is None:
                return page({"access": "read", "basis": "criteria", "share_type": "role", "owner_type": "role",
                             "object": request.args.get("object", "")}, {})
            doc = existing.doc
            share, owner = doc.get("share_with") or {}, doc.get("owned_by") or {}
            return page({"label": doc.get("label", ""), "name": existing.name, "object": doc["object"],
                         "description": doc.get("description", ""), "access": doc.get("access", "read"),
                         "basis": "owner" if owner else "criteria", "criteria": doc.get("criteria", ""),
                         "owner_type": "group" if owner.get("group") else "role",
                         "owner_role": owner.get("role", ""), "owner_group": owner.get("group", ""),
                         "owner_subordinates": owner.get("include_subordinates", False),
                         "share_type": "group" if share.get("group") else "role",
                         "share_role": share.get("role", ""), "share_group": share.get("group", ""),
                         "share_subordinates": share.get("include_subordinates", False)}, {})
        form = request.form
        label = (form.get("label") or "").strip()
        rule_name = existing.name if existing else ((form.get("name") or "").strip() or api_name(label))

        def principal(prefix, errors):
            if form.get(f"{prefix}_type") == "group":
                group = (form.get(f"{prefix}_group") or "").strip()
                if not group:
                    errors[f"{prefix}_group"] = ["enter the group's name"]
                return {"group": group}
            role = form.get(f"{prefix}_role") or ""
            if not role:
                errors[f"{prefix}_role"] = ["choose a role"]
            out = {"role": role}
            if form.get(f"{prefix}_subordinates"):
                out["include_subordinates"] = True
            return out

        def build(ed):
            errors = {}
            if not existing:
                problem = name_problem(rule_name, taken=md.sharing_rules)
                if problem:
                    errors["name"] = [problem]
            if not form.get("object"):
                errors["object"] = ["choose an object"]
            doc = {"name": rule_name, "object": form.get("object", "")}
            if label:
                doc["label"] = label
            if (form.get("description") or "").strip():
                doc["description"] = form["description"].strip()
            doc["access"] = "read_write" if form.get("access") == "read_write" else "read"
            if form.get("basis") == "owner":
                doc["owned_by"] = principal("owner", errors)
            else:
                criteria = (form.get("criteria") or "").strip()
                if not criteria:
                    errors["criteria"] = ["enter the criteria, e.g. amount >= 1000000"]
                doc["criteria"] = criteria
            doc["share_with"] = principal("share", errors)
            if errors:
                raise FormErrors(errors)
            ed.put("sharing_rules", rule_name, doc)
            return f"{'Edit' if existing else 'Add'} sharing rule {rule_name} ({doc['object']})"

        mapping = {"owned_by": "owner_role", "share_with": "share_role"}
        return self.org_change(build, on_invalid=lambda errors: page(form.to_dict(), errors, 422),
                               title=f"Save the sharing rule {label or rule_name}", done_url=url_for(".index"),
                               errors=error_map(f"sharing_rules/{rule_name}.yaml", "", mapping))

    @expose("/rules/<cname>/delete", methods=("POST",))
    def delete_rule(self, cname):
        name = cname
        comp = self.md.sharing_rules.get(name)
        ed = self.editor()
        if comp is None or ed.org_doc("sharing_rules", name) is None:
            abort(404)
        overridden = ed.package_doc("sharing_rules", name) is not None

        def build(ed):
            ed.delete("sharing_rules", name)
            return f"{'Revert' if overridden else 'Delete'} sharing rule {name}"

        def on_invalid(errors):
            from flask import flash
            for messages in errors.values():
                for m in messages:
                    flash(m, "error")
            return redirect(url_for(".index"))

        return self.org_change(build, on_invalid=on_invalid, done_url=url_for(".index"),
                               title=f"{'Revert' if overridden else 'Delete'} the sharing rule {comp.get('label') or default_label(name)}")
