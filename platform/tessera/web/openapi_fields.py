"""JSON Schemas of field values for the OpenAPI document: exactly what the record service returns
(output) and accepts (input) — records/coerce.py is the contract these schemas describe.

Input schemas say what the server enforces: bounds and digits of numbers (after rounding to the
field's scale, as the server rounds), no NUL in text (PostgreSQL cannot store it), a value for
required fields ("" and null mean "no value" to the server, so a required field refuses both).
Output schemas stay loose where old data may predate a metadata change (bounds, required).
"""
from __future__ import annotations

from decimal import Decimal

from jsonschema import Draft202012Validator, FormatChecker

from ..meta.durations import MAX_SECONDS
from ..meta.fieldtypes import value_type
from ..meta import related
from ..meta.geolocations import LIMITS as GEO_LIMITS, TEXT_PATTERN as GEO_TEXT_PATTERN
from ..records.coerce import BIGINT_MAX, JSON_MAX_DEPTH

_STRING_FORMATS = {"email": "email", "url": "uri", "date": "date", "datetime": "date-time",
                   "lookup": "uuid", "master_detail": "uuid", "file": "uuid", "image": "uuid"}
_NUMERIC = {"number", "currency", "percent"}
NO_NUL = "^[^\\u0000]*$"   # ECMA-262 and Python regex alike
_TEXT = {"text", "textarea", "rich_text", "email", "url", "phone", "picklist", "autonumber"}


def _type(schema: dict, nullable: bool) -> dict:
    t = schema.get("type")
    if nullable and isinstance(t, str):
        schema["type"] = [t, "null"]
    if nullable and "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    return schema


def _number(value) -> int | float:
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


def _decimal_bounds(f) -> dict:
    """What the server accepts, in JSON Schema terms: it rounds the number half away from zero to
    `scale` decimals, then refuses |rounded| >= 10**(precision - scale) and rounded values outside
    the field's min/max. So x is accepted iff lo' <= round(x) <= hi', which on x itself is a bound
    half a quantum out, inclusive or exclusive depending on which way the half rounds."""
    precision, scale = f.options["precision"], f.options["scale"]
    quantum = Decimal(1).scaleb(-scale)
    half = quantum / 2
    top = Decimal(10) ** (precision - scale) - quantum            # the largest rounded value
    hi, lo = top, -top
    if f.options.get("max") is not None:
        hi = min(hi, (Decimal(str(f.options["max"])) / quantum).to_integral_value(rounding="ROUND_FLOOR") * quantum)
    if f.options.get("min") is not None:
        lo = max(lo, (Decimal(str(f.options["min"])) / quantum).to_integral_value(rounding="ROUND_CEILING") * quantum)
    out = {}
    # round(x) <= hi: x < hi + half when hi >= 0 (the half rounds up, away from zero), else x <= hi + half
    out["exclusiveMaximum" if hi >= 0 else "maximum"] = _number(hi + half)
    out["exclusiveMinimum" if lo <= 0 else "minimum"] = _number(lo - half)
    return out


def _integer_bounds(f) -> dict:
    lo, hi = f.options.get("min"), f.options.get("max")
    return {"minimum": max(-BIGINT_MAX, lo) if lo is not None else -BIGINT_MAX,
            "maximum": min(BIGINT_MAX, hi) if hi is not None else BIGINT_MAX}


def _geolocation_schema(for_input: bool) -> dict:
    point = {"type": "object", "description": "a point: latitude and longitude in decimal degrees",
             "properties": {part: {"type": "number", "minimum": -limit, "maximum": limit}
                            for part, limit in GEO_LIMITS.items()},
             "required": list(GEO_LIMITS), "additionalProperties": False}
    if not for_input:
        return point
    return {"oneOf": [point, {"type": "string", "pattern": GEO_TEXT_PATTERN,
                              "description": 'the text "latitude, longitude", e.g. "48.8566, 2.3522"'}]}


