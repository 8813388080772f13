"""Safe file names: what an uploader calls a file becomes a display name, never a path.

The name is only shown and offered back in Content-Disposition; the content is stored under a
random key (files/blobs.py). Still, a name reaches other people's disks when they download it, so
path tricks are refused rather than quietly repaired: `../../etc/passwd`, `C:\\boot.ini`, names
with NUL or other control characters, `.` and `..`, and names that are only dots or blanks.
"""
from __future__ import annotations

import re
import unicodedata

from ..records.errors import ValidationFailed

MAX_NAME = 255
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_DRIVE = re.compile(r"^[A-Za-z]:")


def safe_name(raw: str | None) -> str:
    """`raw` as a file name to keep, or ValidationFailed saying what is wrong with it."""
    name = unicodedata.normalize("NFC", raw or "").strip()
    if not name:
        raise _bad("a file needs a name (the multipart part's filename)")
    if _CONTROL.search(name) or any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        raise _bad("a file name must not contain NUL, control or invisible formatting characters")
    if "/" in name or "\\" in name or _DRIVE.match(name):
        raise _bad(f"a file name must not contain a path ({name!r}): send the name alone, e.g. report.pdf")
    if name.strip(". ") == "":
        raise _bad(f"{name!r} is not a file name")
    if len(name) > MAX_NAME:
        raise _bad(f"a file name has at most {MAX_NAME} characters ({len(name)} sent)")
    return name


def _bad(message: str) -> ValidationFailed:
    return ValidationFailed(message, fields={"file": [message]})
