"""Field editor: the field types offered, and a posted form ↔ a field document.

The form posts every property by name (`label`, `max_length`, `pv_value`/`pv_label` rows of the
picklist editor, ...). Only the properties the chosen type takes (per object.schema.json) are
read, so switching the type in the browser cannot smuggle stray keys into the metadata; whatever
is left unset is omitted (the metadata keeps its documented defaults).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ...meta.durations import parse_duration
from ...meta.fieldtypes import COMPUTED_TYPES, FORMULA_RETURN_TYPES
from .orgedit import allowed_field_props, prop_default

TYPE_GROUPS = [
    ("Text", [("text", "Text", "One line, up to 4,000 characters"),
              ("textarea", "Text Area", "Several lines of plain text"),
              ("rich_text", "Rich Text", "Formatted text (sanitized HTML)"),
              ("email", "Email", "A validated email address"),
              ("phone", "Phone", "A phone number"),
              ("url", "URL", "An http(s) web address")]),
    ("Numbers", [("integer", "Integer", "Whole numbers"),
                 ("number", "Number", "Decimals with a precision and scale"),
                 ("currency", "Currency", "Money amounts"),
                 ("percent", "Percent", "50 means 50 %"),
                 ("duration", "Duration", "A length of time, typed as 1h 30m (stored in seconds)")]),
    ("Choices", [("picklist", "Picklist", "One value from a list"),
                 ("multi_picklist", "Multi-Select Picklist", "Several values from a list"),
                 ("boolean", "Checkbox", "True or false")]),
    ("Dates", [("date", "Date", "A calendar day"),
               ("datetime", "Date/Time", "A moment (stored in UTC)"),
               ("time", "Time", "A time of day")]),
    ("Relationships", [("lookup", "Lookup", "Links to a record of another object"),
                       ("master_detail", "Master-Detail", "A child record owned by its parent"),
                       ("rows", "Rows", "Child records edited with this record, in a grid (line items)")]),
    ("Computed", [("formula", "Formula", "Calculated from other fields"),
                  ("rollup", "Roll-Up Summary", "Count, sum, min or max of child records"),
                  ("autonumber", "Auto Number", "A unique, generated number like CASE-00001")]),
    ("Other", [("geolocation", "Geolocation", "A latitude and longitude (filter by DISTANCE from a point)"),
               ("file", "File", "One uploaded file, e.g. a signed contract (type sniffed, download follows the record)"),
               ("image", "Image", "One picture shown on the record page and as a thumbnail in lists (PNG, JPEG, GIF or WebP)"),
               ("json", "JSON", "Any JSON value (for integrations)")]),
]
TYPE_LABELS = {t: label for _g, items in TYPE_GROUPS for t, label, _d in items}
TEXT_LENGTH_TYPES = ("text", "textarea", "rich_text", "email", "phone", "url")
DECIMAL_TYPES = ("number", "currency", "percent")
BOOL_PROPS = ("required", "unique", "external_id", "indexed", "read_only")


def prop_types() -> dict[str, str]:
    """Property → the field types that take it (space-separated, for the editor's data-types)."""
    out: dict[str, list[str]] = {}
    for ftype in TYPE_LABELS:
        for key in allowed_field_props(ftype):
            out.setdefault(key, []).append(ftype)
    return {k: " ".join(v) for k, v in out.items()}


class FieldFormError(Exception):
    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))


def describe_type(fdoc_or_def) -> str:
    """Text(80), Lookup(Account), Formula (Currency), Picklist (5 values)..."""
    get = fdoc_or_def.get if isinstance(fdoc_or_def, dict) else (lambda k, d=None: _def_get(fdoc_or_def, k, d))
    ftype = get("type")
    label = TYPE_LABELS.get(ftype, ftype)
    if ftype in TEXT_LENGTH_TYPES and get("max_length"):
        return f"{label} ({get('max_length')})"
    if ftype in DECIMAL_TYPES and get("precision") is not None:
        return f"{label} ({get('precision')}, {get('scale', 2)})"
    if ftype in ("lookup", "master_detail"):
        return f"{label} → {get('to')}"
    if ftype == "rows":
        return f"{label} of {get('object')}"
    if ftype == "formula":
        return f"{label} ({TYPE_LABELS.get(get('returns'), get('returns'))})"
    if ftype in ("picklist", "multi_picklist"):
        n = len(get("values") or ())
        return f"{label} ({n} value{'s' if n != 1 else ''})"
    if ftype == "rollup":
        return f"{label} ({(get('function') or '').upper()} {get('object')})"
    return label


