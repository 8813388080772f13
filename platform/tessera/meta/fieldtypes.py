"""The field types of the metadata language: their type-specific defaults and expression types.

Storage (column types), validation (marshmallow fields) and OpenAPI schemas live in the layers that
own them; this table only says what the metadata means, so `meta` and `expr` stay storage-free.
"""

TEXT_TYPES = {"text", "textarea", "rich_text", "email", "phone", "url", "picklist", "autonumber"}
NUMERIC_TYPES = {"number", "currency", "percent"}
# a file field references a core `file` record; an image field is a file field whose file must be a
# raster image (shown inline: the record page and lists draw it)
FILE_TYPES = frozenset({"file", "image"})
RELATION_TYPES = {"lookup", "master_detail"} | FILE_TYPES
# the images an image field takes: what browsers draw and files/sniff.py recognizes from the bytes.
# Not SVG: it is a document that can carry script, so it is never shown inline (files/sniff.INLINE).
IMAGE_CONTENT_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
COMPUTED_TYPES = {"formula", "rollup"}
# the types global search can index (`searchable: true`): stored text a person types or reads
SEARCHABLE_TYPES = ("text", "email", "phone", "url", "textarea", "picklist", "autonumber")
# the types that may be `encrypted: true` (tessera/encryption): free text a person types, which may
# be sensitive; picklist values and autonumbers are not secrets, and rich text is rendered as HTML
ENCRYPTABLE_TYPES = ("text", "textarea", "email", "phone", "url")

# Per-type defaults for optional properties (see metadata/README.md).
TYPE_DEFAULTS: dict[str, dict] = {
    "text": {"max_length": 255},
    "textarea": {"max_length": 32000},
    "rich_text": {"max_length": 131072},
    "email": {"max_length": 254},
    "phone": {"max_length": 40},
    "url": {"max_length": 2048},
    "integer": {},
    "duration": {},
    "geolocation": {"scale": 6},
    "number": {"precision": 18, "scale": 2},
    "currency": {"precision": 18, "scale": 2},
    "percent": {"precision": 5, "scale": 2},
    "boolean": {"default": False},
    "date": {},
    "datetime": {},
    "time": {},
    "picklist": {"restricted": True},
    "multi_picklist": {"restricted": True},
    "lookup": {"on_delete": "set_null"},
    "master_detail": {"on_delete": "cascade"},
    # one uploaded file (tessera/files): a reference to a `file` record, which the platform fills on
    # upload; clearing or deleting the record deletes the file unless something else still uses it
    "file": {"to": "file", "on_delete": "set_null"},
    # a file field taking only images (`accept` may narrow IMAGE_CONTENT_TYPES, never widen them)
    "image": {"to": "file", "on_delete": "set_null", "accept": list(IMAGE_CONTENT_TYPES)},
    # a reference to a record of one of several objects (meta/related.py): object + id columns
    "related_to": {"on_delete": "set_null"},
    "formula": {"scale": 2},
    "rollup": {},
    "autonumber": {"start": 1},
    "json": {},
    "rows": {"max_rows": 1000},   # child records edited as rows: meta.model.RowsDef, not a FieldDef
}

FIELD_TYPES = tuple(TYPE_DEFAULTS)

# Formula `returns` values and the expression type each field type has.
# `image`: the result of IMAGE(url, alt [, height, width]), shown as a picture (expr/images.py); it
# can only be shown, never compared, filtered or sorted on
FORMULA_RETURN_TYPES = ("text", "number", "currency", "percent", "integer", "boolean", "date", "datetime", "image")

_EXPR_TYPE = {
    **{t: "text" for t in TEXT_TYPES},
    "multi_picklist": "text",
    "integer": "integer",
    "duration": "integer",      # seconds
    **{t: "number" for t in NUMERIC_TYPES},
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
    "time": "time",
    "lookup": "id",
    "master_detail": "id",
    "file": "id",
    "image": "id",
    "related_to": "id",             # the record's id; `related_to.object` is its object's name (text)
    "geolocation": "geolocation",   # a point: DISTANCE, LATITUDE, LONGITUDE, ISBLANK take it
}

SYSTEM_FIELDS = ("id", "owner", "created_at", "created_by", "updated_at", "updated_by", "row_version")
USER_LINKS = frozenset({"owner", "created_by", "updated_by"})   # system fields that are lookups to user
SYSTEM_FIELD_EXPR_TYPES = {
    "id": "id", "owner": "id", "created_by": "id", "updated_by": "id",
    "created_at": "datetime", "updated_at": "datetime", "row_version": "integer",
}


def accepts(accept, content_type: str | None) -> bool:
    """Does a file field's `accept` list (exact types, or families like image/*) take `content_type`?"""
    if not accept:
        return True
    content_type = content_type or ""
    return any(p == content_type or (p.endswith("/*") and content_type.startswith(p[:-1])) for p in accept)


def formula_expr_type(returns: str) -> str:
    """The expression type a formula returning `returns` gives (`image` is its own type, not an image
    field's id: it is the picture IMAGE() describes)."""
    if returns == "image":
        return "image"
    return _EXPR_TYPE.get(returns, returns)


def expr_type_of(field) -> str | None:
    """The expression-language type of a field (None: not usable in expressions, e.g. json)."""
    if field.type == "formula":
        return formula_expr_type(field.options["returns"])
    if field.type == "rollup":
        return "integer" if field.options["function"] == "count" else None  # resolved by the model
    return _EXPR_TYPE.get(field.type)


def value_type(md, field) -> str:
    """The type of the values a field holds, as the API shows them: a formula's `returns`; a
    roll-up's aggregate (count: integer; sum, min, max: the summarized field's value type)."""
    if field.type == "formula":
        return field.options["returns"]
    if field.type == "rollup":
        if field.options["function"] == "count":
            return "integer"
        child = md.objects.get(field.options["object"])
        source = child.fields.get(field.options.get("field") or "") if child else None
        return value_type(md, source) if source is not None else "number"
    return field.type
