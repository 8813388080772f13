"""OpenAPI 3.1 document generated from the Runtime (cached per Runtime: built once per version)."""
from __future__ import annotations

import weakref

_cache: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()

_STRING_FORMATS = {"email": "email", "url": "uri", "date": "date", "datetime": "date-time", "time": "time",
                   "lookup": "uuid", "master_detail": "uuid"}
_SCALAR = {"integer": "integer", "number": "number", "currency": "number", "percent": "number",
           "boolean": "boolean"}


def _nullable(schema: dict) -> dict:
    t = schema.get("type")
    if isinstance(t, str):
        schema["type"] = [t, "null"]
    elif "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    return schema


def field_schema(f, metadata=None) -> dict:
    t = f.type
    if t == "formula":
        t = f.options["returns"]
    if t == "rollup":
        schema = {"type": "number"}
    elif t in _SCALAR:
        schema = {"type": _SCALAR[t]}
    elif t == "picklist":
        schema = {"type": "string"}
        if f.options.get("restricted", True):
            schema["enum"] = f.picklist_values
    elif t == "multi_picklist":
        item = {"type": "string"}
        if f.options.get("restricted", True):
            item["enum"] = f.picklist_values
        schema = {"type": "array", "items": item}
    elif t == "json":
        schema = {}
    else:
        schema = {"type": "string"}
        if t in _STRING_FORMATS:
            schema["format"] = _STRING_FORMATS[t]
        if f.options.get("max_length") and t not in ("lookup", "master_detail"):
            schema["maxLength"] = f.options["max_length"]
    if f.label:
        schema["title"] = f.label
    if f.help:
        schema["description"] = f.help
    if f.read_only or f.type in ("formula", "rollup", "autonumber"):
        schema["readOnly"] = True
    return _nullable(schema) if schema else schema


def _system_properties() -> dict:
    uid = {"type": "string", "format": "uuid"}
    ts = {"type": "string", "format": "date-time", "readOnly": True}
    return {"id": {**uid, "readOnly": True}, "owner": {"type": ["string", "null"], "format": "uuid"},
            "created_at": ts, "created_by": {"type": ["string", "null"], "format": "uuid", "readOnly": True},
            "updated_at": ts, "updated_by": {"type": ["string", "null"], "format": "uuid", "readOnly": True}}


