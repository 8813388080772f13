"""OpenAPI 3.1 document generated from the Runtime, as the caller may see the API: objects they
cannot read are absent, and so are fields they cannot read (records) or edit (inputs). Built once
per metadata version and permission combination (cached on the Runtime's lifetime)."""
from __future__ import annotations

import threading
import weakref

from ..records.reads import MAX_LIST_SEARCH, MAX_PATHS
from .api import IF_MATCH_PATTERN, MAX_BULK_ROWS
from .openapi_aggregate import aggregate_path, aggregate_schemas
from .openapi_approvals import approval_paths, approval_schemas
from .openapi_automation import automation_paths, automation_schemas
from .openapi_currency import currency_paths, currency_schemas
from .openapi_activities import activity_paths, activity_schemas
from .openapi_files import file_paths, file_schemas
from .openapi_search import search_paths, search_schemas
from .openapi_conversion import conversion_path, conversion_schemas
from .openapi_duplicates import (ALLOW_DUPLICATES, WARNINGS_PROPERTY, duplicate_path, duplicate_schemas, merge_path,
                                 merge_schemas)
from .openapi_reports import report_paths, report_schemas
from .openapi_fields import NO_NUL, input_schema, natural_key_input, output_schema
from .openapi_hooks import hook_paths
from .openapi_rows import rows_input, rows_output

_cache: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()   # Runtime -> {rights: document}
_lock = threading.Lock()

def _path_list(limit: int, descending: bool) -> str:
    """Comma-separated field paths, as records.service.parse_paths reads them (blanks around each;
    empty: the default)."""
    path = ("-?" if descending else "") + "[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*){0,4}"
    item = f"\\s*{path}\\s*"
    return f"^({item}(,{item}){{0,{limit - 1}}})?$"


def _system_properties() -> dict:
    uid = {"type": "string", "format": "uuid"}
    ts = {"type": "string", "format": "date-time", "readOnly": True}
    return {"id": {**uid, "readOnly": True}, "owner": {"type": ["string", "null"], "format": "uuid"},
            "created_at": ts, "created_by": {"type": ["string", "null"], "format": "uuid", "readOnly": True},
            "updated_at": ts, "updated_by": {"type": ["string", "null"], "format": "uuid", "readOnly": True}}


def _document_rate_limits(paths: dict) -> None:
    """Every operation limited by TESSERA_RATE_LIMIT_API (web/rate_limits.py) may answer 429."""
    from .rate_limits import rate_limit_setting
    limit = rate_limit_setting("TESSERA_RATE_LIMIT_API")
    if limit is None:
        return
    answer = {**_error_ref(), "description": f"too many requests (the API allows {limit} per user and per "
                                             "address): wait Retry-After seconds",
              "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}}}
    for path, operations in paths.items():
        if path.startswith("/hooks/"):
            continue   # inbound webhooks are signed by their senders, not limited
        for operation in operations.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].setdefault("429", answer)


