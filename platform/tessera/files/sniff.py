"""Content types from the bytes (puremagic's signature table), never from what the client says.

The client's claim (the part's Content-Type, the name's extension) is only used to refuse a
mismatch for the types a browser would render: an upload that says it is an image or a PDF must
be one (an HTML page named photo.png is refused, not stored). Anything else is kept as what the
bytes are, and served as an attachment unless it is a raster image or a PDF (files/serving.py).
"""
from __future__ import annotations

import mimetypes
import os

import puremagic

from ..meta.fieldtypes import accepts

from .errors import UnsupportedContent

HEAD_BYTES = 64 * 1024     # what sniffing looks at (signatures sit in the first bytes)
OCTET = "application/octet-stream"
# served inline (shown in the browser, previewed on record pages); SVG is not here: it can script
INLINE = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"})
_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png"}
_TEXT_BY_EXTENSION = {".csv": "text/csv", ".md": "text/markdown", ".json": "application/json",
                      ".ics": "text/calendar", ".vcf": "text/vcard"}


def sniff(head: bytes, name: str) -> str:
    """The content type of a file whose first bytes are `head`. The name's extension only picks
    among the types the bytes fit (a .xlsx and a .docx are both zip archives)."""
    if not head:
        return "application/x-empty"
    try:
        matches = puremagic.magic_string(head, name)
    except Exception:  # noqa: BLE001 - unknown or odd bytes: judged below as text or octets, never a 500
        matches = []
    extension = os.path.splitext(name)[1].lower()
    typed = [m for m in matches if m.mime_type]
    if typed:
        best = next((m for m in typed if m.extension.lower() == extension), typed[0])
        return _ALIASES.get(best.mime_type, best.mime_type)
    if b"\x00" not in head and _is_utf8(head):
        return _TEXT_BY_EXTENSION.get(extension, "text/plain")
    return OCTET


def _is_utf8(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:   # a character cut at the end of the head is still text
        return exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"
    return True


def check_claim(sniffed: str, claimed: str | None, name: str) -> None:
    """Refuse an upload that claims to be an image or a PDF (by its part's Content-Type or its
    name's extension) and is something else."""
    claims = {_normal(claimed), _normal(mimetypes.guess_type(name)[0])} - {None}
    for claim in claims:
        if (claim.startswith("image/") or claim == "application/pdf") and claim != sniffed:
            raise UnsupportedContent(f"the file claims to be {claim} but its content is {sniffed}",
                                     fields={"file": [f"claims {claim}, content is {sniffed}"]},
                                     details={"claimed": claim, "sniffed": sniffed})


def check_accept(sniffed: str, accept, field_label: str) -> None:
    """A file field's `accept` list: exact types or families (image/*)."""
    if accepts(accept, sniffed):
        return
    message = f"{field_label} takes {', '.join(accept)}; this file is {sniffed}"
    raise UnsupportedContent(message, fields={"file": [message]}, details={"sniffed": sniffed})


def _normal(content_type: str | None) -> str | None:
    if not content_type:
        return None
    base = content_type.split(";", 1)[0].strip().lower()
    if not base or base == OCTET:
        return None
    return _ALIASES.get(base, base)
