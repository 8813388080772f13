"""Build the admin Flask app (see __init__.py for why it is its own app)."""
from __future__ import annotations

import os

from flask import Flask, render_template, request
from flask_admin import Admin, AdminIndexView, expose
from flask_admin.menu import MenuLink
from flask_admin.theme import Bootstrap4Theme
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from ..auth import current_actor
from ..headers import add_security_headers
from .base import SetupGuard, has_permission, main_root

WEB = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Settings the admin app must share with the main app: the same signed session cookie, so a
# sign-in there is a sign-in here, and the same CSRF secret and lifetime.
SHARED_CONFIG = ("SECRET_KEY", "SESSION_COOKIE_NAME", "SESSION_COOKIE_DOMAIN", "SESSION_COOKIE_PATH",
                 "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_SAMESITE",
                 "SESSION_COOKIE_PARTITIONED", "PERMANENT_SESSION_LIFETIME", "SESSION_REFRESH_EACH_REQUEST",
                 "WTF_CSRF_ENABLED", "WTF_CSRF_TIME_LIMIT", "WTF_CSRF_SSL_STRICT", "WTF_CSRF_SECRET_KEY",
                 "MAX_CONTENT_LENGTH", "TESTING", "DEBUG", "PREFERRED_URL_SCHEME")


class SetupHome(SetupGuard, AdminIndexView):
    def is_accessible(self):
        return has_permission("customize_metadata") or has_permission("manage_users")

    @expose()
    def index(self):
        from flask import current_app
        svc = current_app.extensions["tessera"]
        md = svc.runtimes.current().metadata
        versions = svc.changes.versions()[:5] if has_permission("customize_metadata") else []
        custom = [o for o in md.objects.values() if o.package is None]
        user_count = None
        if has_permission("manage_users"):
            try:
                user_count = svc.records.query(current_actor(), "user", fields="id", limit=1, count=True).total
            except Exception:   # no user object in a bare org
                user_count = None
        return self.render("setup/home.html", md=md, versions=versions, custom_objects=custom, user_count=user_count,
                           can_customize=has_permission("customize_metadata"),
                           can_manage_users=has_permission("manage_users"))


