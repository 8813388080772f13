"""Setup → Automation → Named Credentials: the secrets workflows name (automation/credentials.py).

A secret goes in (create, rotate) and never comes out: no page renders one, the inputs are
type=password and never re-filled after an error. A credential that a workflow or an approval
process of the active metadata names cannot be deleted (the page lists who names it): deleting it
would make every run of those fail.
"""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose

from ....automation import credentials
from ..base import SetupView

KIND_HELP = {
    "webhook_signing": "A Standard Webhooks signing key: whsec_ followed by the base64 of 24 to 64 random bytes "
                       "(the receiving system gives you one).",
    "http_bearer": "A token sent as Authorization: Bearer ….",
    "basic": "user:password, sent as HTTP Basic authentication.",
}


class NamedCredentialsView(SetupView):
    icon = "fa-key"

    def _used_by(self) -> dict[str, list[str]]:
        return credentials.references(self.md)

    @expose("/")
    def index(self):
        used_by = self._used_by()
        found = credentials.list_credentials(self.services.engine)
        known = {c.name for c in found}
        missing = sorted((name, users) for name, users in used_by.items() if name not in known)
        return self.render("setup/credentials/index.html", credentials=found, used_by=used_by, missing=missing)

    @expose("/new", methods=("GET", "POST"))
    def create(self):
        form = {"name": request.args.get("name", ""), "kind": request.args.get("kind", "webhook_signing")}
        errors: dict[str, str] = {}
        if request.method == "POST":
            form = {"name": (request.form.get("name") or "").strip(), "kind": request.form.get("kind") or ""}
            secret = request.form.get("secret") or ""
            if form["kind"] not in credentials.KINDS:
                errors["kind"] = f"choose a kind: {', '.join(credentials.KINDS)}"
            elif not secret:
                errors["secret"] = "give the secret"
            else:
                try:
                    credentials.create_credential(self.services.engine, form["name"], form["kind"], secret)
                except credentials.CredentialError as exc:
                    about_name = "credential name" in str(exc) or "already" in str(exc)
                    errors["name" if about_name else "secret"] = str(exc)
            if not errors:
                flash(f"Credential {form['name']} ({form['kind']}) created. Its secret is stored and will not be "
                      "shown again.", "success")
                return redirect(url_for(".index"))
        return self.render("setup/credentials/form.html", form=form, errors=errors, kinds=credentials.KINDS,
                           kind_help=KIND_HELP, credential=None), (422 if errors else 200)

    @expose("/<cname>/rotate", methods=("GET", "POST"))
    def rotate(self, cname: str):
        name = _name(cname)   # not `name`: Flask-Admin's view dispatch takes that argument itself
        found = credentials.get_credential(self.services.engine, name)
        if found is None:
            abort(404)
        errors: dict[str, str] = {}
        if request.method == "POST":
            secret = request.form.get("secret") or ""
            if not secret:
                errors["secret"] = "give the new secret"
            else:
                try:
                    credentials.rotate_credential(self.services.engine, name, secret)
                except credentials.CredentialError as exc:
                    errors["secret"] = str(exc)
            if not errors:
                flash(f"Credential {name} rotated: the new secret is used from the next request on.", "success")
                return redirect(url_for(".index"))
        return self.render("setup/credentials/form.html", form={"name": name, "kind": found.kind}, errors=errors,
                           kinds=credentials.KINDS, kind_help=KIND_HELP, credential=found), (422 if errors else 200)

    @expose("/<cname>/delete", methods=("POST",))
    def delete(self, cname: str):
        name = _name(cname)
        users = self._used_by().get(name)
        if credentials.get_credential(self.services.engine, name) is None:
            abort(404)
        if users:
            flash(f"Credential {name} was not deleted: {', '.join(users)} use{'s' if len(users) == 1 else ''} it. "
                  "Change or delete them first.", "error")
            return redirect(url_for(".index"))
        credentials.delete_credential(self.services.engine, name)
        flash(f"Credential {name} deleted.", "success")
        return redirect(url_for(".index"))


def _name(text: str) -> str:
    """A credential name from the URL: one that cannot be a name (a NUL, which PostgreSQL text cannot
    hold, or anything else) names no credential."""
    if not credentials.NAME.fullmatch(text):
        abort(404)
    return text
