"""Pictures on pages: an image field's file, and the picture an IMAGE() formula describes.

Both become one <img> built with Markup.format (every attribute escaped). An image field's picture
is served by the session download route (views_files.file_content), which lets through exactly who
may read the file — the same access as the record's field; a picture the viewer may not fetch is
simply not drawn by the browser. An IMAGE() url is drawn only when it is http(s) or a relative
/app/ path: anything else (javascript:, data:, a protocol-relative //host) renders nothing, so a
formula over user-typed text can never inject script or pull a page off-site through a scheme.
"""
from __future__ import annotations

import re

from markupsafe import Markup

from .display import EMPTY

# a record page shows a thumbnail, a list a small one; CSS keeps the aspect ratio inside the box
DETAIL_BOX = 240
LIST_BOX = 40
MAX_SIZE = 2000   # IMAGE()'s height and width are pixels, bounded so a formula cannot blow up a page

_SAFE_ABSOLUTE = re.compile(r"https?://[^\s\\/?#]+([/?#][^\s\\]*)?", re.IGNORECASE)
_SAFE_RELATIVE = re.compile(r"/app/[^\s\\]*")


def safe_image_url(url) -> str | None:
    """`url` if a page may draw it: http(s) with a host, or a path under /app/ (never //host,
    javascript:, data: or text with spaces or backslashes, which browsers read inconsistently)."""
    if not isinstance(url, str) or any(ord(c) < 32 or ord(c) == 127 for c in url):
        return None
    if _SAFE_ABSOLUTE.fullmatch(url) or _SAFE_RELATIVE.fullmatch(url):
        return url
    return None


def render_image_field(field, file_id, *, compact: bool) -> Markup:
    """An image field's file as a picture linked to the full-size download."""
    if not file_id:
        return EMPTY
    from .views_files import content_url
    url = content_url(file_id)
    box = LIST_BOX if compact else DETAIL_BOX
    alt = field.label if field is not None else "Image"
    return Markup('<a href="{url}" class="field-image-link" target="_blank" rel="noopener">'
                  '<img src="{url}" alt="{alt}" class="{cls}" width="{box}" height="{box}" loading="lazy"></a>'
                  ).format(url=url, alt=alt, box=box, cls="field-image-thumb" if compact else "field-image")


def render_image_formula(value, *, compact: bool) -> Markup:
    """IMAGE(url, alt [, height, width])'s picture: {url, alt, height, width} (expr/images.py)."""
    if not isinstance(value, dict):
        return EMPTY
    url = safe_image_url(value.get("url"))
    if url is None:
        return EMPTY
    height, width = _pixels(value.get("height")), _pixels(value.get("width"))
    if compact:   # a list row stays one line high, whatever the formula asks
        height, width = (min(height, LIST_BOX) if height else LIST_BOX), None
    sizes = Markup("").join(Markup(' {}="{}"').format(name, n) for name, n in (("height", height), ("width", width)) if n)
    return Markup('<img src="{}" alt="{}"{} class="formula-image" loading="lazy">').format(
        url, value.get("alt") or "", sizes)


def _pixels(n) -> int | None:
    if isinstance(n, bool) or not isinstance(n, (int, float)) or n <= 0:
        return None
    return min(int(n), MAX_SIZE)
