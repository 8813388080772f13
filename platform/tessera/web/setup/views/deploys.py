"""Deploys: the history of metadata deploys into this org, each one's plan, and undo."""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose

from ..base import SetupView, flash_errors_to

STATUS_BADGES = {"succeeded": "success", "validated": "info", "running": "secondary", "refused": "warning",
                 "failed": "danger", "interrupted": "danger", "undone": "dark"}


class DeploysView(SetupView):
    icon = "fa-paper-plane"

    def _deploys(self):
        from ....deploys import DeployService
        return DeployService(self.services.changes)

    @expose("/")
    def index(self):
        return self.render("setup/deploys/index.html", deploys=self._deploys().history(200), badges=STATUS_BADGES)

    @expose("/<int:deploy_id>")
    def detail(self, deploy_id):
        row = self._deploys().get(deploy_id)
        if row is None:
            abort(404)
        from ....deploys import DeployError
        try:
            self._deploys().check_undo(deploy_id, include_later=True)
            undoable = True
        except DeployError:
            undoable = False
        return self.render("setup/deploys/detail.html", d=row, badges=STATUS_BADGES, undoable=undoable)

    @expose("/<int:deploy_id>/undo", methods=("POST",))
    def undo(self, deploy_id):
        from ....deploys import DeployError
        service, actor = self._deploys(), self.actor
        include_later = request.form.get("include_later") == "1"
        back = url_for(".detail", deploy_id=deploy_id)
        try:
            row = service.check_undo(deploy_id, include_later=include_later)
        except DeployError as exc:
            flash(f"Cannot undo: {exc}.", "error")
            return redirect(back)
        snapshot = self.services.changes.get(row["base_version"]).snapshot

        def apply(check_only, allow_destructive, message):
            summary = f"Undo deploy #{deploy_id} (back to version {row['base_version']})"
            outcome = service.undo(deploy_id, author=actor.username, message=message or summary,
                                   check_only=check_only, allow_destructive=allow_destructive,
                                   include_later=include_later, actor=actor)
            return outcome.result, summary, snapshot

        return self.run_change(apply, on_invalid=flash_errors_to(back), done_url=url_for(".index"),
                               cancel_url=back, title=f"Undo deploy #{deploy_id}")
