"""JSON-Schema validation of metadata documents, with messages a person can act on.

The schemas in `metadata/schemas/` (draft 2020-12) are the public contract of the metadata format.
This module loads them once, validates one document at a time and turns jsonschema's errors into
`MetaError`s: one error per problem, a dotted path to the offending value, a plain message.

    fields.amount.type: 'curency' is not a field type (expected one of: text, textarea, ...)
    fields.stage.values: required for picklist fields
    fields.x.colour: unknown property 'colour'

Messages come from the schema's non-standard `x-messages` keyword when it has one for the failing
keyword (so the schema file carries its own wording), otherwise from generic templates below.
Checks a schema cannot express on its own (a numeric field's scale against its precision) are done
here too, so that every document-local problem is reported at the same stage.
"""
from __future__ import annotations

import datetime as _dt
import difflib
import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry
from referencing.jsonschema import DRAFT202012

import tessera

from .errors import MetaError

KINDS = ("package", "object", "object_extension", "layout", "layout_patch", "list_view", "app",
         # security metadata (metadata/README.md, "Security metadata")
         "profile", "permission_set", "permission_set_group", "role", "sharing_rule",
         "workflow", "email_template", "approval_process", "org_settings", "report", "dashboard",
         "duplicate_rule", "conversion", "data_patch")

SCHEMA_BASE = "https://tessera.dev/schemas/"
_NUMERIC_PRECISION = {"number": 18, "currency": 18, "percent": 5}  # README defaults


def schema_dir() -> Path:
    """Where the schemas live: $TESSERA_SCHEMA_DIR, else the repository's metadata/schemas/."""
    env = os.environ.get("TESSERA_SCHEMA_DIR")
    if env:
        return Path(env)
    return Path(tessera.__file__).resolve().parents[2] / "metadata" / "schemas"


def schema_for(kind: str) -> dict:
    """The JSON Schema of one metadata kind (for publishing, editors, OpenAPI...)."""
    _check_kind(kind)
    return _load(str(schema_dir().resolve()))[kind].schema


def validate_document(kind: str, data: object, source: str) -> list[MetaError]:
    """Check one metadata document (parsed YAML) against the schema of its kind.

    Returns the problems found, in document order; [] when the document is valid. `source` is
    only used to label the errors (the file the document came from).
    """
    _check_kind(kind)
    validator = _load(str(schema_dir().resolve()))[kind]
    problems: list[tuple[tuple, int, str]] = []   # (path, priority, message)
    for error in validator.iter_errors(data):
        leaf = best_match([error])  # descends into anyOf/oneOf context to the most relevant cause
        path, message = _describe(leaf)
        problems.append((path, _PRIORITY.get(leaf.validator, len(_PRIORITY)), message))
    if kind in ("object", "object_extension"):
        problems.extend((path, 99, message) for path, message in _scale_problems(data))
    best: dict[tuple, tuple[int, str]] = {}
    for path, priority, message in problems:       # one error per offending value
        if path not in best or priority < best[path][0]:
            best[path] = (priority, message)
    ordered = sorted(best, key=lambda p: _document_order(data, p))
    return [MetaError(source, ".".join(_show_key(step) for step in path), best[path][1]) for path in ordered]


# --------------------------------------------------------------------------- loading

def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown metadata kind {kind!r} (expected one of: {', '.join(KINDS)})")


@lru_cache(maxsize=None)
def _regex(pattern: str) -> re.Pattern:
    # JSON Schema patterns are ECMA-262 regexes; Python's `$` also matches before a final "\n",
    # which would let "name\n" pass as an identifier. A trailing `$` means end of string here.
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def _pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not _regex(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _required(validator, required, instance, schema):
    # One error per missing property, located at the property itself (fields.stage.values).
    if not validator.is_type(instance, "object"):
        return
    for name in required:
        if name not in instance:
            yield ValidationError(f"{name!r} is a required property", path=(name,))


def _additional_properties(validator, allowed, instance, schema):
    # One error per unknown property, located at the property itself (fields.x.colour).
    if not validator.is_type(instance, "object"):
        return
    known = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = [k for k in instance
              if k not in known and not (isinstance(k, str) and any(_regex(p).search(k) for p in patterns))]
    if validator.is_type(allowed, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], allowed, path=extra)
    elif allowed is False:
        for extra in extras:
            yield ValidationError(f"unknown property {_show_key(extra)!r}", path=(extra,))


_Validator = validators.extend(
    Draft202012Validator,
    {"pattern": _pattern, "required": _required, "additionalProperties": _additional_properties},
)


@lru_cache(maxsize=4)
def _load(directory: str) -> dict[str, Any]:
    folder = Path(directory)
    schemas = {}
    for path in sorted(folder.glob("*.schema.json")):
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RuntimeError(f"{path}: cannot load schema: {exc}") from exc
        if os.environ.get("TESSERA_SCHEMA_DIR"):
            # another folder's schemas are checked as schemas first; Tessera's own are checked by
            # its tests (tests/meta/test_schemas.py), not again on every start (~0.3 s of CPU)
            Draft202012Validator.check_schema(schema)
        schemas[path.name] = schema
    missing = [k for k in KINDS if f"{k}.schema.json" not in schemas]
    if missing:
        raise RuntimeError(f"{folder}: missing schema(s) for {', '.join(missing)}")
    registry = Registry().with_resources(
        (schema["$id"], DRAFT202012.create_resource(schema)) for schema in schemas.values())
    return {kind: _Validator(schemas[f"{kind}.schema.json"], registry=registry) for kind in KINDS}


# --------------------------------------------------------------------------- messages

