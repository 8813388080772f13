"""The OpenAPI description of duplicate rules in the API (records/duplicates.py): the
allow_duplicates parameter of writes, the warnings a write returns, the duplicates route."""
from __future__ import annotations

from ..records.merge import MAX_MERGED
from .openapi_automation import _error, _json

ALLOW_DUPLICATES = {
    "name": "allow_duplicates", "in": "query", "required": False, "schema": {"type": "boolean", "default": False},
    "description": "Save despite block duplicate rules that allow an override (allow_override); a rule that does "
                   "not still refuses the write (409 duplicates_found, `overridable: false`)."}


def duplicate_schemas() -> dict:
    finding = {"type": "object", "required": ["rule", "label", "action", "matches", "hidden", "message"], "properties": {
        "rule": {"type": "string"}, "label": {"type": "string"},
        "action": {"type": "string", "enum": ["block", "warn"]},
        "allow_override": {"type": "boolean"},
        "matches": {"type": "array", "items": {"type": "object", "required": ["id", "name", "score"], "properties": {
            "id": {"type": "string", "format": "uuid"},
            "name": {"type": "string", "description": "the record's name (its id when the name is hidden from you)"},
            "score": {"type": "number", "description": "similarity, 1 for an exact match"}}},
            "description": "the matching records you may see, best first"},
        "hidden": {"type": "integer", "description": "matching records you may not see (counted, not named)"},
        "rows": {"type": "array", "items": {"type": "integer"},
                 "description": "a bulk write: the indexes of earlier rows of the same write it matches"},
        "message": {"type": "string"}}}
    return {"DuplicateFinding": finding,
            "DuplicateList": {"type": "object", "required": ["duplicates"], "properties": {
                "duplicates": {"type": "array", "items": {"$ref": "#/components/schemas/DuplicateFinding"}}}}}


WARNINGS_PROPERTY = {
    "type": "array", "items": {"$ref": "#/components/schemas/DuplicateFinding"},
    "description": "A create or update only, when warn duplicate rules (or overridden block rules) found "
                   "possible duplicates: the record was saved."}


def duplicate_path(name: str, label: str, id_param: dict, errors: dict) -> dict:
    return {"get": {
        "operationId": f"duplicates_{name}", "summary": f"Possible duplicates of a {label}",
        "description": "The records the object's active duplicate rules match the saved record with now "
                       "(itself excluded); records you may not see are counted as hidden.",
        "tags": [name], "parameters": [id_param],
        "responses": {"200": _json("DuplicateList"), **errors, "404": _error()}}}


def merge_schemas() -> dict:
    return {"MergeInput": {"type": "object", "required": ["master", "duplicates"], "additionalProperties": False,
                           "properties": {
                               "master": {"type": "string", "format": "uuid", "description": "the record kept"},
                               "duplicates": {"type": "array", "minItems": 1, "maxItems": MAX_MERGED, "uniqueItems": True,
                                              "items": {"type": "string", "format": "uuid"},
                                              "description": "the records merged into it, then deleted"},
                               "values": {"type": "object", "description": "field values for the master (a PATCH "
                                                                         "body), e.g. chosen from the duplicates"}}},
            "MergeResult": {"type": "object", "required": ["record", "merged", "moved"], "properties": {
                "record": {"type": "object", "description": "the master as it is after the merge"},
                "merged": {"type": "array", "items": {"type": "string", "format": "uuid"}},
                "moved": {"type": "object", "additionalProperties": {"type": "integer"},
                          "description": "records moved to the master, by object.field (and attachments)"}}}}


def merge_path(name: str, plural: str, errors: dict) -> dict:
    return {"post": {
        "operationId": f"merge_{name}", "summary": f"Merge duplicate {plural} into one",
        "description": "In one transaction: every lookup and related record of the duplicates moves to the master, "
                       "their field history too, the duplicates are deleted and the master takes `values`. Needs "
                       "edit on the master and delete on the duplicates.",
        "tags": [name],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/MergeInput"}}}},
        "responses": {"200": _json("MergeResult"), **errors, "409": _error(), "422": _error()}}}
