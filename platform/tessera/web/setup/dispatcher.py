"""WSGI dispatcher: /setup/... → the admin app; the rest → main app."""
from __future__ import annotations

import threading

from werkzeug.utils import redirect


class SetupDispatcher:
    def __init__(self, main_app, services, *, prefix: str = "/setup"):
        self.main_app = main_app
        self.main_wsgi = main_app.wsgi_app
        self.services = services
        self.prefix = prefix.rstrip("/")
        self._lock = threading.Lock()
        self._app = None

    def admin_app(self):
        """The admin app, built on first use and kept: its views read the active metadata version
        per request, so a new version costs no rebuild. Requests arriving while it is being built
        wait for that one build (double-checked under the lock)."""
        app = self._app
        if app is None:
            with self._lock:
                if self._app is None:
                    from .app import build_admin_app
                    self._app = build_admin_app(self.services, self.main_app)
                app = self._app
        return app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO") or ""
        if path == self.prefix:
            return redirect(environ.get("SCRIPT_NAME", "") + self.prefix + "/")(environ, start_response)
        if path.startswith(self.prefix + "/"):
            environ = dict(environ)
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + self.prefix
            environ["PATH_INFO"] = path[len(self.prefix):]
            return self.admin_app()(environ, start_response)
        return self.main_wsgi(environ, start_response)