@dataclass(frozen=True)
class RowsField:
    """A rows field (meta RowsDef, kept apart from an object's fields) as the field editor lists,
    describes and edits it: with a type and the options the other fields have."""
    name: str
    label: str
    help: str | None
    options: dict
    type: str = "rows"
    required: bool = False
    unique: bool = False

    @classmethod
    def of(cls, rows) -> "RowsField":
        return cls(rows.name, rows.label, rows.help, {"object": rows.object, "relationship": rows.relationship,
                                                      "max_rows": rows.max_rows})


def _def_get(fdef, key, default=None):
    if key in ("type", "label", "help", "required", "unique", "indexed", "default", "default_expression", "read_only"):
        return getattr(fdef, key, default)
    return fdef.options.get(key, default)


# --------------------------------------------------------------------------- parsing

def _int(form, key, errors, *, lo=None, hi=None):
    raw = (form.get(key) or "").strip()
    if raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        errors.setdefault(key, []).append("enter a whole number")
        return None
    if lo is not None and value < lo or hi is not None and value > hi:
        errors.setdefault(key, []).append(f"must be between {lo} and {hi}")
        return None
    return value


def _duration(form, key, errors):
    """A duration typed in the form, kept as the admin wrote it ("1h 30m") when it parses."""
    raw = (form.get(key) or "").strip()
    if not raw:
        return None
    try:
        parse_duration(raw)
    except ValueError as exc:
        errors.setdefault(key, []).append(str(exc))
        return None
    return raw


def _number(form, key, errors, *, integer=False):
    raw = (form.get(key) or "").strip()
    if raw == "":
        return None
    try:
        value = Decimal(raw)
        if not value.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        errors.setdefault(key, []).append("enter a number")
        return None
    if integer:
        if value != value.to_integral_value():
            errors.setdefault(key, []).append("enter a whole number")
            return None
        return int(value)
    return int(value) if value == value.to_integral_value() and "." not in raw else float(raw)


def _text(form, key):
    value = (form.get(key) or "").strip()
    return value or None


def picklist_values(form) -> list:
    values = []
    for value, label in zip(form.getlist("pv_value"), form.getlist("pv_label")):
        value, label = value.strip(), label.strip()
        if not value:
            continue
        values.append({"value": value, "label": label} if label and label != value else value)
    return values