# When one value fails several keywords (pattern and maxLength...), the first of these wins.
_PRIORITY = {k: i for i, k in enumerate(
    ["type", "required", "additionalProperties", "enum", "const", "not", "pattern", "minLength",
     "maxLength", "minimum", "maximum", "minItems", "uniqueItems"])}

_TYPE_NAMES = {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "true or false",
               "object": "a mapping", "array": "a list", "null": "nothing"}


def _show(value: Any) -> str:
    """A value as the author wrote it (YAML-ish), short."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    return repr(value)


def _show_key(key: Any) -> str:
    """A step of an error's path: keys are the author's text too, so a huge one is cut."""
    key = str(key)
    return key if len(key) <= 60 else key[:57] + "..."


def _fill(template: str, **values: str) -> str:
    # Plain replacement, not str.format: messages contain literal braces ("{0...} group").
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template


def _describe(error: ValidationError) -> tuple[tuple, str]:
    path = tuple(error.absolute_path)
    keyword = error.validator
    instance = error.instance
    if "propertyNames" in error.absolute_schema_path:
        path = path + (instance,)  # the offending key: fields.id, not fields
    schema = error.schema if isinstance(error.schema, dict) else {}
    custom = (schema.get("x-messages") or {}).get(keyword)

    value = _show(instance)
    if not path and isinstance(instance, str):
        # A file that is one string is not metadata at all (a text file, a stray document):
        # say so without quoting it.
        value = "a string (the file is not a YAML mapping)"
    expected = ""
    if keyword == "required" or keyword == "additionalProperties":
        value = repr(path[-1]) if path else ""
        expected = ", ".join(schema.get("properties", {}))
    elif keyword == "enum":
        expected = ", ".join(_show(v).strip("'") for v in error.validator_value)
    elif keyword == "const":
        expected = _show(error.validator_value)
    if custom:
        return path, _fill(custom, value=value, expected=expected, limit=str(error.validator_value))
    return path, _generic_message(error, keyword, instance, schema, value, expected)


def _generic_message(error, keyword, instance, schema, value, expected) -> str:
    limit = error.validator_value
    if keyword == "type":
        types = [limit] if isinstance(limit, str) else list(limit)
        message = f"expected {' or '.join(_TYPE_NAMES.get(t, t) for t in types)}, got {value}"
        if "string" in types and isinstance(instance, (bool, int, float, _dt.date)):
            message += " (quote it in YAML)"
        return message
    if keyword == "required":
        return "required"
    if keyword == "additionalProperties":
        name = error.absolute_path[-1] if error.absolute_path else ""
        message = f"unknown property {_show_key(name)!r}"
        close = difflib.get_close_matches(str(name), list(schema.get("properties", {})), n=1, cutoff=0.75)
        return message + (f" (did you mean '{close[0]}'?)" if close else "")
    if keyword == "enum":
        return f"{value} is not allowed (expected one of: {expected})"
    if keyword == "const":
        return f"must be {expected}"
    if keyword == "pattern":
        return f"{value} does not match the pattern {limit}"
    if keyword == "minLength":
        return "must not be empty" if limit == 1 else f"is too short (at least {limit} characters)"
    if keyword == "maxLength":
        return f"is too long (at most {limit} characters)"
    if keyword in ("minimum", "exclusiveMinimum"):
        return f"{value} is too small (the minimum is {limit}{', exclusive' if keyword.startswith('ex') else ''})"
    if keyword in ("maximum", "exclusiveMaximum"):
        return f"{value} is too large (the maximum is {limit}{', exclusive' if keyword.startswith('ex') else ''})"
    if keyword in ("minItems", "minProperties"):
        return "must not be empty" if limit == 1 else f"needs at least {limit} entries"
    if keyword in ("maxItems", "maxProperties"):
        return f"has too many entries (at most {limit})"
    if keyword == "uniqueItems":
        seen, duplicates = [], []
        for item in instance:
            if item in seen and item not in duplicates:
                duplicates.append(item)
            seen.append(item)
        return ", ".join(_show(d) for d in duplicates) + " listed more than once"
    if keyword in ("not", None, False) or error.validator_value is False:
        return "not allowed here"
    if keyword in ("anyOf", "oneOf"):
        return f"{value} does not match any allowed form"
    # jsonschema's own message repr()s the whole value: kept only while it is short
    return error.message if len(error.message) <= 120 else f"{value} is not valid here ({keyword})"


def _document_order(data: Any, path: tuple) -> tuple:
    """Sort key: where a path points in the document (keys in YAML order; missing keys last)."""
    key, node = [], data
    for step in path:
        if isinstance(node, dict):
            keys = list(node)
            key.append((keys.index(step), "") if step in node else (len(keys), str(step)))
            node = node.get(step)
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            key.append((step, ""))
            node = node[step]
        else:
            key.append((0, str(step)))
            node = None
    return tuple(key)


# --------------------------------------------------------------------------- beyond the schema

def _scale_problems(data: Any) -> Iterator[tuple[tuple, str]]:
    """A number/currency/percent field's scale cannot exceed its precision (JSON Schema cannot compare)."""
    fields = data.get("fields") if isinstance(data, dict) else None
    if not isinstance(fields, dict):
        return
    for name, field in fields.items():
        if not isinstance(field, dict) or field.get("type") not in _NUMERIC_PRECISION:
            continue
        scale, precision = field.get("scale"), field.get("precision")
        if not _is_int(scale) or (precision is not None and not _is_int(precision)):
            continue  # a type problem, reported by the schema
        if precision is None:
            precision = _NUMERIC_PRECISION[field["type"]]
            if scale > precision:
                yield (("fields", name, "scale"),
                       f"{scale} is more than the precision ({field['type']} fields default to {precision} digits)")
        elif scale > precision:
            yield ("fields", name, "scale"), f"{scale} is more than the precision ({precision})"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
