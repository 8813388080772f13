"""Generated forms: one widget per field type, and form strings → API values.

Which fields a form shows and accepts comes from the layout and the actor's Access: unreadable
fields are left out, fields the actor cannot edit (field-level security, read-only, computed) are
shown as text and never read from the submitted form (no mass assignment through extra inputs).
Values are converted here to the API's types (numbers as Decimal, booleans, lists, '' → None) so
the record service receives exactly what the REST API would.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field as dc_field
from datetime import date, datetime, time, timezone
from decimal import Decimal, InvalidOperation

from flask import url_for
from markupsafe import Markup

from ...currency import personal
from ...meta.currencies import CURRENCY_FIELD
from ...meta.durations import format_duration, parse_duration
from ...meta.geolocations import PARTS as GEO_PARTS, format_geolocation, parse_geolocation
from ...meta.fieldtypes import FILE_TYPES, RELATION_TYPES
from ...meta.model import FieldDef, ObjectDef
from ...records.errors import RecordError
from .context import access, actor, records, rt, user_tz
from .display import EMPTY, currency_symbol, render_value, strip_currency
from .meta import READ_ONLY_TYPES, display_def, field_def, layout_for, name_field, picklist_options

_TRUE = {"true", "on", "1", "yes"}
_NUMBER_JUNK = re.compile(r"[\s,_]")


@dataclass
class Widget:
    name: str
    label: str
    kind: str                       # see templates/app/_form.html
    input_name: str = ""
    value: object = ""              # the form value: a string (a list for multi-picklists)
    required: bool = False
    help: str | None = None
    errors: list = dc_field(default_factory=list)
    options: list = dc_field(default_factory=list)   # (value, label) for selects
    attrs: dict = dc_field(default_factory=dict)      # min, max, step, maxlength
    prefix: str = ""
    suffix: str = ""
    lookup_url: str = ""
    lookup_text: str = ""
    copy_url: str = ""              # a lookup whose choice fills copy-on-select fields (records/copies.py)
    display: Markup = EMPTY         # read-only widgets
    wide: bool = False              # spans both columns
    blank: bool = True              # a select offers "no value"
    file: dict | None = None        # a file field's current file: name, url, size_text

    @property
    def dom_id(self) -> str:
        return "f-" + self.input_name.replace(".", "-")


# -- API value <-> form string ----------------------------------------------------------------------
def _scale(f: FieldDef) -> int:
    return int(f.options.get("scale", 2))


def to_form_value(f: FieldDef, value):
    """An API value as the string (or list) a form input holds."""
    if value is None:
        return [] if f.type == "multi_picklist" else ""
    t = f.type
    if t == "boolean":
        return "true" if value else ""
    if t == "multi_picklist":
        return list(value) if isinstance(value, list) else [str(value)]
    if t in ("number", "currency", "percent"):
        try:
            number = Decimal(str(value)).quantize(Decimal(1).scaleb(-_scale(f)))
        except InvalidOperation:
            return str(value)
        return format(number, "f")
    if t == "datetime":
        try:
            from ...records.coerce import parse_datetime
            return parse_datetime(str(value)).astimezone(user_tz()).strftime("%Y-%m-%dT%H:%M:%S")
        except ValueError:
            return str(value)
    if t == "json":
        return json.dumps(value, indent=2, ensure_ascii=False)
    if t == "time":
        return str(value)[:8]
    if t == "duration":
        return format_duration(value)
    if t == "related_to":    # "object:id" (the picker's hidden input; meta/related.py)
        return f"{value['object']}:{value['id']}" if isinstance(value, dict) else str(value)
    if t == "geolocation":   # two inputs (templates/app/_form.html)
        try:
            text = format_geolocation(value, int(f.options.get("scale", 6)), sep=",")
        except ValueError:
            return ""
        return dict(zip(GEO_PARTS, text.split(",")))
    return str(value)


def _parse_geolocation(f: FieldDef, raw):
    """The two inputs ({"latitude": "48.8566", "longitude": "2.3522"}) or "lat, lng" text → the
    API's object; both blank: no value; one blank: an error naming it."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, dict):
        parts = {p: str(raw.get(p) or "").strip() for p in GEO_PARTS}
        if not any(parts.values()):
            return None
        missing = [p for p in GEO_PARTS if not parts[p]]
        if missing:
            raise ValueError(f"{missing[0]} is required (or leave both blank)")
        raw = parts
    elif isinstance(raw, str) and not raw.strip():
        return None
    point = parse_geolocation(raw, int(f.options.get("scale", 6)))
    return {"latitude": float(point.latitude), "longitude": float(point.longitude)}


