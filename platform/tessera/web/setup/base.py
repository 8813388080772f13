"""What every setup page shares: who may see it, the services, and the one way to save.

Access: a page names the system permission it needs (`customize_metadata` for metadata pages,
`manage_users` for users). Signed out → the sign-in page (with `next` back here); signed in
without the permission → 403. Both are decided per request from the session cookie the main app
set (same secret, same cookie), exactly as `auth.current_actor` does.

Saving (`org_change` / `run_change`): every save is a NEW metadata version through
`ChangeService.apply_org(source="ui")`. The first POST runs the change pipeline check-only and
shows its plan (steps, safety, data impact, destructive steps called out); the page re-posts the
same form with `_confirm=1` (and `_allow_destructive=1` when the admin ticked the box), and the
second POST applies it — rebuilt from the then-active version, which must still be the one the
admin reviewed (`_base_version`), else the plan is shown again.
"""
from __future__ import annotations

import json
from urllib.parse import quote

from flask import abort, flash, redirect, request
from flask_admin import BaseView

from ...changes import ChangeFailed, ChangeRefused, content_hash
from ...meta.errors import MetadataInvalid
from ..auth import current_actor
from .orgedit import OrgEditor

CONTROL_FIELDS = ("csrf_token", "_confirm", "_allow_destructive", "_base_version", "_message")


class FormErrors(Exception):
    """Problems found before the change pipeline runs: {input name: [messages]} ("" = general)."""

    def __init__(self, errors):
        if isinstance(errors, str):
            errors = {"": [errors]}
        self.errors = errors
        super().__init__("; ".join(m for ms in errors.values() for m in ms))


def main_root() -> str:
    """Script root of the main app (the setup app is mounted at <root>/setup)."""
    root = request.script_root
    return root[: -len("/setup")] if root.endswith("/setup") else root


def login_url() -> str:
    here = request.script_root + request.path + (("?" + request.query_string.decode()) if request.query_string else "")
    return f"{main_root()}/login?next={quote(here, safe='/')}"


def services():
    from flask import current_app
    return current_app.extensions["tessera"]


def has_permission(permission: str) -> bool:
    actor = current_actor()
    if actor is None:
        return False
    return services().runtimes.current().security.access_for(actor).system(permission)


class SetupGuard:
    """Access and page context shared by every setup view (mixed into Flask-Admin's view classes):
    signed-out visitors go to the sign-in page, signed-in users without the permission get 403."""

    permission = "customize_metadata"

    def is_accessible(self) -> bool:
        return has_permission(self.permission)

    def inaccessible_callback(self, name, **kwargs):
        if current_actor() is None:
            return redirect(login_url())
        abort(403)

    def render(self, template, **kwargs):
        kwargs.setdefault("actor", current_actor())
        kwargs.setdefault("main_root", main_root())
        return super().render(template, **kwargs)


