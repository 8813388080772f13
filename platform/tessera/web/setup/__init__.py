"""The admin setup UI at /setup, built with Flask-Admin 2.2 (Bootstrap 4 theme).

The admin is its own Flask app (Flask-Admin's own blueprints, templates and error pages), mounted
under /setup by a small WSGI dispatcher. It shares the main app's SECRET_KEY and session cookie
settings, so the sign-in session and CSRF tokens are the same on both.

It is built ONCE per process. Flask-Admin views cannot be added after an app's first request, so
no view is configured from the metadata: every page, including the Users forms' profile, role and
permission-set choices, reads the active version (`services.runtimes.current()`) per request.
An earlier design rebuilt the app for every new version; that re-registered every view's routes
and, worse, started a fresh Jinja environment, so the first visit to each page after every save
compiled its templates again (0.2–0.4 s a page on a loaded 2-core machine).

    pages                      module
    Object Manager, fields,    views/objects.py
      validation rules
    Layouts, List Views, Apps  views/ui.py
    Profiles & Permission      views/security.py
      Sets, Roles, Sharing
    Users                      views/users.py (a BaseModelView over the record service)
    Versions                   views/versions.py
"""
from __future__ import annotations

from .dispatcher import SetupDispatcher


def mount_setup(app, services, prefix: str = "/setup") -> SetupDispatcher:
    """Serve the setup UI under `prefix` of `app` (wraps app.wsgi_app)."""
    dispatcher = SetupDispatcher(app, services, prefix=prefix)
    app.wsgi_app = dispatcher
    app.extensions["tessera_setup"] = dispatcher
    return dispatcher