def parse_value(f: FieldDef, raw):
    """Form input → API value. Raises ValueError with a message for the field."""
    t = f.type
    if t == "multi_picklist":
        items = raw if isinstance(raw, list) else ([raw] if raw not in (None, "") else [])
        items = [str(v) for v in items if str(v).strip()]
        return items or None
    if t == "geolocation":
        return _parse_geolocation(f, raw)
    if isinstance(raw, list):
        raw = raw[-1] if raw else ""
    if t == "boolean":
        if isinstance(raw, bool):
            return raw
        return str(raw or "").strip().lower() in _TRUE
    if raw is None:
        return None
    if not isinstance(raw, str):
        return raw                      # already an API value (JSON endpoint)
    if t in ("textarea", "rich_text"):
        text = raw.replace("\r\n", "\n")
        return text if text.strip() else None
    if t == "json":
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise ValueError("is not valid JSON") from None
    text = raw.strip()
    if text == "":
        return None
    if t == "duration":
        return parse_duration(text)
    if t == "integer":
        cleaned = _NUMBER_JUNK.sub("", text)
        if not re.fullmatch(r"[+-]?\d+", cleaned):
            raise ValueError(f"'{text}' is not a whole number")
        return int(cleaned)
    if t in ("number", "currency", "percent"):
        cleaned = _NUMBER_JUNK.sub("", text)
        if t == "currency":
            cleaned = strip_currency(cleaned)
        if t == "percent":
            cleaned = cleaned.rstrip("%")
        try:
            number = Decimal(cleaned)
        except InvalidOperation:
            raise ValueError(f"'{text}' is not a number") from None
        if not number.is_finite():
            raise ValueError(f"'{text}' is not a number")
        return number
    if t == "date":
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise ValueError(f"'{text}' is not a date (YYYY-MM-DD)") from None
    if t == "datetime":
        try:
            parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
        except ValueError:
            raise ValueError(f"'{text}' is not a date and time") from None
        if parsed.tzinfo is None:           # a datetime-local input: the user's own time zone
            parsed = parsed.replace(tzinfo=user_tz())
        return parsed.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    if t == "time":
        try:
            return time.fromisoformat(text).replace(tzinfo=None).isoformat()
        except ValueError:
            raise ValueError(f"'{text}' is not a time (HH:MM)") from None
    return text


# -- which fields a form shows ---------------------------------------------------------------------
def is_editable(obj: ObjectDef, name: str, mode: str) -> bool:
    acc = access()
    if name == "owner":
        return acc.can_transfer(obj.name)
    f = obj.fields.get(name)
    if f is None or not f.stored or f.read_only or f.type in READ_ONLY_TYPES:
        return False
    return acc.can_edit_field(obj.name, name)


def _visible_in_form(obj: ObjectDef, name: str, mode: str) -> bool:
    acc = access()
    f = field_def(obj, name)
    if f is None or not acc.can_read_field(obj.name, name):
        return False
    if name in ("id", "created_at", "created_by", "updated_at", "updated_by"):
        return False
    if mode == "create" and (f.type in READ_ONLY_TYPES or (name == "owner" and not acc.can_transfer(obj.name))):
        return False
    return True


def form_layout(obj: ObjectDef, mode: str) -> list[dict]:
    """Sections of field names for a create/edit form (layout order; required editable fields the
    layout forgot go to the first section, or the record could never be saved)."""
    sections = []
    placed = set()
    for s in layout_for(obj)["sections"]:
        names = [n for n in s["fields"] if n not in placed and _visible_in_form(obj, n, mode)]
        placed.update(names)
        if names:
            sections.append({"label": s["label"], "columns": s["columns"], "fields": names})
    missing = [f.name for f in obj.fields.values()
               if f.required and f.name not in placed and f.stored and _visible_in_form(obj, f.name, mode)
               and is_editable(obj, f.name, mode)]
    if missing:
        if sections:
            sections[0]["fields"] = sections[0]["fields"] + missing
        else:
            sections.append({"label": f"{obj.label} Information", "columns": 2, "fields": missing})
    return sections