def _error_ref():
    return {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _json(schema_ref: str, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": schema_ref}}}}


def openapi_document(runtime) -> dict:
    cached = _cache.get(runtime)
    if cached is None:
        cached = _cache[runtime] = _build(runtime)
    return cached


def _build(runtime) -> dict:
    schemas: dict = {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                           "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
                           "rows": {"type": "array", "items": {"type": "object"}},
                           "rules": {"type": "array", "items": {"type": "object"}}}}}},
        "FieldHistory": {"type": "object", "required": ["entries", "next_cursor"], "properties": {
            "entries": {"type": "array", "items": {
                "type": "object", "required": ["id", "field", "old_value", "new_value", "changed_by", "changed_at"],
                "properties": {"id": {"type": "integer"}, "field": {"type": "string"},
                               "old_value": {"description": "the value before, as the API shows the field"},
                               "new_value": {"description": "the value after, as the API shows the field"},
                               "changed_by": {"type": ["string", "null"], "format": "uuid"},
                               "changed_at": {"type": "string", "format": "date-time"}}}},
            "next_cursor": {"type": ["string", "null"]}}},
    }
    paths: dict = {
        "/objects": {"get": {"operationId": "listObjects", "summary": "List objects", "tags": ["metadata"],
                             "responses": {"200": {"description": "objects"}, "401": _error_ref()}}},
        "/objects/{name}": {"get": {"operationId": "describeObject", "summary": "Describe an object", "tags": ["metadata"],
                                    "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
                                    "responses": {"200": {"description": "the object's fields"}, "401": _error_ref(), "404": _error_ref()}}},
    }
    errors = {code: _error_ref() for code in ("400", "401", "403", "404")}
    for obj in sorted(runtime.metadata.objects.values(), key=lambda o: o.name):
        name = obj.name
        title = "".join(part.capitalize() for part in name.split("_"))
        props = _system_properties()
        props.update({f.name: field_schema(f) for f in obj.fields.values()})
        schemas[title] = {"type": "object", "title": obj.label, "properties": props}
        writable = {f.name: field_schema(f) for f in obj.stored_fields if not f.read_only and f.type != "autonumber"}
        writable["owner"] = {"type": ["string", "null"], "format": "uuid"}
        required = [f.name for f in obj.stored_fields if f.required and f.name in writable and f.default is None
                    and not f.default_expression]
        schemas[f"{title}Input"] = {"type": "object", "properties": writable, "additionalProperties": False,
                                    **({"required": required} if required else {})}
        schemas[f"{title}Patch"] = {"type": "object", "properties": writable, "additionalProperties": False}
        schemas[f"{title}List"] = {"type": "object", "required": ["records", "next_cursor"], "properties": {
            "records": {"type": "array", "items": {"$ref": f"#/components/schemas/{title}"}},
            "next_cursor": {"type": ["string", "null"]}, "total": {"type": "integer"}}}
        ref = f"#/components/schemas/{title}"
        id_param = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
        if_match = {"name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"},
                    "description": "The ETag of the version you edited: 412 if the record changed since."}
        body = lambda s: {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{s}"}}}}  # noqa: E731
        tags = [name]
        paths[f"/records/{name}"] = {
            "get": {"operationId": f"list_{name}", "summary": f"Query {obj.plural_label}", "tags": tags,
                    "parameters": [
                        {"name": "filter", "in": "query", "schema": {"type": "string"}, "description": "an expression, e.g. amount > 1000 and stage == 'Closed Won'"},
                        {"name": "sort", "in": "query", "schema": {"type": "string"}, "description": "comma-separated fields; '-' for descending"},
                        {"name": "fields", "in": "query", "schema": {"type": "string"}, "description": "comma-separated fields or lookup paths"},
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}},
                        {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                        {"name": "count", "in": "query", "schema": {"type": "boolean"}}],
                    "responses": {"200": _json(f"#/components/schemas/{title}List"), **errors}},
            "post": {"operationId": f"create_{name}", "summary": f"Create a {obj.label}", "tags": tags,
                     "requestBody": body(f"{title}Input"),
                     "responses": {"201": _json(ref, "created"), **errors, "409": _error_ref(), "422": _error_ref()}},
        }
        paths[f"/records/{name}/bulk"] = {
            "post": {"operationId": f"bulk_create_{name}", "summary": f"Create many {obj.plural_label} (all or nothing)",
                     "tags": tags,
                     "requestBody": {"required": True, "content": {"application/json": {"schema": {
                         "type": "array", "items": {"$ref": f"#/components/schemas/{title}Input"}}}}},
                     "responses": {"201": {"description": "created", "content": {"application/json": {"schema": {
                         "type": "object", "properties": {"ids": {"type": "array", "items": {"type": "string"}},
                                                          "count": {"type": "integer"}}}}}},
                                   **errors, "409": _error_ref(), "422": _error_ref()}},
        }
        paths[f"/records/{name}/{{id}}"] = {
            "get": {"operationId": f"get_{name}", "summary": f"Get a {obj.label}", "tags": tags, "parameters": [id_param],
                    "responses": {"200": {**_json(ref), "headers": {
                        "ETag": {"schema": {"type": "string"}, "description": "the record's version, for If-Match"},
                        "Tessera-Record-Access": {"schema": {"type": "string", "enum": ["read", "edit", "full"]},
                                                  "description": "what you may do to this record: only read it, "
                                                                 "edit it, or edit and delete it"}}}, **errors}},
            "patch": {"operationId": f"update_{name}", "summary": f"Update a {obj.label}", "tags": tags,
                      "parameters": [id_param, if_match], "requestBody": body(f"{title}Patch"),
                      "responses": {"200": _json(ref), **errors, "409": _error_ref(), "412": _error_ref(), "422": _error_ref()}},
            "delete": {"operationId": f"delete_{name}", "summary": f"Delete a {obj.label}", "tags": tags,
                       "parameters": [id_param, if_match],
                       "responses": {"204": {"description": "deleted"}, **errors, "409": _error_ref(), "412": _error_ref()}},
        }
        if obj.history_fields:
            paths[f"/records/{name}/{{id}}/history"] = {"get": {
                "operationId": f"history_{name}", "summary": f"Field history of a {obj.label} (newest first)",
                "description": "Changes to tracked fields; fields you cannot read are left out.",
                "tags": tags, "parameters": [
                    id_param,
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}},
                    {"name": "cursor", "in": "query", "schema": {"type": "string"}}],
                "responses": {"200": _json("#/components/schemas/FieldHistory"), **errors}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Tessera REST API", "version": str(runtime.version or 0),
                 "description": "Generated from metadata version %s." % (runtime.version,)},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
