"""Record values → HTML for pages, per field type.

Every function returns `Markup` built with `Markup.format`, which escapes each inserted value:
record values and labels are always text. The one exception is rich text, which is HTML by
definition: it was sanitized by nh3 when saved and is cleaned again here before being marked safe
(defence in depth: a value may have arrived before a field became rich text).
"""
from __future__ import annotations

import json
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

import nh3
from babel import dates as babel_dates
from flask import current_app, g, url_for
from markupsafe import Markup, escape

from ...meta.currencies import currency_symbol as iso_symbol
from ...meta.durations import format_duration
from ...meta.geolocations import format_geolocation
from ...records.coerce import parse_datetime
from .context import ui, user_locale, user_tz
from .meta import picklist_options

EMPTY = Markup('<span class="text-muted empty-value">—</span>')
_BADGE_TONES = ["blue", "teal", "violet", "orange", "green", "pink", "indigo", "gray", "red", "cyan"]
_WON = {"closed won", "won", "completed", "closed", "resolved", "published", "active", "approved", "accepted"}
_LOST = {"closed lost", "lost", "rejected", "cancelled", "canceled", "escalated", "critical", "expired"}


def currency_symbol(code: str | None = None) -> str:
    """The symbol amounts are shown with: the given currency's (a multi-currency record's), else the
    org's corporate currency's when it declares one (settings/org.yaml), else the configured one."""
    settings = _org_settings()
    if code is None and settings is not None:
        code = settings.corporate_currency
    if code is None:
        return current_app.config.get("TESSERA_CURRENCY_SYMBOL", "$")
    symbol = iso_symbol(code)
    return symbol + "\u00a0" if symbol[-1:].isalpha() else symbol    # "CHF 12.00", "€12.00"


def strip_currency(text: str) -> str:
    """An amount as typed with a symbol or code of one of the org's currencies ("€1200", "CHF 12",
    "$5"), without it."""
    settings = _org_settings()
    marks = {current_app.config.get("TESSERA_CURRENCY_SYMBOL", "$")}
    for code in (settings.codes if settings is not None else ()):
        marks.update((code, iso_symbol(code)))
    for mark in sorted(marks, key=len, reverse=True):   # "US$" before "$"
        text = text.replace(mark, "")
    return text


def _org_settings():
    """The org's settings when it has any (None: no settings/org.yaml, the single-currency default)."""
    runtime = getattr(g, "ui_rt", None)
    md = runtime.metadata if runtime is not None else None
    return md.org_settings if md is not None and "org" in md.settings else None


def _money(value, scale: int, code: str | None) -> tuple[str, str, str]:
    """(sign, symbol, digits) of an amount; a known currency's own decimal places win (JPY: 0)."""
    number = _decimal(value)
    settings = _org_settings()
    if code is not None and settings is not None and settings.currency(code) is not None:
        scale = settings.decimal_places(code)
    sign = "-" if number is not None and number < 0 else ""
    return sign, currency_symbol(code), format_number(abs(number) if number is not None else value, scale)


def _decimal(value) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def format_number(value, scale: int = 2, *, trim: bool = False) -> str:
    number = _decimal(value)
    if number is None:
        return str(value)
    text = f"{number:,.{max(0, int(scale))}f}"
    if trim and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _plain(text: str) -> str:
    # CLDR puts a narrow no-break space before AM/PM; a plain space reads (and searches) the same.
    return text.replace("\u202f", " ")


def format_date(value) -> str:
    """A date in the user's locale (personal settings): "Mar 5, 2024", "5 mars 2024"."""
    try:
        d = value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return _plain(babel_dates.format_date(d, "medium", locale=user_locale()))


def local_datetime(value) -> datetime | None:
    try:
        dt = value if isinstance(value, datetime) else parse_datetime(str(value))
    except ValueError:
        return None
    return dt.astimezone(user_tz())


def format_datetime(value) -> str:
    """A moment in the user's time zone and locale: "Mar 5, 2024, 3:04 PM", "5 mars 2024, 15:04"."""
    dt = local_datetime(value)
    if dt is None:
        return str(value)
    locale = babel_dates.Locale.parse(user_locale())
    # The locale's own way of joining a medium date and a short time ("{1}, {0}", "{1} 'à' {0}"…).
    pattern = str(locale.datetime_formats["medium"]).replace("{1}", str(locale.date_formats["medium"])) \
        .replace("{0}", str(locale.time_formats["short"]))
    return _plain(babel_dates.format_datetime(dt, pattern, tzinfo=dt.tzinfo, locale=locale))