def editable_fields(obj: ObjectDef, mode: str) -> list[str]:
    return [n for s in form_layout(obj, mode) for n in s["fields"] if is_editable(obj, n, mode)]


def lookup_paths(obj: ObjectDef, names) -> list[str]:
    """`<lookup>.<target name field>` paths the actor may read, to show lookups by name."""
    out = []
    for n in names:
        f = field_def(obj, n)
        if f is None or f.type not in RELATION_TYPES:
            continue
        target = rt().metadata.objects.get(f.options.get("to"))
        tname = name_field(target) if target else None
        if tname and access().readable_path(obj.name, (n, tname)):
            out.append(f"{n}.{tname}")
    return out


def lookup_name(target_name: str, record_id: str) -> str:
    """The name of one record (for a prefilled lookup), through the record service."""
    target = rt().metadata.objects.get(target_name)
    tname = name_field(target) if target else None
    if not tname or not record_id:
        return ""
    try:
        rec = records().get(actor(), target_name, record_id, fields=[tname])
    except RecordError:
        return ""
    return str(rec.get(tname) or "")


def default_values(obj: ObjectDef) -> dict:
    """Form values for a new record: literal defaults, and expression defaults that need no field
    (TODAY()-based dates) evaluated now; others are applied by the record service on save."""
    out = {}
    cobj = rt().objects.get(obj.name)
    now = datetime.now(timezone.utc)
    for f, default in (cobj.defaults if cobj else ()):
        if hasattr(default, "evaluate"):
            if getattr(default, "paths", None):
                continue
            try:
                value = default.evaluate({}, prior=None, now=now)
            except Exception:  # noqa: BLE001 - a default we cannot preview is applied on save
                continue
            if isinstance(value, (date, datetime, time)):
                value = value.isoformat()
            out[f.name] = to_form_value(f, value if not isinstance(value, Decimal) else float(value))
        else:
            out[f.name] = to_form_value(f, default)
    if obj.multi_currency:    # the signed-in user's own default currency, as the service would apply
        mine = personal.of_user(records(), actor().user_id, rt().metadata.org_settings)
        if mine:
            out[CURRENCY_FIELD] = mine
    return out


