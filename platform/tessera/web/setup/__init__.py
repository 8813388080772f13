"""The admin setup UI at /setup, built with Flask-Admin 2.2 (Bootstrap 4 theme).

Flask-Admin views cannot be added after an app's first request, and some of ours are configured
from the metadata (the Users grid's profile, role and permission-set choices). So the admin is its
own Flask app, mounted under /setup by a small WSGI dispatcher that rebuilds it whenever the active
metadata version changes (`services.runtimes.current().version`). It shares the main app's
SECRET_KEY and session cookie settings, so the sign-in session and CSRF tokens are the same on both.

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