ui.add_app_template_filter(format_datetime, "when")   # {{ moment | when }} in templates


def format_time(value) -> str:
    try:
        t = value if isinstance(value, time) else time.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return _plain(babel_dates.format_time(t, "short", locale=user_locale()))


def badge_tone(field, value: str) -> str:
    low = str(value).lower()
    if low in _WON:
        return "green"
    if low in _LOST:
        return "red"
    values = [v for v, _label in picklist_options(field)] if field is not None else []
    index = values.index(value) if value in values else sum(map(ord, str(value)))
    return _BADGE_TONES[index % len(_BADGE_TONES)]


def picklist_label(field, value) -> str:
    for v, label in picklist_options(field):
        if v == value:
            return label
    return str(value)


def record_url(app_name: str, object_name: str, record_id) -> str:
    return url_for("ui.record_page", app_name=app_name, object_name=object_name, record_id=record_id)


def render_value(field, value, *, app_name: str, link_object: str | None = None, link_id=None,
                 lookup_text=None, compact: bool = False, currency: str | None = None) -> Markup:
    """One value as HTML. `field` is the *display* field (meta.display_def). For lookups pass the
    target's name as `lookup_text`; `link_*` makes the value a link to that record; `currency` is the
    record's currency code for an amount of a multi-currency object."""
    t = field.type if field is not None else "text"
    if t == "file":   # its name, linked to the download (ui/views_files.py)
        from .views_files import render_file
        return render_file(value, lookup_text or None)
    if t == "image":   # a picture: an image field's file id, or an IMAGE() formula's {url, alt, …}
        from .images import render_image_field, render_image_formula
        if isinstance(value, dict):
            return render_image_formula(value, compact=compact)
        return render_image_field(field, value, compact=compact)
    if t == "related_to":   # {"object", "id", "name"}: the name (when visible) linked to the record
        if not isinstance(value, dict):
            return EMPTY
        from .meta import object_label
        label = object_label(value.get("object"))
        if not value.get("name"):
            return Markup('<span class="text-muted" title="{}">{} · record not visible</span>').format(
                "You can't see this record", label)
        return Markup('<a href="{}" class="lookup-link related-link">{}</a> <span class="badge badge-light">{}</span>').format(
            record_url(app_name, value["object"], value["id"]), value["name"], label)
    if t in ("lookup", "master_detail"):
        if value in (None, ""):
            return EMPTY
        target = link_object or (field.options.get("to") if field is not None else None)
        if lookup_text in (None, ""):
            return Markup('<span class="text-muted" title="{}">Record not visible</span>').format(
                "You can't see this record")
        if target:
            return Markup('<a href="{}" class="lookup-link">{}</a>').format(record_url(app_name, target, value),
                                                                            lookup_text)
        return Markup("{}").format(lookup_text)
    if value is None or value == "" or value == []:
        if t == "boolean":
            value = False
        else:
            return EMPTY
    html = _format(field, t, value, compact, currency)
    if link_object and link_id:
        return Markup('<a href="{}" class="record-link">{}</a>').format(record_url(app_name, link_object, link_id),
                                                                        html)
    return html