def field_doc_from_form(form, field_type: str, *, history_default: bool = False) -> dict:
    """The field document the form describes. Raises FieldFormError with per-input messages.
    `history_default` is the object's track_history: the field says `track_history` only when the
    checkbox differs from it (the field inherits otherwise, and the YAML stays clean)."""
    if field_type not in TYPE_LABELS:
        raise FieldFormError({"type": [f"'{field_type}' is not a field type"]})
    allowed = allowed_field_props(field_type)
    errors: dict[str, list[str]] = {}
    doc: dict = {"type": field_type}
    label = _text(form, "label")
    if label:
        doc["label"] = label
    if "help" in allowed and _text(form, "help"):
        doc["help"] = _text(form, "help")
    for key in BOOL_PROPS:
        if key in allowed and form.get(key) and not (key == "required" and field_type == "master_detail"):
            doc[key] = True
    if "track_history" in allowed and bool(form.get("track_history")) != history_default:
        doc["track_history"] = bool(form.get("track_history"))
    if field_type in TEXT_LENGTH_TYPES:
        v = _int(form, "max_length", errors, lo=1, hi=1048576)
        if v is not None:
            doc["max_length"] = v
    if field_type in DECIMAL_TYPES:
        for key in ("precision", "scale"):
            v = _int(form, key, errors, lo=0, hi=38)
            if v is not None:
                doc[key] = v
    if field_type == "geolocation":   # decimals of each part (default 6)
        v = _int(form, "scale", errors, lo=0, hi=10)
        if v is not None:
            doc["scale"] = v
    if field_type in ("integer", "duration", *DECIMAL_TYPES):
        for key in ("min", "max"):
            v = (_duration(form, key, errors) if field_type == "duration"
                 else _number(form, key, errors, integer=field_type == "integer"))
            if v is not None:
                doc[key] = v
    if field_type in ("picklist", "multi_picklist"):
        values = picklist_values(form)
        if not values:
            errors.setdefault("values", []).append("add at least one value")
        seen = set()
        for v in values:
            key = v["value"] if isinstance(v, dict) else v
            if key in seen:
                errors.setdefault("values", []).append(f"'{key}' is listed twice")
            if field_type == "multi_picklist" and ";" in key:
                errors.setdefault("values", []).append(f"'{key}': a value of a multi-select picklist cannot contain ';'")
            seen.add(key)
        doc["values"] = values
        if not form.get("restricted"):
            doc["restricted"] = False
    if field_type in ("lookup", "master_detail"):
        target = _text(form, "to")
        if not target:
            errors.setdefault("to", []).append("choose the related object")
        else:
            doc["to"] = target
        if field_type == "lookup":
            on_delete = _text(form, "on_delete")
            if on_delete and on_delete != "set_null":
                doc["on_delete"] = on_delete
        if _text(form, "relationship_label"):
            doc["relationship_label"] = _text(form, "relationship_label")
        if "hierarchy" in allowed and form.get("hierarchy"):
            doc["hierarchy"] = True   # validation refuses it unless the lookup points to its own object
    if field_type == "formula":
        returns = _text(form, "returns")
        if returns not in FORMULA_RETURN_TYPES:
            errors.setdefault("returns", []).append("choose what the formula returns")
        else:
            doc["returns"] = returns
        expression = _text(form, "expression")
        if not expression:
            errors.setdefault("expression", []).append("enter the formula")
        else:
            doc["expression"] = expression
        v = _int(form, "formula_scale", errors, lo=0, hi=18)
        if v is not None and returns in DECIMAL_TYPES:
            doc["scale"] = v
    if field_type == "rollup":
        relation = _text(form, "rollup_relation") or ""
        if "." not in relation:
            errors.setdefault("rollup_relation", []).append("choose the child relationship")
        else:
            doc["object"], doc["relationship"] = relation.split(".", 1)
        function = _text(form, "function")
        if function not in ("count", "sum", "min", "max"):
            errors.setdefault("function", []).append("choose count, sum, min or max")
        else:
            doc["function"] = function
        if function and function != "count":
            child_field = _text(form, "rollup_field")
            if not child_field:
                errors.setdefault("rollup_field", []).append("choose the child field to aggregate")
            else:
                doc["field"] = child_field
        if _text(form, "rollup_filter"):
            doc["filter"] = _text(form, "rollup_filter")
    if field_type == "rows":
        relation = _text(form, "rows_relation") or ""
        if "." not in relation:
            errors.setdefault("rows_relation", []).append("choose the child object (a master-detail child of this one)")
        else:
            doc["object"], doc["relationship"] = relation.split(".", 1)
        v = _int(form, "max_rows", errors, lo=1, hi=1000)
        if v is not None and v != 1000:
            doc["max_rows"] = v
    if field_type == "autonumber":
        fmt = _text(form, "format")
        if not fmt:
            errors.setdefault("format", []).append("enter a format such as CASE-{00000}")
        else:
            doc["format"] = fmt
        v = _int(form, "start", errors, lo=0, hi=10**15)
        if v is not None and v != 1:
            doc["start"] = v
    if field_type not in COMPUTED_TYPES and field_type != "autonumber":
        default = _default_value(form, field_type, doc, errors)
        if default is not None and "default" in allowed:
            doc["default"] = default
        if "default_expression" in allowed and _text(form, "default_expression"):
            if "default" in doc:
                errors.setdefault("default_expression", []).append("give a default value or a default expression, not both")
            doc["default_expression"] = _text(form, "default_expression")
    if errors:
        raise FieldFormError(errors)
    return {k: v for k, v in doc.items() if k == "type" or k in allowed}