# -- widgets -------------------------------------------------------------------------------------------
def widget(obj: ObjectDef, name: str, *, mode: str, value, errors=None, record=None, app_name: str,
           lookup_text: str = "", input_name: str | None = None) -> Widget:
    """The widget for one field. `value` is the form value (string/list); `record` (API values)
    is used to display read-only fields."""
    f = field_def(obj, name)
    editable = is_editable(obj, name, mode)
    w = Widget(name=name, label=f.label, kind="readonly", input_name=input_name or name, value=value,
               required=bool(f.required) and editable, help=f.help, errors=list(errors or []))
    if not editable:
        shown = display_def(f)
        rec = record or {}
        text = None
        if f.type in RELATION_TYPES:
            text = lookup_text or next((rec[k] for k in rec if k.startswith(name + ".")), None)
        w.display = render_value(shown, rec.get(name), app_name=app_name, lookup_text=text,
                                 currency=rec.get(CURRENCY_FIELD))
        if mode == "create" and rec.get(name) is None:
            w.display = Markup('<span class="text-muted">{}</span>').format(
                "Set automatically" if f.type in READ_ONLY_TYPES or f.read_only else "You can't set this field")
        w.wide = f.type in ("textarea", "rich_text", "json")
        return w
    t = f.type
    opts = f.options
    if t in ("text", "email", "phone", "url"):
        w.kind = {"text": "text", "email": "email", "phone": "tel", "url": "url"}[t]
        if opts.get("max_length"):
            w.attrs["maxlength"] = opts["max_length"]
        if t == "url":
            w.attrs["placeholder"] = "https://"
    elif t in ("textarea", "rich_text", "json"):
        w.kind = {"textarea": "textarea", "rich_text": "rich", "json": "json"}[t]
        w.wide = True
        if t == "rich_text" and not w.help:
            w.help = "Basic HTML formatting is kept (bold, lists, links); anything unsafe is removed."
    elif t == "geolocation":
        w.kind = "geolocation"
        w.attrs["step"] = format(Decimal(1).scaleb(-int(opts.get("scale", 6))), "f")
        if not w.help:
            w.help = "Latitude (-90 to 90) and longitude (-180 to 180) in decimal degrees."
    elif t == "duration":
        w.kind = "text"
        w.attrs["placeholder"] = "1h 30m"
        if not w.help:
            w.help = "A duration such as 1h 30m, 45m or 2d 4h."
    elif t == "integer":
        w.kind = "number"
        w.attrs.update(step=1, **{k: opts[k] for k in ("min", "max") if opts.get(k) is not None})
    elif t in ("number", "currency", "percent"):
        w.kind = "number"
        scale = _scale(f)
        w.attrs["step"] = format(Decimal(1).scaleb(-scale), "f") if scale else 1
        w.attrs.update({k: opts[k] for k in ("min", "max") if opts.get(k) is not None})
        if t == "currency":
            w.prefix = currency_symbol((record or {}).get(CURRENCY_FIELD))
        if t == "percent":
            w.suffix = "%"
    elif t == "boolean":
        w.kind = "checkbox"
        w.required = False
    elif t == "date":
        w.kind = "date"
    elif t == "datetime":
        w.kind = "datetime"
        w.attrs["step"] = 1
        w.suffix = user_tz().key
    elif t == "time":
        w.kind = "time"
        w.attrs["step"] = 1
    elif t == "picklist":
        w.options = picklist_options(f)
        w.kind = "select" if opts.get("restricted", True) else "datalist"
        _follow_transitions(w, obj, f, mode, record)
        if name == CURRENCY_FIELD and obj.multi_currency:   # deactivated: kept where set, never offered
            active = set(rt().metadata.org_settings.active_codes) | {(record or {}).get(name)}
            w.options = [(v, label) for v, label in w.options if v in active]
    elif t == "multi_picklist":
        w.kind = "multi"
        w.options = picklist_options(f)
        if not isinstance(w.value, list):
            w.value = [w.value] if w.value else []
    elif t in FILE_TYPES:   # the current file (a download link) and an upload control (ui/views_files.py);
        # an image field also shows the current picture and previews a chosen one (app.js)
        from .views_files import file_widget_info, unsaved_upload
        w.kind = "file"
        if unsaved_upload(value):   # the form was not saved, so its upload is not kept: back to the saved file
            w.value = value = to_form_value(f, (record or {}).get(name)) if mode == "edit" else ""
            w.errors.append("Choose the file again: uploads are kept only when the form is saved.")
        w.file = file_widget_info(value)
        if opts.get("accept"):
            w.attrs["accept"] = ",".join(opts["accept"])
        w.attrs["image"] = t == "image"
    elif t == "related_to":   # an object picker and a lookup of that object's records (app.js)
        from .meta import related_targets
        w.kind = "related"
        w.options = related_targets(f)
        current = (record or {}).get(name) if isinstance((record or {}).get(name), dict) else None
        chosen = str(value).partition(":")[0] if value else (w.options[0][0] if w.options else "")
        w.attrs["object"] = chosen
        w.attrs["urls"] = {n: url_for("ui.lookup_search", object_name=n) for n, _l in w.options}
        w.lookup_text = lookup_text or ((current or {}).get("name") or "")
    elif t in RELATION_TYPES or name == "owner":
        target = f.options.get("to")
        w.kind = "lookup"
        if target and access().can(target, "read") and target in rt().metadata.objects:
            w.lookup_url = url_for("ui.lookup_search", object_name=target)
            w.lookup_text = lookup_text or (lookup_name(target, value) if value else "")
            cobj = rt().objects.get(obj.name)
            if cobj is not None and any(c.lookup == name for c in cobj.copies):
                w.copy_url = url_for("ui.copied_values", object_name=obj.name, lookup=name)
        else:  # the actor cannot search the target: they can keep the value, not choose another
            w.kind = "readonly"
            w.display = render_value(f, value or None, app_name=app_name, lookup_text=lookup_text or None)
    else:
        w.kind = "text"
    return w


def _follow_transitions(w: Widget, obj: ObjectDef, f: FieldDef, mode: str, record: dict | None) -> None:
    """A picklist with a state machine offers only what the record service will accept from this
    user: a new record's initial values, or the record's value and the moves allowed from it
    (records/transitions.py). Forms without one record (bulk update) offer every value: the
    service decides record by record."""
    rid = (record or {}).get("id") if mode == "edit" else None
    if mode == "edit" and rid is None:
        return
    current = record.get(f.name) if rid is not None else None
    allowed = records().allowed_values(actor(), obj.name, f.name, current, rid)
    if allowed is None:
        return
    keep = {*allowed, current}
    w.options = [(v, label) for v, label in w.options if v in keep]
    w.kind = "select"
    w.blank = current is None   # clearing is not a transition


