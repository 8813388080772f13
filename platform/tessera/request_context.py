"""The id of the request being served, for the layers below the web layer (the audit log) to
record without importing Flask. The web layer sets it for each request; elsewhere it is None."""
from __future__ import annotations

from contextvars import ContextVar

current_request_id: ContextVar[str | None] = ContextVar("tessera_request_id", default=None)