def _error_ref():
    return {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _json(schema_ref: str, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": schema_ref}}}}


def openapi_document(runtime, access) -> dict:
    """The document for `access`'s permission combination (its Rights; None for the system actor)."""
    with _lock:
        per_rights = _cache.setdefault(runtime, {})
    document = per_rights.get(access.rights)
    if document is None:
        document = per_rights[access.rights] = _build(runtime, access)
    return document


def _object_title(name: str, platform_schemas: frozenset) -> str:
    """An object's schema name (user_report → UserReport), with a "Record" suffix where that name,
    or its Input/Patch/List companion, is taken by a schema of the platform's own routes."""
    title = "".join(part.capitalize() for part in name.split("_"))
    if any(title + suffix in platform_schemas for suffix in ("", "Input", "Patch", "List")):
        title += "Record"
    return title


def _build(runtime, access) -> dict:
    schemas: dict = {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                           "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
                           "rows": {"type": "array", "items": {"type": "object"}},
                           "duplicates": {"type": "array", "items": {"$ref": "#/components/schemas/DuplicateFinding"}},
                           "overridable": {"type": "boolean"},
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
    for platform_part in (approval_schemas(), automation_schemas(), currency_schemas(), aggregate_schemas(),
                          file_schemas(), report_schemas(), activity_schemas(),
                          search_schemas(), duplicate_schemas(), merge_schemas(), conversion_schemas()):
        schemas.update(platform_part)
    platform_schemas = frozenset(schemas)
    paths: dict = {
        "/objects": {"get": {"operationId": "listObjects", "summary": "List objects", "tags": ["metadata"],
                             "responses": {"200": {"description": "objects"}, "401": _error_ref()}}},
        "/objects/{name}": {"get": {"operationId": "describeObject", "summary": "Describe an object", "tags": ["metadata"],
                                    "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
                                    "responses": {"200": {"description": "the object's fields"}, "401": _error_ref(), "404": _error_ref()}}},
    }
    errors = {code: _error_ref() for code in ("400", "401", "403", "404")}
    md = runtime.metadata
    for obj in sorted(md.objects.values(), key=lambda o: o.name):
        name = obj.name
        if not access.can(name, "read"):
            continue
        title = _object_title(name, platform_schemas)
        props = _system_properties()
        props.update({f.name: output_schema(f, md) for f in obj.fields.values() if access.can_read_field(name, f.name)})
        props.update(rows_output(obj, md, access))
        deduped = bool(runtime.objects[name].duplicate_rules)
        if deduped:
            props["_warnings"] = WARNINGS_PROPERTY
        schemas[title] = {"type": "object", "title": obj.label, "properties": props}
        editable = [f for f in obj.stored_fields if not f.read_only and f.type != "autonumber"
                    and access.can_edit_field(name, f.name)]
        writable = {f.name: natural_key_input(f, md, input_schema(f, md, required=f.required), access.can_read_field)
                    for f in editable}
        if access.can_edit_field(name, "owner"):
            writable["owner"] = {"type": "string", "format": "uuid",   # never blank: every record has an owner
                                 "description": "The owning user (default: the creator); null or \"\" is refused."}
        writable.update(rows_input(obj, md, access))
        required = [f.name for f in editable if f.required and f.default is None and not f.default_expression]
        schemas[f"{title}Input"] = {"type": "object", "properties": writable, "additionalProperties": False,
                                    **({"required": required} if required else {})}
        schemas[f"{title}Patch"] = {"type": "object", "properties": writable, "additionalProperties": False}
        schemas[f"{title}List"] = {"type": "object", "required": ["records", "next_cursor"], "properties": {
            "records": {"type": "array", "items": {"$ref": f"#/components/schemas/{title}"}},
            "next_cursor": {"type": ["string", "null"]}, "total": {"type": "integer"}}}
        ref = f"#/components/schemas/{title}"
        id_param = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
        if_match = {"name": "If-Match", "in": "header", "required": False,
                    "schema": {"type": "string", "pattern": IF_MATCH_PATTERN},
                    "description": "The ETag of the version you edited (or *): 412 if the record changed since; "
                                   "400 if it is not an ETag this API sends."}
        body = lambda s: {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{s}"}}}}  # noqa: E731
        tags = [name]
        paths[f"/records/{name}"] = {
            "get": {"operationId": f"list_{name}", "summary": f"Query {obj.plural_label}", "tags": tags,
                    "parameters": [
                        {"name": "filter", "in": "query", "schema": {"type": "string", "pattern": "\\S"},
                         "description": "an expression, e.g. amount > 1000 and stage == 'Closed Won' (not blank)"},
                        {"name": "sort", "in": "query", "schema": {"type": "string", "pattern": _path_list(MAX_PATHS["sort"], True)},
                         "description": f"comma-separated fields; '-' for descending (at most {MAX_PATHS['sort']})"},
                        {"name": "fields", "in": "query", "schema": {"type": "string", "pattern": _path_list(MAX_PATHS["fields"], False)},
                         "description": f"comma-separated fields or lookup paths (at most {MAX_PATHS['fields']})"},
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}},
                        {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                        {"name": "count", "in": "query", "schema": {"type": "boolean"}},
                        {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": MAX_LIST_SEARCH},
                         "description": "search: records with every word (by prefix) in a searchable field you "
                                        "may read (the full-text index; an object without one: in its name), "
                                        "within the filter, in the sort order"}],
                    "responses": {"200": _json(f"#/components/schemas/{title}List"), **errors}},
            "post": {"operationId": f"create_{name}", "summary": f"Create a {obj.label}", "tags": tags,
                     "parameters": [ALLOW_DUPLICATES], "requestBody": body(f"{title}Input"),
                     "responses": {"201": _json(ref, "created"), **errors, "409": _error_ref(), "422": _error_ref()}},
        }
        paths[f"/records/{name}/bulk"] = {
            "post": {"operationId": f"bulk_create_{name}", "summary": f"Create many {obj.plural_label} (all or nothing)",
                     "tags": tags,
                     "description": f"At most {MAX_BULK_ROWS:,} rows a request (413 beyond): for more, import a "
                                    f"CSV file with `tessera import {name} FILE.csv`.",
                     "parameters": [ALLOW_DUPLICATES],
                     "requestBody": {"required": True, "content": {"application/json": {"schema": {
                         "type": "array", "maxItems": MAX_BULK_ROWS,
                         "items": {"$ref": f"#/components/schemas/{title}Input"}}}}},
                     "responses": {"201": {"description": "created", "content": {"application/json": {"schema": {
                         "type": "object", "properties": {"ids": {"type": "array", "items": {"type": "string"}},
                                                          "count": {"type": "integer"},
                                                          "warnings": {"type": "array", "items": {"type": "object"},
                                                                       "description": "possible duplicates of rows "
                                                                       "(warn rules): {index, ...DuplicateFinding}"}}}}}},
                                   **errors, "409": _error_ref(), "413": _error_ref(), "422": _error_ref()}},
        }
        paths[f"/records/{name}/aggregate"] = aggregate_path(name, obj.plural_label, errors)
        paths[f"/records/{name}/{{id}}"] = {
            "get": {"operationId": f"get_{name}", "summary": f"Get a {obj.label}", "tags": tags, "parameters": [id_param],
                    "responses": {"200": {**_json(ref), "headers": {
                        "ETag": {"schema": {"type": "string"}, "description": "the record's version, for If-Match"},
                        "Tessera-Record-Access": {"schema": {"type": "string", "enum": ["read", "edit", "full"]},
                                                  "description": "what you may do to this record: only read it, "
                                                                 "edit it, or edit and delete it"}}}, **errors}},
            "patch": {"operationId": f"update_{name}", "summary": f"Update a {obj.label}", "tags": tags,
                      "parameters": [id_param, if_match, ALLOW_DUPLICATES], "requestBody": body(f"{title}Patch"),
                      "responses": {"200": _json(ref), **errors, "409": _error_ref(), "412": _error_ref(), "422": _error_ref()}},
            "delete": {"operationId": f"delete_{name}", "summary": f"Delete a {obj.label}", "tags": tags,
                       "parameters": [id_param, if_match],
                       "responses": {"204": {"description": "deleted"}, **errors, "409": _error_ref(), "412": _error_ref()}},
        }
        external_ids = [f.name for f in obj.fields.values() if f.external_id and access.can_read_field(name, f.name)]
        if external_ids and (access.can(name, "create") or access.can(name, "edit")):
            paths[f"/records/{name}/by/{{field}}/{{value}}"] = {"put": {
                "operationId": f"upsert_{name}", "summary": f"Create or update a {obj.label} by an external id",
                "description": "Updates the record whose external id `field` is `value` (200), or creates one "
                               "with it (201), in one transaction; concurrent upserts of one key make one record. "
                               "The body may not give the key another value (422). With If-Match, only an "
                               "update (412 when there is no such record or it changed).",
                "tags": tags, "parameters": [
                    {"name": "field", "in": "path", "required": True, "schema": {"type": "string", "enum": external_ids}},
                    {"name": "value", "in": "path", "required": True,
                     "schema": {"type": "string", "minLength": 1, "pattern": NO_NUL}}, if_match, ALLOW_DUPLICATES],
                "requestBody": body(f"{title}Patch"),
                "responses": {"200": {**_json(ref), "headers": {"ETag": {"schema": {"type": "string"}}}},
                              "201": {**_json(ref, "created"), "headers": {"ETag": {"schema": {"type": "string"}}}},
                              **errors, "409": _error_ref(), "412": _error_ref(), "422": _error_ref()}}}
        if deduped:
            paths[f"/records/{name}/{{id}}/duplicates"] = duplicate_path(name, obj.label, id_param, errors)
        if access.can(name, "edit") and access.can(name, "delete"):
            paths[f"/records/{name}/merge"] = merge_path(name, obj.plural_label, errors)
        if access.can(name, "edit") and any(c.doc["object"] == name for c in md.conversions.values()):
            paths[f"/records/{name}/{{id}}/convert"] = conversion_path(name, obj.label, id_param, errors)
        if obj.history_fields:
            paths[f"/records/{name}/{{id}}/history"] = {"get": {
                "operationId": f"history_{name}", "summary": f"Field history of a {obj.label} (newest first)",
                "description": "Changes to tracked fields; fields you cannot read are left out.",
                "tags": tags, "parameters": [
                    id_param,
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}},
                    {"name": "cursor", "in": "query", "schema": {"type": "string"}}],
                "responses": {"200": _json("#/components/schemas/FieldHistory"), **errors}}}
    paths.update(approval_paths())       # every API user may submit, answer and read their requests
    paths.update(automation_paths(runtime, access))   # admin-only routes for admins only
    paths.update(hook_paths(runtime, access))         # the inbound webhooks, for admins
    paths.update(currency_paths(access))
    paths.update(report_paths())
    paths.update(file_paths(runtime, access))
    paths.update(activity_paths(runtime, access))
    paths.update(search_paths())
    _document_rate_limits(paths)
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
