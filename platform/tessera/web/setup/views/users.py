"""Users: a Flask-Admin BaseModelView over the record service and the identity service.

Users are records of the core `user` object, so every read and write goes through
`services.records` as the signed-in admin (permission checks, validation and defaults apply) and
credentials through `services.identity`. Permission sets are `permission_set_assignment` records.
Each change is audited where it happens: the record service audits profile, role, activation
and permission set changes (records/permission_audit.py), the identity service a password reset.
The form's profile, role and permission-set choices come from the active metadata version, read
per request (the admin app is built once: see setup/__init__.py).
"""
from __future__ import annotations

import secrets
import uuid

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.model import BaseModelView
from flask_admin.model.template import EndpointLinkRowAction
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import BooleanField, EmailField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from ....records.errors import RecordError
from ..base import SetupGuard
from ...auth import current_actor

USER_FIELDS = ["username", "first_name", "last_name", "full_name", "email", "title", "profile", "role", "active"]


class UserRow:
    """A user record as Flask-Admin's list and forms read it (attributes)."""

    def __init__(self, record: dict, permission_sets: list[str] | None = None):
        self.record = record
        for key in USER_FIELDS:
            setattr(self, key, record.get(key))
        self.id = record["id"]
        self.active = record.get("active") is not False
        self.permission_sets = permission_sets or []


def _choices(md):
    profiles = [(n, c.get("label") or n) for n, c in sorted(md.profiles.items(), key=lambda i: (i[1].get("label") or i[0]).lower())]
    roles = [("", "— no role —")] + [(n, c.get("label") or n) for n, c in
                                     sorted(md.roles.items(), key=lambda i: (i[1].get("label") or i[0]).lower())]
    sets = [(f"permission_set:{n}", c.get("label") or n) for n, c in sorted(md.permission_sets.items())]
    sets += [(f"permission_set_group:{n}", f"{c.get('label') or n} (group)") for n, c in sorted(md.permission_set_groups.items())]
    return profiles, roles, sets


def _select(pairs):
    return [SelectChoice(value, label) for value, label in pairs]


def _common_fields() -> dict:
    # The profile, role and permission-set choices come from the active metadata version and are
    # set on each form instance (UsersModelView._with_choices): the view is built once per
    # process while versions come and go.
    return {
        "first_name": StringField("First name", validators=[Optional(), Length(max=40)]),
        "last_name": StringField("Last name", validators=[DataRequired(), Length(max=80)]),
        "email": EmailField("Email", validators=[Optional(), Length(max=254)]),
        "title": StringField("Title", validators=[Optional(), Length(max=80)]),
        "profile": SelectField("Profile", choices=[], validators=[DataRequired()], default="standard_user",
                               description="Sets what the user may do."),
        "role": SelectField("Role", choices=[], validators=[Optional()],
                            description="Their place in the role hierarchy (widens record access)."),
        "permission_sets": SelectMultipleField("Permission sets", choices=[], validators=[Optional()],
                                               description="Extra permissions on top of the profile."),
    }


# Fields are created in display order (WTForms orders fields by creation).
CreateUserForm = type("CreateUserForm", (FlaskForm,), {
    "username": StringField("Username", validators=[DataRequired(), Length(max=80)],
                            description="The name used to sign in."),
    **_common_fields(),
    # the password policy (length, strength, not the username) is the identity service's
    "password": PasswordField("Initial password", validators=[DataRequired()],
                              description="A strong password (the org's policy applies); the user can change it later.")})
EditUserForm = type("EditUserForm", (FlaskForm,), {
    **_common_fields(),
    "active": BooleanField("Active", description="Inactive users cannot sign in; their records stay.")})


def _fmt_username(view, context, model, name):
    return Markup('<a class="ts-strong" href="{}">{}</a>').format(url_for(".edit_view", id=model.id), model.username)


def _fmt_profile(view, context, model, name):
    return dict(view.choices()[0]).get(model.profile, model.profile or "—")


def _fmt_role(view, context, model, name):
    return dict(view.choices()[1]).get(model.role, model.role) if model.role else "—"


def _fmt_active(view, context, model, name):
    if model.active:
        return Markup('<span class="badge badge-success">Active</span>')
    return Markup('<span class="badge badge-secondary">Inactive</span>')