def build_sections(obj: ObjectDef, *, mode: str, values: dict, errors: dict, record: dict | None,
                   app_name: str, lookup_texts: dict | None = None) -> list[dict]:
    out = []
    for s in form_layout(obj, mode):
        widgets = [widget(obj, n, mode=mode, value=values.get(n, [] if _is_multi(obj, n) else ""),
                          errors=errors.get(n), record=record, app_name=app_name,
                          lookup_text=(lookup_texts or {}).get(n, ""))
                   for n in s["fields"]]
        out.append({"label": s["label"], "columns": s["columns"], "widgets": widgets})
    return out


def _is_geolocation(obj, name) -> bool:
    f = field_def(obj, name)
    return f is not None and f.type == "geolocation"


def _is_multi(obj, name) -> bool:
    f = field_def(obj, name)
    return f is not None and f.type == "multi_picklist"


def read_form(obj: ObjectDef, names, form, prefix: str = "") -> dict:
    """The submitted form values (strings; lists for multi-picklists; a geolocation's two parts)
    of the given fields, from inputs named `prefix + field name`."""
    out = {}
    for n in names:
        key = prefix + n
        if _is_multi(obj, n):
            out[n] = [v for v in form.getlist(key) if v != ""]
        elif _is_geolocation(obj, n):
            out[n] = {p: form.get(f"{key}.{p}", "") for p in GEO_PARTS}
        else:
            out[n] = form.get(key, "")
    return out


def to_api_values(obj: ObjectDef, raw: dict, *, mode: str, current: dict | None = None) -> tuple[dict, dict]:
    """(data for the record service, conversion errors). On create a blank field with a default is
    left out so the service applies the default; on edit only changed fields are sent."""
    data, errors = {}, {}
    defaults = {f.name for f, _d in rt().objects[obj.name].defaults} if obj.name in rt().objects else set()
    for name, value in raw.items():
        f = field_def(obj, name)
        if f is None:
            continue
        try:
            parsed = parse_value(f, value)
        except ValueError as exc:
            errors[name] = [str(exc)]
            continue
        if mode == "create" and parsed is None and (name in defaults or name == "owner"):
            continue   # left to the service: the default, or the creator as owner
        if mode == "edit" and current is not None and _same(f, current.get(name), value):
            continue
        data[name] = parsed
    return data, errors


def _same(f: FieldDef, current, submitted) -> bool:
    before = to_form_value(f, current)
    if f.type == "geolocation":
        try:
            return _parse_geolocation(f, before) == _parse_geolocation(f, submitted)
        except ValueError:
            return False
    if f.type == "boolean":
        return bool(before) == (str(submitted or "").lower() in _TRUE)
    if f.type == "multi_picklist":
        return sorted(before) == sorted(submitted if isinstance(submitted, list) else [submitted])
    if f.type in ("number", "currency", "percent"):
        try:
            return (Decimal(before) if before else None) == (Decimal(_NUMBER_JUNK.sub("", submitted))
                                                             if str(submitted).strip() else None)
        except (InvalidOperation, TypeError):
            return False
    if f.type in ("textarea", "rich_text"):
        return before.replace("\r\n", "\n") == str(submitted).replace("\r\n", "\n")
    return str(before).strip() == str(submitted).strip()


def error_messages(exc: RecordError, obj: ObjectDef, shown: set[str]) -> tuple[list[str], dict]:
    """(messages for the top of the form, {field: [messages]} next to fields) from a RecordError.
    Validation-rule messages always go to the top; field errors of fields the form does not show
    go to the top with the field's label (their names are metadata, their text is escaped)."""
    top, by_field = [], {}
    rules = (exc.details or {}).get("rules") or []
    for r in rules:
        top.append(r["message"])
    for name, msgs in (exc.fields or {}).items():
        if name in shown:
            by_field.setdefault(name, []).extend(msgs)
        elif not rules:
            f = field_def(obj, name)
            label = f.label if f is not None else ("Record" if name == "_record" else name)
            top.extend(f"{label}: {m}" for m in msgs)
    if not top and not by_field:
        top.append(exc.message)
    elif not top and by_field and not rules:
        top.append("Please fix the highlighted fields.")
    return top, by_field