class SetupView(SetupGuard, BaseView):
    """A setup page (Flask-Admin BaseView) guarded by a system permission."""

    icon = "fa-cog"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("menu_icon_type", "fa")
        kwargs.setdefault("menu_icon_value", self.icon)
        super().__init__(*args, **kwargs)

    # -- helpers -------------------------------------------------------------------------------
    @property
    def services(self):
        return services()

    @property
    def actor(self):
        return current_actor()

    @property
    def runtime(self):
        return self.services.runtimes.current()

    @property
    def md(self):
        return self.runtime.metadata

    def editor(self) -> OrgEditor:
        active = self.services.changes.active()
        return OrgEditor(active.snapshot if active else {"packages": [], "org": None})

    # -- saving through the change pipeline --------------------------------------------------
    def org_change(self, build, *, on_invalid, done_url, title: str, cancel_url: str | None = None,
                   errors=None):
        """`build(editor)` edits the org layer (raising FormErrors for bad input) and returns a
        one-line summary, which becomes the version's message."""
        svc, actor = self.services, self.actor

        def apply(check_only: bool, allow_destructive: bool, message: str | None):
            editor = self.editor()
            summary = build(editor)
            editor.settle_overrides()
            result = svc.changes.apply_org(editor.org, author=actor.username, message=message or summary,
                                           source="ui", check_only=check_only,
                                           allow_destructive=allow_destructive, actor=actor)
            return result, summary, {"packages": editor.snapshot.get("packages") or [], "org": editor.org}

        return self.run_change(apply, on_invalid=on_invalid, done_url=done_url, title=title,
                               cancel_url=cancel_url or done_url, errors=errors)

    def run_change(self, apply, *, on_invalid, done_url, title: str, cancel_url: str, errors=None):
        """`apply(check_only, allow_destructive, message)` → (ChangeResult, summary, new snapshot)."""
        form = request.form
        active = self.services.changes.active()
        base = str(active.number) if active else ""
        stale = form.get("_confirm") == "1" and form.get("_base_version") != base
        confirm = form.get("_confirm") == "1" and not stale
        allow = form.get("_allow_destructive") == "1"
        message = (form.get("_message") or "").strip()[:500] or None
        review = dict(title=title, cancel_url=cancel_url, base_version=base, stale=stale,
                      replay=[(k, v) for k, v in form.items(multi=True) if k not in CONTROL_FIELDS],
                      active=active, message=message)
        try:
            if confirm:
                result, summary, snapshot = apply(False, allow, message)
                if result.version is None:
                    flash("Nothing to save: the metadata already looks like this.", "info")
                    return redirect(done_url)
                flash(f"Saved as version {result.version.number}: {result.version.message}", "success")
                return redirect(done_url)
            result, summary, snapshot = apply(True, True, message)
        except FormErrors as exc:
            return on_invalid(exc.errors)
        except MetadataInvalid as exc:
            return on_invalid((errors or general_errors)(exc.errors))
        except ChangeRefused as exc:
            data_problems = any(i.problems for i in exc.impacts or ())
            return self.render("setup/review.html", refused=exc, plan=exc.plan, can_confirm=not data_problems,
                               steps=list(zip(exc.plan.operations, exc.impacts or [None] * len(exc.plan))),
                               summary=message or "", **review), 409
        except ChangeFailed as exc:
            return self.render("setup/review.html", failed=str(exc), plan=None, steps=[], summary=message or "",
                               can_confirm=False, **review), 409
        if not result.plan and (active is not None and content_hash(_normalize(snapshot)) == active.content_hash):
            flash("Nothing to save: the metadata already looks like this.", "info")
            return redirect(done_url)
        steps = list(result.steps())
        return self.render("setup/review.html", plan=result.plan, steps=steps, can_confirm=True,
                           summary=message or summary, diffs=self.services.changes.differences_from_active(snapshot),
                           **review)


def flash_errors_to(url: str, heading: str | None = None):
    """An `on_invalid` for changes started from a list page (rollback, uninstall): the errors are
    flashed on that page, there being no form to show them next to."""
    def on_invalid(errors):
        if heading:
            flash(heading, "error")
        for messages in errors.values():
            for message in messages:
                flash(message, "error")
        return redirect(url)
    return on_invalid


def _normalize(snapshot: dict) -> dict:
    return json.loads(json.dumps(snapshot, default=str))


def error_map(source_suffix: str | None = None, prefix: str = "", mapping: dict | None = None):
    """MetadataInvalid errors → {input name: [messages]}: an error in the document being edited
    (its source ends with `source_suffix`, its path starts with `prefix`) goes next to the input
    named after the path's next segment (renamed through `mapping`); any other error is shown in
    full (file: path: message) at the top of the form under ""."""
    def map_errors(errors) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for e in errors:
            mine = (source_suffix is None or e.source.endswith(source_suffix)) and e.path.startswith(prefix)
            if mine and e.path[len(prefix):]:
                key = e.path[len(prefix):].split(".")[0]
                key = (mapping or {}).get(key, key)
                out.setdefault(key, []).append(e.message)
            else:
                out.setdefault("", []).append(str(e))
        return out
    return map_errors


def general_errors(errors) -> dict[str, list[str]]:
    return {"": [str(e) for e in errors]}
