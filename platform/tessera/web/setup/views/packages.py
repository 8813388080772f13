"""Installed packages: what each provides and needs, and uninstall through the change pipeline
(the plan is reviewed first; dropping a package's tables is destructive). Installing stays with
`tessera install DIR`: a package is a directory of files a partner ships, not a form."""
from __future__ import annotations

from flask import abort, url_for
from flask_admin import expose

from ....meta.source import COMPONENT_DIRS
from ..base import SetupView, flash_errors_to


def _summaries(snapshot: dict) -> list[dict]:
    packages = (snapshot or {}).get("packages") or []
    required_by: dict[str, list[str]] = {}
    for pkg in packages:
        for dep in (pkg["manifest"].get("dependencies") or {}):
            required_by.setdefault(dep, []).append(pkg["manifest"]["name"])
    out = []
    for pkg in packages:
        manifest = pkg["manifest"]
        components = pkg.get("components") or {}
        out.append({
            "name": manifest["name"], "label": manifest.get("label") or manifest["name"],
            "version": str(manifest["version"]), "description": manifest.get("description") or "",
            "dependencies": {dep: str(spec) for dep, spec in (manifest.get("dependencies") or {}).items()},
            "required_by": sorted(required_by.get(manifest["name"], [])),
            "components": [(dirname.replace("_", " "), len(components.get(dirname) or {}))
                           for dirname in COMPONENT_DIRS if components.get(dirname)],
        })
    return sorted(out, key=lambda p: p["name"])


class PackagesView(SetupView):
    icon = "fa-archive"

    @expose("/")
    def index(self):
        active = self.services.changes.active()
        return self.render("setup/packages/index.html", packages=_summaries(active.snapshot if active else {}))

    @expose("/<package_name>/uninstall", methods=("POST",))   # not <name>: Flask-Admin's _handle_view takes `name`
    def uninstall(self, package_name):
        changes = self.services.changes
        active = changes.active()
        installed = {p["name"]: p for p in _summaries(active.snapshot if active else {})}
        if package_name not in installed:
            abort(404)
        actor = self.actor
        package = installed[package_name]

        def apply(check_only, allow_destructive, message):
            summary = f"Uninstall {package['label']} {package['version']}"
            try:   # taken before the change (after it the package is gone); someone may have been quicker
                snapshot = changes.snapshot_without([package_name])
            except LookupError:
                abort(404)
            result = changes.uninstall_packages([package_name], author=actor.username, message=message or summary,
                                                check_only=check_only, allow_destructive=allow_destructive,
                                                actor=actor)
            return result, summary, snapshot

        back = url_for(".index")
        return self.run_change(apply, on_invalid=flash_errors_to(back, f"{package['label']} cannot be uninstalled:"),
                               done_url=back, cancel_url=back, title=f"Uninstall {package['label']}")