def build_admin_app(services, main_app: Flask) -> Flask:
    """The admin app, built once per process: no view is configured from the metadata (each
    reads the active version per request), so a new metadata version needs no rebuild and the
    compiled templates stay warm."""
    from .views.approvals import ApprovalProcessesView
    from .views.automation import RunLogView, WorkflowsView
    from .views.credentials import NamedCredentialsView
    from .views.currencies import CurrenciesView
    from .views.email_templates import EmailTemplatesView
    from .views.objects import ObjectManagerView
    from .views.operations import EmailOutboxView, JobsView, WebhookDeliveriesView
    from .views.packages import PackagesView
    from .views.permission_groups import PermissionSetGroupsView
    from .views.security import PermissionsView, RolesView, SharingView
    from .views.ui import AppsView, LayoutsView, ListViewsView
    from .views.users import users_view
    from .views.versions import VersionsView
    from .views.deploys import DeploysView

    app = Flask("tessera.web.setup", root_path=WEB, template_folder="templates", static_folder="static",
                static_url_path="/static/tessera")
    app.config.update({k: main_app.config[k] for k in SHARED_CONFIG if k in main_app.config})
    app.session_interface = main_app.session_interface   # the same cookie, Secure per request (web/app.py)
    app.extensions["tessera"] = services
    CSRFProtect(app)
    app.after_request(add_security_headers)   # the same headers as the main app (web/headers.py)
    from ..observability import install as install_observability   # request ids (metrics: the main app's)
    install_observability(app, services, metrics=False)

    admin = Admin(app, name="Tessera Setup", url="/",
                  theme=Bootstrap4Theme(base_template="setup/layout.html", fluid=True),
                  index_view=SetupHome(name="Home", url="/", menu_icon_type="fa", menu_icon_value="fa-home"))
    admin.add_view(ObjectManagerView(name="Object Manager", endpoint="objects", url="objects", category="Objects & UI"))
    admin.add_view(LayoutsView(name="Page Layouts", endpoint="layouts", url="layouts", category="Objects & UI"))
    admin.add_view(ListViewsView(name="List Views", endpoint="list_views", url="list-views", category="Objects & UI"))
    admin.add_view(AppsView(name="Apps", endpoint="apps", url="apps", category="Objects & UI"))
    admin.add_view(PermissionsView(name="Profiles & Permission Sets", endpoint="permissions", url="permissions",
                                   category="Security"))
    admin.add_view(PermissionSetGroupsView(name="Permission Set Groups", endpoint="permission_set_groups",
                                           url="permission-set-groups", category="Security"))
    admin.add_view(RolesView(name="Roles", endpoint="roles", url="roles", category="Security"))
    admin.add_view(SharingView(name="Sharing", endpoint="sharing", url="sharing", category="Security"))
    admin.add_view(users_view(name="Users", endpoint="users", url="users", category="Security"))
    admin.add_view(WorkflowsView(name="Workflows", endpoint="workflows", url="workflows", category="Automation"))
    admin.add_view(ApprovalProcessesView(name="Approval Processes", endpoint="approval_processes",
                                         url="approval-processes", category="Automation"))
    admin.add_view(EmailTemplatesView(name="Email Templates", endpoint="email_templates", url="email-templates",
                                      category="Automation"))
    admin.add_view(RunLogView(name="Run Log", endpoint="workflow_runs", url="workflow-runs", category="Automation"))
    admin.add_view(JobsView(name="Jobs", endpoint="jobs", url="jobs", category="Automation"))
    admin.add_view(EmailOutboxView(name="Email Outbox", endpoint="email_outbox", url="email-outbox",
                                   category="Automation"))
    admin.add_view(WebhookDeliveriesView(name="Webhook Deliveries", endpoint="webhook_deliveries",
                                         url="webhook-deliveries", category="Automation"))
    admin.add_view(NamedCredentialsView(name="Named Credentials", endpoint="credentials", url="credentials",
                                        category="Automation"))
    admin.add_view(CurrenciesView(name="Currencies", endpoint="currencies", url="currencies", category="Company"))
    admin.add_view(VersionsView(name="Versions", endpoint="versions", url="versions", category="Changes"))
    admin.add_view(PackagesView(name="Installed Packages", endpoint="packages", url="packages", category="Changes"))
    admin.add_view(DeploysView(name="Deploys", endpoint="deploys", url="deploys", category="Changes"))
    # the import wizard and the org data export live in /app (tessera.dataio): linked from here
    admin.add_link(MenuLink(name="Import Data", url="/app/data-import", category="Data"))
    admin.add_link(MenuLink(name="Export All Data", url="/app/data-export", category="Data"))

    @app.context_processor
    def setup_context():
        return {"main_root": main_root(), "actor": current_actor()}

    def error_page(code: int, title: str, message: str):
        return render_template("setup/error.html", code=code, title=title, message=message,
                               main_root=main_root(), actor=current_actor()), code

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return error_page(400, "This form has expired",
                          "The security token of the form was missing or out of date. Go back, reload the page "
                          "and submit it again. Nothing was changed.")

    @app.errorhandler(HTTPException)
    def http_error(exc):
        titles = {403: "You don't have access to this page", 404: "Page not found",
                  405: "Method not allowed"}
        messages = {403: "Setup pages need the Customize Metadata permission (Users: Manage Users). "
                         "Ask your administrator if you need access."}
        return error_page(exc.code or 500, titles.get(exc.code, exc.name), messages.get(exc.code, exc.description))

    @app.errorhandler(Exception)
    def unexpected(exc):
        app.logger.exception("unhandled error in setup (%s %s)", request.method, request.path)
        return error_page(500, "Something went wrong", "An internal error occurred; nothing was changed.")

    return app
