"""Versions: the history, a diff between any two versions, and rollback (as a NEW version)."""
from __future__ import annotations

from flask import abort, request, url_for
from flask_admin import expose

from ..base import SetupView, flash_errors_to

SOURCE_BADGES = {"ui": "primary", "cli": "dark", "package": "info", "deploy": "warning", "rollback": "danger"}


class VersionsView(SetupView):
    icon = "fa-history"

    @expose("/")
    def index(self):
        versions = self.services.changes.versions()
        return self.render("setup/versions/index.html", versions=versions, badges=SOURCE_BADGES)

    @expose("/diff")
    def diff(self):
        changes = self.services.changes
        versions = changes.versions()
        numbers = [v.number for v in versions]
        active = next((v.number for v in versions if v.active), None)
        try:
            a = int(request.args.get("a") or (active - 1 if active and active > 1 else active or 0))
            b = int(request.args.get("b") or (active or 0))
        except ValueError:
            abort(400, "a and b are version numbers")
        if a not in numbers or b not in numbers:
            abort(404)
        plan = changes.diff(a, b)
        steps = [(op.safety, op.describe()) for op in plan]
        return self.render("setup/versions/diff.html", versions=versions, a=a, b=b, steps=steps, plan=plan,
                           va=changes.get(a), vb=changes.get(b), badges=SOURCE_BADGES,
                           diffs=changes.differences(a, b))

    @expose("/<int:number>/rollback", methods=("POST",))
    def rollback(self, number):
        changes = self.services.changes
        try:
            target = changes.get(number)
        except LookupError:
            abort(404)
        actor = self.actor

        def apply(check_only, allow_destructive, message):
            summary = f"Roll back to version {number}"
            result = changes.rollback(number, author=actor.username, message=message or summary,
                                      check_only=check_only, allow_destructive=allow_destructive, actor=actor)
            return result, summary, target.snapshot

        return self.run_change(apply, on_invalid=flash_errors_to(url_for(".index")), done_url=url_for(".index"),
                               cancel_url=url_for(".index"), title=f"Roll back to version {number}")
