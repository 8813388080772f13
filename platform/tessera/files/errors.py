"""Upload refusals, as record-service errors (the API turns each into its status and JSON body)."""
from __future__ import annotations

from ..records.errors import RecordError


class TooLarge(RecordError):
    status, code = 413, "too_large"


class UnsupportedContent(RecordError):
    """The bytes are not what the upload claims (an HTML page named photo.png) or not a type the
    field accepts."""
    status, code = 415, "unsupported_media_type"