def _related_schema(f, md, for_input: bool) -> dict:
    """{"object", "id"} (and the record's name on output, when the reader may see it); input also
    takes the text "object:id" (meta/related.py)."""
    objects = list(related.targets(md, f)) if md is not None else []
    ref = {"type": "object",
           "description": "a record of one of the objects this field takes" + (f" ({', '.join(objects)})" if objects else ""),
           "properties": {"object": {"type": "string", **({"enum": objects} if objects else {})},
                          "id": {"type": "string", "format": "uuid"}},
           "required": ["object", "id"]}
    if not for_input:
        ref["properties"]["name"] = {"type": ["string", "null"],
                                     "description": "the record's name (left out when you may not see the record)"}
        return ref
    ref["additionalProperties"] = False
    return {"oneOf": [ref, {"type": "string", "pattern": "^[a-z][a-z0-9_]*:[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?"
                                                         "[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$",
                            "description": 'the text "object:id", e.g. "account:0190…"'}]}


def _base(f, md, *, for_input: bool) -> dict:
    t = value_type(md, f) if md is not None else f.type
    if t in ("integer",):
        schema = {"type": "integer", **(_integer_bounds(f) if for_input else {})}
    elif t == "duration":   # seconds; input also takes text such as "1h 30m" (meta/durations.py)
        seconds = {"type": "integer", "minimum": 0, "maximum": MAX_SECONDS, "description": "seconds"}
        schema = ({"oneOf": [seconds, {"type": "string", "minLength": 1, "maxLength": 100,
                                       "description": "a duration such as 1h 30m, 45m or 2d 4h"}]}
                  if for_input else seconds)
    elif t == "related_to":    # two columns: the object and the id (meta/related.py)
        schema = _related_schema(f, md, for_input)
    elif t == "geolocation":   # two columns; input also takes "lat, lng" text (meta/geolocations.py)
        schema = _geolocation_schema(for_input)
    elif t in _NUMERIC:
        schema = {"type": "number", **(_decimal_bounds(f) if for_input else {})}
    elif t == "image" and f.type == "formula":   # IMAGE(url, alt [, height, width]) (expr/images.py)
        schema = _image_formula_schema()
    elif t == "boolean":
        schema = {"type": "boolean"}
    elif t == "picklist":
        schema = {"type": "string"}
        if f.options.get("restricted", True) and f.type == "picklist":
            schema["enum"] = list(f.picklist_values)
    elif t == "multi_picklist":
        item = {"type": "string"}
        if f.options.get("restricted", True) and f.type == "multi_picklist":
            item["enum"] = list(f.picklist_values)
        elif for_input:
            item["pattern"] = "^[^;\\u0000]*$"
        schema = {"type": "array", "items": item}
    elif t == "json":
        schema = {}
        if for_input:
            schema["description"] = (f"any JSON value without NUL characters, nested at most {JSON_MAX_DEPTH} "
                                     "levels deep")
    elif t == "time":
        # HH:MM[:SS[.ffffff]], as Python's time.fromisoformat reads it (JSON Schema's `time` format
        # demands an offset, which the server neither needs nor returns)
        schema = {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,6})?)?$"}
    else:
        schema = {"type": "string"}
        if t in _STRING_FORMATS:
            schema["format"] = _STRING_FORMATS[t]
        if f.options.get("max_length") and t not in ("lookup", "master_detail", "file", "image") and f.type == t:
            schema["maxLength"] = f.options["max_length"]
        if for_input and t in _TEXT:
            schema["pattern"] = NO_NUL
        if t == "file" and f.type == t:
            accept = f.options.get("accept")
            schema["description"] = ("the id of an uploaded file (POST /files, or one attached to a record); its "
                                     "content at /files/{id}/content" + (f"; takes {', '.join(accept)}" if accept else ""))
        if t == "image" and f.type == t:
            schema["description"] = ("the id of an uploaded image (POST /files); its content at /files/{id}/content; "
                                     f"takes {', '.join(f.options['accept'])} (sniffed from the bytes; never SVG)")
            schema["x-tessera-image"] = True
    return schema


def _image_formula_schema() -> dict:
    return {"type": "object", "x-tessera-image": True,
            "description": "a picture made by IMAGE(url, alt [, height, width]): pages show it as an image only "
                           "when the url is http(s) or a relative /app/ path",
            "properties": {"url": {"type": "string"}, "alt": {"type": "string"},
                           "height": {"type": ["integer", "null"]}, "width": {"type": ["integer", "null"]}},
            "required": ["url", "alt"]}