def _default_value(form, field_type, doc, errors):
    if field_type == "boolean":
        return True if form.get("default_checked") else None
    if field_type in ("lookup", "master_detail", "json", "file", "image"):
        return None
    raw = (form.get("default") or "").strip()
    if raw == "":
        return None
    if field_type == "integer":
        return _number(form, "default", errors, integer=True)
    if field_type == "duration":
        return _duration(form, "default", errors)
    if field_type in DECIMAL_TYPES:
        return _number(form, "default", errors)
    if field_type == "date":
        try:
            dt.date.fromisoformat(raw)
        except ValueError:
            errors.setdefault("default", []).append("enter a date as YYYY-MM-DD")
        return raw
    if field_type == "time":
        try:
            dt.time.fromisoformat(raw)
        except ValueError:
            errors.setdefault("default", []).append("enter a time as HH:MM or HH:MM:SS")
        return raw
    if field_type == "datetime":
        try:
            dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            errors.setdefault("default", []).append("enter a date and time as YYYY-MM-DDTHH:MM")
        return raw
    if field_type == "multi_picklist":
        return [v.strip() for v in raw.split(";") if v.strip()]
    return raw


# --------------------------------------------------------------------------- prefill

def form_values(fdoc: dict | None, *, history_default: bool = False) -> dict:
    """A field document → the values the form's inputs show (`history_default`: the object's
    track_history, which a field without its own setting follows)."""
    fdoc = dict(fdoc or {})
    ftype = fdoc.get("type", "text")
    out = {k: v for k, v in fdoc.items() if not isinstance(v, (list, dict))}
    for key in ("required", "unique", "external_id", "indexed", "read_only"):
        out[key] = bool(fdoc.get(key, prop_default(ftype, key)))
    out["track_history"] = bool(fdoc.get("track_history", history_default))
    out["restricted"] = fdoc.get("restricted", True)
    out["values"] = [(v["value"], v.get("label", "")) if isinstance(v, dict) else (v, "")
                     for v in fdoc.get("values") or ()]
    default = fdoc.get("default")
    out["default_checked"] = default is True
    out["default"] = ";".join(default) if isinstance(default, list) else ("" if default is None or isinstance(default, bool) else default)
    if ftype == "formula":
        out["formula_scale"] = fdoc.get("scale", "")
    if ftype == "rows":
        out["rows_relation"] = f"{fdoc.get('object')}.{fdoc.get('relationship')}"
    if ftype == "rollup":
        out["rollup_relation"] = f"{fdoc.get('object')}.{fdoc.get('relationship')}"
        out["rollup_field"] = fdoc.get("field", "")
        out["rollup_filter"] = fdoc.get("filter", "")
    return out


def form_values_from_post(form) -> dict:
    """What the admin typed, to show again after an error (nothing typed is lost)."""
    out = {k: form.get(k) for k in form.keys() if k not in ("pv_value", "pv_label", "csrf_token")}
    for key in ("required", "unique", "external_id", "indexed", "read_only", "track_history", "restricted",
                "default_checked", "add_related_list"):
        out[key] = bool(form.get(key))
    out["values"] = list(zip(form.getlist("pv_value"), form.getlist("pv_label")))
    return out


def patch_from_form(form, field_type: str, keys) -> dict:
    """The customizable properties of a package field as the form sets them (every key given,
    None = not set): OrgEditor.patch_package_field keeps only what differs from the package."""
    errors: dict[str, list[str]] = {}
    out: dict = {}
    allowed = set(allowed_field_props(field_type))
    for key in keys:
        if key not in allowed:
            continue
        if key in ("label", "help", "relationship_label", "default_expression"):
            out[key] = _text(form, key)
        elif key in ("required", "unique", "external_id", "indexed", "read_only", "restricted", "track_history"):
            out[key] = bool(form.get(key))
        elif key == "values":
            out[key] = picklist_values(form)
            if not out[key]:
                errors.setdefault("values", []).append("add at least one value")
        elif key == "max_length":
            out[key] = _int(form, key, errors, lo=1, hi=1048576)
        elif key in ("min", "max"):
            out[key] = (_duration(form, key, errors) if field_type == "duration"
                        else _number(form, key, errors, integer=field_type == "integer"))
        elif key == "default":
            out[key] = _default_value(form, field_type, {}, errors)
    if errors:
        raise FieldFormError(errors)
    return out
