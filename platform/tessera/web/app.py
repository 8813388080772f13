"""Flask app factory: configuration from the environment, one Services per app, no globals."""
from __future__ import annotations

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from ..services import Services


def create_app(database_url: str | None = None, *, services: Services | None = None, config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(JSON_SORT_KEYS=False)
    app.config.update(config or {})
    services = services or Services.open(database_url)
    app.extensions["tessera"] = services
    app.json.sort_keys = False

    from .api import api
    app.register_blueprint(api, url_prefix="/api/v1")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type"}.get(exc.code, "http_error")
        return jsonify(error={"code": code, "message": exc.description}), exc.code

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):  # never leak a traceback to a client
        app.logger.exception("unhandled error")
        return jsonify(error={"code": "internal_error", "message": "an internal error occurred"}), 500

    @app.get("/")
    def index():
        return jsonify(name="Tessera", api="/api/v1", openapi="/api/v1/openapi.json")

    return app