def _hierarchy(f, schema: dict) -> None:
    """A hierarchy field says so (x-tessera-hierarchy) and what the server refuses."""
    if f.is_hierarchy:
        note = (f"The parent in the {f.target} hierarchy: a record cannot be below itself (cycles are "
                f"refused with 422), and UNDER({f.name}, 'id or name') in a filter selects a subtree.")
        schema["description"] = f"{schema['description']} {note}" if schema.get("description") else note
        schema["x-tessera-hierarchy"] = True


def output_schema(f, md) -> dict:
    """A field's value in a record the API returns."""
    schema = _base(f, md, for_input=False)
    if f.label:
        schema["title"] = f.label
    if f.help:
        schema["description"] = f.help
    _hierarchy(f, schema)
    if f.read_only or f.type in ("formula", "rollup", "autonumber"):
        schema["readOnly"] = True
    never_null = f.type == "rollup" and f.options["function"] in ("count", "sum")   # coalesced to 0
    return _type(schema, not never_null) if schema.get("type") else schema


def optional(schema: dict) -> dict:
    """An optional input: null and "" both mean no value to the server (records/service.py)."""
    if Draft202012Validator(schema, format_checker=FormatChecker()).is_valid(""):
        return schema
    return {"anyOf": [schema, {"const": "", "description": "no value (like null)"}]}


def input_schema(f, md, *, required: bool) -> dict:
    """A value the create and update operations accept for the field. A required field refuses null
    and "" (the server reads "" as no value)."""
    schema = _base(f, md, for_input=True)
    if f.label:
        schema["title"] = f.label
    if f.help:
        schema["description"] = f.help
    _hierarchy(f, schema)
    if not required:
        return optional(_type(schema, True) if schema.get("type") else schema)
    if schema.get("type") == "string" and "enum" not in schema:
        schema["minLength"] = 1
    elif schema.get("type") == "array":
        schema["minItems"] = 1
    elif not schema.get("type"):   # json: any value but null and ""
        schema["not"] = {"enum": [None, ""]}
    return schema


def natural_key_input(f, md, schema: dict, readable) -> dict:
    """A lookup's input also takes {"key field": value}: the target's record named by a natural key
    (an external id, or its unique name field: records/natural_keys.py). `readable(object, field)`:
    keys the caller cannot read are not offered (the server refuses them). A related_to's input also
    takes {"object": …, "key field": value}, a natural key of one of the objects it takes."""
    if f.type == "related_to":
        return _related_key_input(f, md, schema, readable)
    target = md.objects.get(f.target) if f.is_relation else None
    keys = [k for k in target.natural_keys if readable(target.name, k)] if target is not None else []
    if not keys:
        return schema
    by_key = {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
              "properties": {k: optional(_type(_base(target.fields[k], md, for_input=True), True)) for k in keys},
              "description": f"the {target.name} whose {' or '.join(keys)} is this value (a natural key; "
                             "blank means no value)"}
    out = {"anyOf": [schema, by_key]}
    if schema.get("title"):
        out["title"] = schema["title"]
    return out


def _related_key_input(f, md, schema: dict, readable) -> dict:
    variants = []
    for name in related.targets(md, f):
        target = md.objects[name]
        keys = [k for k in target.natural_keys if readable(name, k)]
        if keys:
            variants.append({"type": "object", "required": ["object"], "minProperties": 2, "maxProperties": 2,
                             "additionalProperties": False,
                             "properties": {"object": {"const": name}, **{
                                 k: optional(_type(_base(target.fields[k], md, for_input=True), True)) for k in keys}}})
    if not variants:
        return schema
    by_key = {"oneOf": variants, "description": 'a record named by a natural key of its object, e.g. {"object": '
                                                '"account", "code": "C-17"} (records/natural_keys.py)'}
    out = {"anyOf": [schema, by_key]}
    if schema.get("title"):
        out["title"] = schema["title"]
    return out