class UsersModelView(SetupGuard, BaseModelView):
    permission = "manage_users"
    list_template = "setup/users/list.html"
    create_template = "setup/users/create.html"
    edit_template = "setup/users/edit.html"
    can_delete = False                     # users are deactivated, never deleted: records keep their owner
    can_view_details = False
    can_set_page_size = False
    page_size = 25
    column_list = ["username", "full_name", "email", "profile", "role", "active"]
    column_sortable_list = ["username", "email", "profile", "role", "active"]
    column_default_sort = "username"
    column_labels = {"username": "Username", "full_name": "Name", "email": "Email", "profile": "Profile",
                     "role": "Role", "active": "Status"}
    column_extra_row_actions = [EndpointLinkRowAction("fa fa-key", ".reset_password", title="Reset password")]
    form_base_class = FlaskForm
    edit_form_class = EditUserForm
    create_form_class = CreateUserForm
    _choices_cache: tuple = (None, None)   # (metadata version, its choices): one entry, replaced whole

    @property
    def services(self):
        from flask import current_app
        return current_app.extensions["tessera"]

    # -- Flask-Admin plumbing -------------------------------------------------------------------
    def get_pk_value(self, model):
        return model.id

    def scaffold_list_columns(self):
        return list(self.column_list)

    def scaffold_sortable_columns(self):
        return {c: c for c in self.column_sortable_list}

    def scaffold_form(self):
        return self.edit_form_class or FlaskForm

    def get_create_form(self):
        return self.create_form_class

    def get_edit_form(self):
        return self.edit_form_class

    def choices(self):
        """(profiles, roles, permission sets) of the active metadata version, as (value, label) pairs."""
        runtime = self.services.runtimes.current()
        version, choices = self._choices_cache
        if choices is None or version != runtime.version:
            choices = _choices(runtime.metadata)
            self._choices_cache = (runtime.version, choices)
        return choices

    def _with_choices(self, form):
        profiles, roles, sets = self.choices()
        form.profile.choices, form.role.choices = _select(profiles), _select(roles)
        form.permission_sets.choices = _select(sets)
        return form

    def create_form(self, obj=None):
        return self._with_choices(super().create_form(obj))

    def edit_form(self, obj=None):
        return self._with_choices(super().edit_form(obj))

    def scaffold_list_form(self, widget=None, validators=None):
        return None

    def init_search(self):
        return True

    def search_placeholder(self):
        return "Search username, name or email"

    column_formatters = {"username": _fmt_username, "profile": _fmt_profile, "role": _fmt_role,
                         "active": _fmt_active}

    # -- reads ----------------------------------------------------------------------------------
    def get_list(self, page, sort_field, sort_desc, search, filters, page_size=None, execute=True):
        records = self.services.records
        actor = current_actor()
        page_size = page_size or self.page_size
        sort = None
        if sort_field in self.column_sortable_list:
            sort = ("-" if sort_desc else "") + sort_field + ("" if sort_field == "username" else ",username")
        else:
            sort = "username"
        where = None
        if search:
            needle = search.strip().lower()[:100]
            where = " or ".join(f"CONTAINS(LOWER(BLANKVALUE({f}, '')), {needle!r})"
                                for f in ("username", "first_name", "last_name", "email"))
        cursor, total, rows = None, 0, []
        for i in range((page or 0) + 1):   # keyset paging: walk to the page asked for
            result = records.query(actor, "user", filter=where, sort=sort, fields=",".join(USER_FIELDS),
                                   limit=page_size, cursor=cursor, count=i == 0)
            if i == 0:
                total = result.total
            rows = [UserRow(r) for r in result.records] if i == (page or 0) else []
            cursor = result.next_cursor
            if cursor is None:
                break
        return total, rows

    def _assignments(self, user_id) -> list[dict]:
        return self.services.records.find_all_by(current_actor(), "permission_set_assignment", "user",
                                                 uuid.UUID(str(user_id)), fields=["id", "permission_set", "kind"])

    def get_one(self, id):
        try:
            record = self.services.records.get(current_actor(), "user", id, fields=["id", *USER_FIELDS])
        except RecordError:
            return None
        sets = [f"{a.get('kind') or 'permission_set'}:{a['permission_set']}" for a in self._assignments(id)]
        return UserRow(record, sets)

    # -- writes ---------------------------------------------------------------------------------
    def _fields(self, form) -> dict:
        out = {"first_name": form.first_name.data or None, "last_name": form.last_name.data,
               "email": form.email.data or None, "title": form.title.data or None,
               "profile": form.profile.data, "role": form.role.data or None}
        return out

    def _record_errors(self, form, exc: RecordError) -> None:
        shown = False
        for name, messages in (exc.fields or {}).items():
            if name in form:
                form[name].errors = list(form[name].errors) + list(messages)
                shown = True
        if not shown:
            flash(exc.message, "error")

    def _sync_sets(self, user_id: str, wanted: list[str]) -> None:
        records, actor = self.services.records, current_actor()
        current = {f"{a.get('kind') or 'permission_set'}:{a['permission_set']}": a for a in self._assignments(user_id)}
        for key in wanted:
            if key not in current:
                kind, name = key.split(":", 1)
                records.create(actor, "permission_set_assignment", {"user": user_id, "permission_set": name, "kind": kind})
        for key, a in current.items():
            if key not in wanted:
                records.delete(actor, "permission_set_assignment", a["id"])

    def create_model(self, form):
        svc, actor = self.services, current_actor()
        username = form.username.data.strip()
        try:
            user, _ = svc.identity.create_user(username, password=form.password.data, actor=actor,
                                               **{k: v for k, v in self._fields(form).items() if v is not None})
            self._sync_sets(user["id"], form.permission_sets.data or [])
        except RecordError as exc:
            self._record_errors(form, exc)
            return False
        flash(f"Created the user {username}.", "success")
        return UserRow(user)

    def update_model(self, form, model):
        svc, actor = self.services, current_actor()
        data = self._fields(form)
        data["active"] = bool(form.active.data)
        try:   # the record service refuses self-demotion and removing the last administrator
            svc.records.update(actor, "user", model.id, data)
            self._sync_sets(model.id, form.permission_sets.data or [])
        except RecordError as exc:
            self._record_errors(form, exc)
            return False
        return True

    def delete_model(self, model):
        return False

    # -- activation -----------------------------------------------------------------------------
    def _set_active(self, ids, active: bool):
        svc, actor = self.services, current_actor()
        done = []
        for rid in ids:
            try:   # the record service refuses self-deactivation and removing the last administrator
                record = svc.records.update(actor, "user", rid, {"active": active})
            except RecordError as exc:
                flash(exc.message, "error")
                continue
            done.append(record["username"])
        if done:
            flash(f"{'Activated' if active else 'Deactivated'}: {', '.join(done)}.", "success")

    @action("deactivate", "Deactivate", "Deactivate the selected users? They will not be able to sign in.")
    def action_deactivate(self, ids):
        self._set_active(ids, False)

    @action("activate", "Activate")
    def action_activate(self, ids):
        self._set_active(ids, True)

    @action("unlock", "Unlock sign-in", "Clear the sign-in throttling of the selected users?")
    def action_unlock(self, ids):
        svc, actor = self.services, current_actor()
        done = []
        for rid in ids:
            user = self.get_one(rid)
            if user is not None:
                svc.identity.unlock(user.username, actor=actor)   # audited as user.unlock
                done.append(user.username)
        if done:
            flash(f"Unlocked sign-in: {', '.join(done)}.", "success")

    # -- password reset -------------------------------------------------------------------------
    @expose("/password/", methods=("GET", "POST"))
    def reset_password(self):
        user = self.get_one(request.values.get("id", ""))
        if user is None:
            abort(404)
        error = None
        if request.method == "POST":
            password = request.form.get("password") or ""
            try:   # the password policy applies (identity service): 422 with its message
                self.services.identity.set_password(uuid.UUID(str(user.id)), password, actor=current_actor())
            except RecordError as exc:
                error = "The password " + "; ".join(exc.fields.get("password") or [exc.message]) + "."
            else:
                flash(f"The password of {user.username} was reset.", "success")
                return redirect(url_for(".index_view"))
        return self.render("setup/users/password.html", user=user, error=error,
                           suggestion=secrets.token_urlsafe(12)), (422 if error else 200)


def users_view(**kwargs) -> UsersModelView:
    return UsersModelView(UserRow, menu_icon_type="fa", menu_icon_value="fa-users", **kwargs)
