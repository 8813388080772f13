"""Installed packages: what each provides and needs, uninstall, and "Install from file": upload
a package archive (.tpkg, from `tessera package build`), see what it is and who signed it, review
the install plan, confirm. What upgrades no longer ship is listed as deprecated (kept, hidden) with
the data it keeps, and deleted only on purpose (Delete: destructive, the plan counts what goes). Every install and uninstall goes through the change pipeline with the
plan reviewed first (dropping a package's tables is destructive).

An uploaded archive is checked whole (packaging/reader.py) before it is kept; a refused one is
named with its reason and nothing is stored or installed. Kept archives (packaging/uploads.py)
are checked again when installed, and offer "upgrade available" for the installed package."""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose

from ....changes.deprecation_steps import deprecated_components
from ....meta.deprecation import without
from ....meta.errors import MetadataInvalid
from ....meta.source import COMPONENT_DIRS
from ....packaging import uploads
from ....packaging.archive_format import MAX_ARCHIVE_BYTES
from ....packaging.installer import archive_source, check_trust, signer_of
from ....packaging.reader import ArchiveRefused, read_archive
from ..base import FormErrors, SetupView, flash_errors_to


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
        packages = _summaries(active.snapshot if active else {})
        engine = self.services.engine
        return self.render("setup/packages/index.html", packages=packages, uploads=uploads.listed(engine),
                           upgrades=uploads.upgrades(engine, {p["name"]: p["version"] for p in packages}),
                           deprecated=deprecated_components(engine, active.snapshot if active else None),
                           max_bytes=MAX_ARCHIVE_BYTES)

    @expose("/upload", methods=("POST",))
    def upload(self):
        """Keep an uploaded archive once it passes every check, then show it."""
        sent = request.files.get("archive")
        if sent is None or not sent.filename:
            flash("Choose a package archive (.tpkg) to upload.", "error")
            return redirect(url_for(".index"))
        data = sent.stream.read(MAX_ARCHIVE_BYTES + 1)
        filename = sent.filename.replace("\\", "/").rsplit("/", 1)[-1][:200] or "upload.tpkg"
        try:
            archive = read_archive(data, filename)
            archive_source(archive)       # a package that could never install is not kept
        except ArchiveRefused as exc:
            flash(f"The archive was refused: {exc}. Nothing was stored or installed.", "error")
            return redirect(url_for(".index"))
        except MetadataInvalid as exc:
            flash(f"{filename} holds an invalid package; nothing was stored or installed:", "error")
            for error in exc.errors:
                flash(str(error), "error")
            return redirect(url_for(".index"))
        archive_id = uploads.store(self.services.engine, archive, data,
                                   uploaded_by=getattr(self.actor, "user_id", None))
        return redirect(url_for(".archive", archive_id=archive_id), code=303)

    def _archive(self, archive_id: int):
        engine = self.services.engine
        row = uploads.info(engine, archive_id)
        if row is None:
            abort(404)
        return row

    @expose("/archives/<int:archive_id>")
    def archive(self, archive_id):
        row = self._archive(archive_id)
        try:
            archive = uploads.load(self.services.engine, archive_id)
            problem = None
        except ArchiveRefused as exc:     # stored bytes that no longer pass (a newer, stricter reader)
            archive, problem = None, str(exc)
        active = self.services.changes.active()
        installed = {p["name"]: p for p in _summaries(active.snapshot if active else {})}.get(row.name)
        return self.render("setup/packages/archive.html", row=row, archive=archive, problem=problem,
                           signer=signer_of(self.services.engine, archive) if archive else None,
                           installed=installed)

    @expose("/archives/<int:archive_id>/install", methods=("POST",))
    def install_archive(self, archive_id):
        row = self._archive(archive_id)
        actor, changes, engine = self.actor, self.services.changes, self.services.engine
        allow_unsigned = request.form.get("allow_unsigned") == "1"

        def apply(check_only, allow_destructive, message):
            try:
                archive = uploads.load(engine, archive_id)
                check_trust(engine, archive, allow_unsigned=allow_unsigned)
            except ArchiveRefused as exc:
                raise FormErrors(str(exc)) from None
            summary = f"Install {archive.name} {archive.version} from {archive.origin}"
            source = archive_source(archive)
            snapshot = changes.snapshot_with([source])     # taken before the change, for the review
            result = changes.install_packages([source], author=actor.username, message=message or summary,
                                              check_only=check_only, allow_destructive=allow_destructive,
                                              actor=actor)
            return result, summary, snapshot

        here = url_for(".archive", archive_id=archive_id)
        return self.run_change(apply, on_invalid=flash_errors_to(here, f"{row.filename} cannot be installed:"),
                               done_url=url_for(".index"), cancel_url=here,
                               title=f"Install {row.name} {row.version}")

    @expose("/<package_name>/purge", methods=("POST",))
    def purge(self, package_name):
        """Delete one deprecated component (its table or column and their data): the plan, with
        its counts, first; destructive, so it needs the explicit consent of the review page."""
        component = request.form.get("component", "")
        changes, actor = self.services.changes, self.actor

        def apply(check_only, allow_destructive, message):
            summary = f"Delete deprecated {component} of {package_name}"
            current = changes.active()
            try:   # taken before the change, for the review
                snapshot = {"packages": without(current.snapshot.get("packages") or [], package_name, component),
                            "org": current.snapshot.get("org")}
            except LookupError as exc:
                raise FormErrors(str(exc.args[0])) from None
            result = changes.purge_deprecated(package_name, component, author=actor.username,
                                              message=message or summary, check_only=check_only,
                                              allow_destructive=allow_destructive, actor=actor)
            return result, summary, snapshot

        back = url_for(".index")
        return self.run_change(apply, on_invalid=flash_errors_to(back, f"{component} cannot be deleted:"),
                               done_url=back, cancel_url=back, title=f"Delete deprecated {component}")

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
