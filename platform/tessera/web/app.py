"""Flask app factory: configuration from the environment, one Services per app, no globals."""
from __future__ import annotations

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import HTTPException

from ..services import Services

API_PREFIX = "/api/"


class BrowserSessions(SecureCookieSessionInterface):
    """The signed cookie session, for the browser parts only. The JSON API authenticates by bearer
    token alone — a cookie must never count there (it has no CSRF protection) — so its requests
    get Flask's null session: no cookie read, no signer built, nothing saved."""

    def open_session(self, app, request):
        if request.path.startswith(API_PREFIX):
            return None
        return super().open_session(app, request)

    def get_cookie_secure(self, app) -> bool:
        """`Secure` exactly when this request arrived over HTTPS (directly or from a trusted proxy:
        web/proxies.py). A Secure cookie set over plain HTTP never comes back, so sign-in on a LAN
        address without TLS would fail; behind TLS it is always Secure. The setup app (web/setup)
        uses these sessions too."""
        return request.is_secure


INSECURE_COOKIES_RETIRED = ("TESSERA_INSECURE_COOKIES is no longer used and can be removed: session cookies are "
                            "Secure exactly when the request arrived over HTTPS (directly or through a proxy listed "
                            "in TESSERA_FORWARDED_ALLOW_IPS), and plain HTTP works without it")


def create_app(database_url: str | None = None, *, services: Services | None = None, config: dict | None = None,
               forwarded_allow_ips: str | None = None) -> Flask:
    """`forwarded_allow_ips`: the proxies whose X-Forwarded-* headers are believed (default:
    $TESSERA_FORWARDED_ALLOW_IPS; none when unset) — see web/proxies.py."""
    import os
    from datetime import timedelta

    import flask_admin
    from flask import Blueprint
    from flask_wtf.csrf import CSRFProtect

    from ..bootstrap import secret_key

    app = Flask(__name__)
    app.session_interface = BrowserSessions()
    services = services or Services.open(database_url)
    from ..encryption.keys import require_keys_for
    require_keys_for(services.runtimes.current().metadata)   # no half-working app: name the variable
    app.config.update(
        SECRET_KEY=secret_key(services.engine),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # (no SESSION_COOKIE_SECURE: BrowserSessions decides per request)
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=None,  # tokens live as long as the session
        MAX_CONTENT_LENGTH=32 * 1024 * 1024,
    )
    app.config.update(config or {})
    if os.environ.get("TESSERA_INSECURE_COOKIES"):
        app.logger.warning(INSECURE_COOKIES_RETIRED)
    from .proxies import trusted_proxies
    proxies = trusted_proxies(forwarded_allow_ips)   # a bad value stops the app before anything is built
    if services.files is not None and "MAX_CONTENT_LENGTH" not in (config or {}):
        # a request may carry one file of the upload limit, and its form; an explicit limit wins
        app.config["MAX_CONTENT_LENGTH"] = max(app.config["MAX_CONTENT_LENGTH"] or 0, services.files.max_bytes + 2 ** 20)
    app.extensions["tessera"] = services
    app.json.sort_keys = False

    from .api import RecordIdConverter, api
    from . import api_aggregate, api_automation  # noqa: F401  (register their routes on `api`)
    from . import api_approvals  # noqa: F401  (and the approval routes)
    from . import api_currency  # noqa: F401  (and the currencies and exchange rates)
    from . import api_reports, api_user_reports  # noqa: F401  (and reports, saved reports)
    from . import api_files  # noqa: F401  (and file uploads, downloads and attachments)
    from . import api_activities  # noqa: F401  (and record timelines)
    from . import api_search  # noqa: F401  (and global search)
    from . import api_conversion  # noqa: F401  (and record conversions: a lead → account, contact, opportunity)
    from .api_hooks import hooks
    from .auth import auth
    app.url_map.converters["record_id"] = RecordIdConverter   # before the API's rules are added
    from .rate_limits import install_rate_limits
    install_rate_limits(app, services.engine)   # before CSRFProtect: forged-form floods count too
    csrf = CSRFProtect(app)
    csrf.exempt(api)  # bearer tokens only: no ambient credentials, so no CSRF
    app.register_blueprint(api, url_prefix=API_PREFIX + "v1")
    csrf.exempt(hooks)  # signed requests from other systems: no session, no CSRF
    app.register_blueprint(hooks, url_prefix=API_PREFIX + "v1/hooks")
    app.register_blueprint(auth)
    from .health import health
    app.register_blueprint(health)
    from .ui import ui  # end-user UI: generated from metadata, through the record service
    app.register_blueprint(ui, url_prefix="/app")
    # Bootstrap/jQuery come from Flask-Admin's package (never committed to this repository).
    app.register_blueprint(Blueprint("assets", __name__, static_folder=os.path.join(
        os.path.dirname(flask_admin.__file__), "static"), static_url_path="/assets"))

    # Admin setup UI at /setup: its own Flask-Admin app behind a WSGI dispatcher (web/setup/).
    from .setup import mount_setup
    mount_setup(app, services)
    from .proxies import TrustedProxies
    app.wsgi_app = TrustedProxies(app.wsgi_app, proxies)   # outermost: /setup sees the client's scheme too

    from flask_wtf.csrf import CSRFError

    from .headers import content_security_policy, image_sources, security_headers
    # every page and API answer (the setup app adds its own)
    app.after_request(security_headers(content_security_policy(image_sources())))
    from .observability import install as install_observability   # request ids, slow requests, /metrics
    install_observability(app, services)

    from .errors import error_response

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return error_response(400, exc.description, code="csrf_failed")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        response = app.make_response(error_response(
            status, exc.description or "", generic=exc.description == type(exc).description))
        if status == 405 and getattr(exc, "valid_methods", None):
            response.headers["Allow"] = ", ".join(exc.valid_methods)   # RFC 9110: a 405 names what is allowed
        return response

    from ..encryption.cipher import DecryptionError

    @app.errorhandler(DecryptionError)
    def undecryptable(exc: DecryptionError):   # the operator's keyring lacks a key: say so, not "something"
        app.logger.error("encrypted value not readable: %s", exc)
        return error_response(500, "an encrypted value cannot be decrypted with the configured keys (an operator "
                                   "must configure its key again)", code="decryption_failed")

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):  # never leak a traceback to a client
        app.logger.exception("unhandled error")
        return error_response(500, "an internal error occurred")

    @app.get("/favicon.ico")
    def favicon():   # browsers ask for it at the root, on every page (also JSON and setup ones)
        return app.send_static_file("favicon.svg")

    return app