def _format(field, t, value, compact, currency=None) -> Markup:
    opts = field.options if field is not None else {}
    if t == "currency":
        return Markup('<span class="num">{}{}{}</span>').format(*_money(value, opts.get("scale", 2), currency))
    if t in ("number",):
        return Markup('<span class="num">{}</span>').format(format_number(value, opts.get("scale", 2)))
    if t == "integer":
        return Markup('<span class="num">{}</span>').format(format_number(value, 0))
    if t == "duration":
        return Markup('<span class="num">{}</span>').format(format_duration(value))
    if t == "geolocation":
        return Markup('<span class="num geo">{}</span>').format(_geo_text(field, value))
    if t == "percent":
        return Markup('<span class="num">{}%</span>').format(format_number(value, opts.get("scale", 2), trim=True))
    if t == "boolean":
        if value is True:
            return Markup('<span class="bool bool-yes" title="Yes"><i class="fas fa-check-circle" aria-hidden="true">'
                          '</i><span class="sr-only">Yes</span></span>')
        return Markup('<span class="bool bool-no" title="No"><i class="far fa-circle" aria-hidden="true"></i>'
                      '<span class="sr-only">No</span></span>')
    if t == "date":
        return Markup('<time datetime="{}">{}</time>').format(value, format_date(value))
    if t == "datetime":
        return Markup('<time datetime="{}">{}</time>').format(value, format_datetime(value))
    if t == "time":
        return Markup("{}").format(format_time(value))
    if t == "picklist":
        return Markup('<span class="badge badge-pill tone-{}">{}</span>').format(badge_tone(field, value),
                                                                               picklist_label(field, value))
    if t == "multi_picklist":
        items = value if isinstance(value, list) else [value]
        return Markup('<span class="chips">{}</span>').format(Markup("").join(
            Markup('<span class="chip">{}</span>').format(picklist_label(field, v)) for v in items))
    if t == "email":
        return Markup('<a href="mailto:{}">{}</a>').format(value, value)
    if t == "phone":
        return Markup('<a href="tel:{}">{}</a>').format("".join(c for c in str(value) if c in "+0123456789"), value)
    if t == "url":
        text = str(value)
        if text.lower().startswith(("http://", "https://")):
            shown = text.split("://", 1)[1].rstrip("/")
            return Markup('<a href="{}" target="_blank" rel="noopener noreferrer nofollow">{}</a>').format(
                text, shown if len(shown) < 60 else shown[:57] + "…")
        return Markup("{}").format(text)
    if t == "rich_text":
        if compact:
            return Markup("{}").format(_truncate(_strip_tags(str(value)), 80))
        return Markup('<div class="rich-text">{}</div>').format(Markup(nh3.clean(str(value))))
    if t == "json":
        text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)
        if compact:
            return Markup("<code>{}</code>").format(_truncate(json.dumps(value, ensure_ascii=False), 60))
        return Markup('<pre class="json-value">{}</pre>').format(text)
    if t == "textarea":
        if compact:
            return Markup("{}").format(_truncate(str(value), 80))
        return Markup('<div class="multiline">{}</div>').format(value)
    if t == "id":
        return Markup("<code>{}</code>").format(value)
    return Markup("{}").format(value)


def _truncate(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _strip_tags(html: str) -> str:
    # nh3 with no allowed tags keeps only the text (entities stay encoded: unescape them)
    from html import unescape
    return unescape(nh3.clean(html, tags=set()))


def _geo_text(field, value) -> str:
    """`48.856600, 2.352200`: the field's scale of decimals (no map: no tiles without internet)."""
    try:
        return format_geolocation(value, (field.options if field is not None else {}).get("scale", 6))
    except ValueError:
        return str(value)


def plain_text(field, value, currency: str | None = None) -> str:
    """A value as plain text (titles, card subtitles, the JSON endpoints' labels)."""
    if value is None or value == "":
        return ""
    t = field.type if field is not None else "text"
    if t == "currency":
        return "".join(_money(value, field.options.get("scale", 2), currency))
    if t == "number":
        return format_number(value, field.options.get("scale", 2))
    if t == "integer":
        return format_number(value, 0)
    if t == "duration":
        return format_duration(value)
    if t == "geolocation":
        return _geo_text(field, value)
    if t == "related_to":
        return (value.get("name") or "") if isinstance(value, dict) else ""
    if t == "image" and isinstance(value, dict):   # an IMAGE() picture: its alternative text
        return str(value.get("alt") or "")
    if t == "percent":
        return format_number(value, field.options.get("scale", 2), trim=True) + "%"
    if t == "date":
        return format_date(value)
    if t == "datetime":
        return format_datetime(value)
    if t == "boolean":
        return "Yes" if value else "No"
    if t == "picklist":
        return picklist_label(field, value)
    if t == "multi_picklist":
        return ", ".join(picklist_label(field, v) for v in (value if isinstance(value, list) else [value]))
    if t == "rich_text":
        return _strip_tags(str(value))
    return str(value)


def escape_text(text) -> Markup:
    return escape(text)
