"""Log output of the server and the worker: plain text, or one JSON object a line.

TESSERA_LOG_FORMAT=json writes JSON lines (python-json-logger) for a log pipeline; anything else
(the default, `text`) writes readable lines. Either way every record written while a request is
served carries its `request_id` (request_context.py), the id in the response's X-Request-Id
header, its error body and its audit entries. TESSERA_LOG_LEVEL sets the level (default INFO).
"""
from __future__ import annotations

import logging
import os

from pythonjsonlogger.json import JsonFormatter

from .environment import EnvironmentSettingError
from .request_context import current_request_id

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s"


class RequestIdFilter(logging.Filter):
    def filter(self, record):
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id.get() or "-"
        return True


def configure_logging(environ=os.environ, stream=None) -> None:
    kind = (environ.get("TESSERA_LOG_FORMAT") or "text").strip().lower()
    if kind not in ("text", "json"):
        raise EnvironmentSettingError(f"TESSERA_LOG_FORMAT must be 'text' or 'json', not {kind!r}")
    level_name = (environ.get("TESSERA_LOG_LEVEL") or "INFO").strip().upper()
    level = logging.getLevelName(level_name)
    if not isinstance(level, int):
        raise EnvironmentSettingError(f"TESSERA_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {level_name!r}")
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter(JSON_FIELDS, rename_fields={"levelname": "level", "name": "logger",
                                                                    "asctime": "time"})
                         if kind == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_tessera", False)]:
        root.removeHandler(old)
    handler._tessera = True
    root.addHandler(handler)
    root.setLevel(level)
    # pycasbin logs every policy line at INFO while building an enforcer (~200 KB with the stock
    # apps), alembic its plugins: neither says anything an operator needs
    for noisy in ("casbin", "alembic"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
