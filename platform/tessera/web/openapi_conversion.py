"""The OpenAPI description of record conversions (tessera/conversion): the preview and the convert
routes of each object that has a conversion."""
from __future__ import annotations

from .openapi_automation import _error, _json

_CHOICE = {"type": "object", "additionalProperties": False, "properties": {
    "id": {"type": "string", "format": "uuid", "description": "use this existing record (targets with `existing`)"},
    "values": {"type": "object", "description": "field values over the mapped ones, for a new record"},
    "skip": {"type": "boolean", "description": "leave the target out (targets that are not required)"}}}


def conversion_schemas() -> dict:
    target = {"type": "object", "required": ["name", "object", "label", "required", "existing", "values"], "properties": {
        "name": {"type": "string"}, "object": {"type": "string"}, "label": {"type": "string"},
        "required": {"type": "boolean"}, "existing": {"type": "boolean"},
        "values": {"type": "object", "description": "what a new record would get, mapped from the converted one"},
        "links": {"type": "object", "additionalProperties": {"type": "string"}},
        "duplicates": {"type": "array", "items": {"$ref": "#/components/schemas/DuplicateFinding"},
                       "description": "existing records the target object's duplicate rules match, to use instead"}}}
    return {
        "ConversionPreview": {"type": "object", "required": ["conversion", "label", "convertible", "targets"], "properties": {
            "conversion": {"type": "string"}, "label": {"type": "string"}, "object": {"type": "string"},
            "record": {"type": "object"}, "convertible": {"type": "boolean"},
            "reason": {"type": ["string", "null"], "description": "why the record cannot be converted now"},
            "targets": {"type": "array", "items": target}}},
        "ConversionInput": {"type": "object", "additionalProperties": False, "properties": {
            "conversion": {"type": "string", "description": "which conversion, when the object has several"},
            "targets": {"type": "object", "additionalProperties": _CHOICE,
                        "description": "per target name: an existing record, values over the mapped ones, or skip"},
            "allow_duplicates": {"type": "boolean", "description": "create despite block rules that allow an override"}}},
        "ConversionResult": {"type": "object", "required": ["conversion", "record", "targets", "moved"], "properties": {
            "conversion": {"type": "string"},
            "record": {"type": "object", "description": "the converted record, marked"},
            "targets": {"type": "object", "additionalProperties": {"type": ["object", "null"], "properties": {
                "id": {"type": "string", "format": "uuid"}, "created": {"type": "boolean"}}}},
            "moved": {"type": "object", "additionalProperties": {"type": "integer"},
                      "description": "records moved to a target, by object.field (and attachments)"}}},
    }


def conversion_path(name: str, label: str, id_param: dict, errors: dict) -> dict:
    return {
        "get": {"operationId": f"conversion_preview_{name}", "summary": f"Preview converting a {label}",
                "description": "What each target would get and the existing records to use instead; nothing changes.",
                "tags": [name], "parameters": [id_param],
                "responses": {"200": _json("ConversionPreview"), **errors}},
        "post": {"operationId": f"convert_{name}", "summary": f"Convert a {label}",
                 "description": "In one transaction: the targets are created (or chosen), related activities and "
                                "attachments move, other objects' lookups follow, and the record is marked. 409 "
                                "not_convertible when its condition no longer holds.",
                 "tags": [name], "parameters": [id_param],
                 "requestBody": {"required": False, "content": {"application/json": {"schema": {
                     "$ref": "#/components/schemas/ConversionInput"}}}},
                 "responses": {"201": _json("ConversionResult", "converted"), **errors, "409": _error(), "422": _error()}}}
