"""`/api/v1`: one generic JSON REST blueprint dispatching on the object name.

Views are thin: authenticate, parse the request, call the record service, shape the response.
"""
from __future__ import annotations

import re

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.routing import BaseConverter

from ..records.errors import BadQuery, Forbidden, RecordError, ValidationFailed
from .describe import describe_object, list_objects

api = Blueprint("api", __name__)
_DIGITS = re.compile(r"[0-9]{1,12}")  # ASCII only: str.isdigit() accepts '¹', which int() refuses
# An ETag as this API sends it ("7", or W/"7"), or *. Anything else is a malformed header (400).
IF_MATCH = re.compile(r'\s*(\*|(W/)?"[0-9]{1,12}"|[0-9]{1,12})\s*')
IF_MATCH_PATTERN = r'^\s*(\*|(W/)?"[0-9]{1,12}"|[0-9]{1,12})\s*$'   # the same, for the OpenAPI document
MAX_BULK_ROWS = 10_000
# `\ud800`…`\udfff` escapes: only a body holding one can decode to a lone surrogate (raw UTF-8 cannot)
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class RecordIdConverter(BaseConverter):
    """A record id segment: anything but `bulk`, `aggregate` and `merge`, so `/records/x/bulk` is only
    the bulk route (OPTIONS and 405 answers list its methods, not the record routes'), and likewise
    aggregate and merge."""
    regex = r"(?!(?:bulk|aggregate|merge)(?:/|$))[^/]+"



def services():
    return current_app.extensions["tessera"]


def error(status: int, code: str, message: str, **extra):
    return jsonify(error={"code": code, "message": message, **extra}), status


@api.errorhandler(RecordError)
def record_error(exc: RecordError):
    return jsonify(error=exc.to_dict()), exc.status


def _bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def token_actor():
    """The Actor of this request's bearer token, or None; looked up once per request (the rate
    limits key on it before `authenticate` runs: web/rate_limits.py)."""
    if "token_actor" not in g:
        token = _bearer_token()
        g.token_actor = services().identity.actor_for_token(token) if token else None
    return g.token_actor


@api.before_request
def authenticate():
    if _bearer_token() is None:
        return _unauthorized("missing bearer token (Authorization: Bearer TOKEN)")
    actor = token_actor()
    if actor is None:
        return _unauthorized("invalid, expired or revoked token")
    g.actor = actor
    if not services().runtimes.current().security.access_for(actor).system("api_access"):
        return error(403, "forbidden", "your profile does not include API access (api_access)")
    for key, value in request.args.items(multi=True):
        if "\x00" in key or "\x00" in value:   # PostgreSQL refuses NUL in text: refused on every database
            raise BadQuery(f"query parameter {key!r} must not contain the NUL character (%00)")
    return None


def _unauthorized(message):
    response, status = error(401, "unauthorized", message)
    response.headers["WWW-Authenticate"] = 'Bearer realm="tessera"'
    return response, status


def _json_body(expect):
    # not `request.data`: that parses the body as form data first (~0.1 ms a request)
    try:
        data = request.get_json(silent=True, force=True)
    except RecursionError:
        raise BadQuery("the request body is nested too deeply") from None
    if data is None:
        raise BadQuery("the request body must be JSON")
    if _SURROGATE_ESCAPE.search(request.get_data(cache=True)) and _has_lone_surrogate(data):
        raise BadQuery("the request body holds a lone UTF-16 surrogate escape (\\ud800-\\udfff): not text")
    if not isinstance(data, expect):
        raise ValidationFailed(f"the request body must be a JSON {'object' if expect is dict else 'array'}")
    return data


def _has_lone_surrogate(data) -> bool:
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _etag(version: int) -> str:
    return f'"{version}"'


def _if_match() -> int | None:
    header = request.headers.get("If-Match")
    if header is None:
        return None
    if not IF_MATCH.fullmatch(header):
        raise BadQuery('If-Match must be an ETag this API sent (e.g. "3") or *')
    value = header.strip().removeprefix("W/").strip('"')
    return None if value == "*" else int(value)


def _allow_duplicates() -> bool:
    """?allow_duplicates=true: save despite block duplicate rules that allow an override."""
    text = request.args.get("allow_duplicates", "false").lower()
    if text not in ("true", "false", "1", "0"):
        raise BadQuery("allow_duplicates must be true or false", details={"parameter": "allow_duplicates"})
    return text in ("true", "1")


ACCESS_HEADER = "Tessera-Record-Access"   # read / edit / full: what the caller may do to the record


def _record_response(record: dict, status: int = 200):
    version = record.pop("_row_version", None)
    level = record.pop("_access", None)   # a header, so the record's JSON keeps the shape of its schema
    response = jsonify(record)
    response.status_code = status
    if version is not None:
        response.headers["ETag"] = _etag(version)
    if level is not None:
        response.headers[ACCESS_HEADER] = level
    return response


@api.get("/objects")
def objects():
    runtime = services().runtimes.current()
    return jsonify(objects=list_objects(runtime, runtime.security.access_for(g.actor)))


@api.get("/objects/<name>")
def describe(name):
    runtime = services().runtimes.current()
    return jsonify(describe_object(runtime, name, runtime.security.access_for(g.actor)))


@api.get("/records/<object_name>")
def query(object_name):
    args = request.args
    known = {"filter", "sort", "fields", "limit", "cursor", "count", "q"}
    unknown = sorted(set(args) - known)
    if unknown:
        raise BadQuery(f"unknown query parameter(s): {', '.join(unknown)}")
    limit_text = args.get("limit", "50")
    if not _DIGITS.fullmatch(limit_text):
        raise BadQuery("limit must be an integer from 1 to 1000")
    count_text = args.get("count", "false").lower()
    if count_text not in ("true", "false", "1", "0"):
        raise BadQuery("count must be true or false")
    result = services().records.query(
        g.actor, object_name, filter=args.get("filter"), sort=args.get("sort") or None,
        fields=args.get("fields") or None, limit=int(limit_text), cursor=args.get("cursor") or None,
        count=count_text in ("true", "1"), search=args.get("q"))
    body = {"records": result.records, "next_cursor": result.next_cursor}
    if result.total is not None:
        body["total"] = result.total
    return jsonify(body)


@api.post("/records/<object_name>")
def create(object_name):
    record = services().records.create(g.actor, object_name, _json_body(dict), allow_duplicates=_allow_duplicates())
    response = _record_response(record, 201)
    response.headers["Location"] = f"/api/v1/records/{object_name}/{record['id']}"
    return response


@api.post("/records/<object_name>/bulk")
def bulk_create(object_name):
    rows = _json_body(list)
    if len(rows) > MAX_BULK_ROWS:
        return error(413, "too_many_rows",
                     f"at most {MAX_BULK_ROWS:,} rows per request ({len(rows):,} sent): send them in several "
                     f"requests, or import a CSV file with `tessera import {object_name} FILE.csv`, which has "
                     f"no row limit", max_rows=MAX_BULK_ROWS)
    warnings: list = []
    ids = services().records.bulk_create(g.actor, object_name, rows, allow_duplicates=_allow_duplicates(),
                                         warnings=warnings)
    return jsonify(ids=ids, count=len(ids), **({"warnings": warnings} if warnings else {})), 201


@api.get("/records/<object_name>/<record_id:record_id>")
def get(object_name, record_id):
    fields = request.args.get("fields") or None
    return _record_response(services().records.get(g.actor, object_name, record_id, fields=fields, with_access=True))


@api.patch("/records/<object_name>/<record_id:record_id>")
def patch(object_name, record_id):
    data = _json_body(dict)
    record = services().records.update(g.actor, object_name, record_id, data, expected_version=_if_match(),
                                       allow_duplicates=_allow_duplicates())
    return _record_response(record)


@api.put("/records/<object_name>/by/<field>/<path:value>")
def upsert(object_name, field, value):
    """Create or update the record whose external id `field` is `value` (records/upsert.py)."""
    data = _json_body(dict)
    conditional = request.headers.get("If-Match") is not None
    record, created = services().records.upsert(g.actor, object_name, field, value, data,
                                                 expected_version=_if_match(), must_exist=conditional,
                                                 allow_duplicates=_allow_duplicates())
    response = _record_response(record, 201 if created else 200)
    if created:
        response.headers["Location"] = f"/api/v1/records/{object_name}/{record['id']}"
    return response


@api.delete("/records/<object_name>/<record_id:record_id>")
def delete(object_name, record_id):
    services().records.delete(g.actor, object_name, record_id, expected_version=_if_match())
    return "", 204


@api.post("/records/<object_name>/merge")
def merge(object_name):
    """Merge duplicates into a master record, in one transaction (records/merge.py)."""
    body = _json_body(dict)
    unknown = sorted(set(body) - {"master", "duplicates", "values"})
    if unknown or "master" not in body or "duplicates" not in body:
        raise ValidationFailed("expected {master, duplicates, values}: the master record's id, the ids of the "
                               "records merged into it, and optionally field values for the master",
                               fields={k: ["is not a merge property"] for k in unknown} or
                               {k: ["is required"] for k in ("master", "duplicates") if k not in body})
    if not isinstance(body["master"], str) or not isinstance(body["duplicates"], list) or \
            not all(isinstance(d, str) for d in body["duplicates"]):
        raise ValidationFailed("master is a record id, duplicates a list of record ids",
                               fields={"master": ["a record id"], "duplicates": ["a list of record ids"]})
    result = services().records.merge(g.actor, object_name, body["master"], body["duplicates"], body.get("values"))
    return jsonify(result)


@api.get("/records/<object_name>/<record_id:record_id>/duplicates")
def record_duplicates(object_name, record_id):
    """The saved record's possible duplicates under the object's active duplicate rules."""
    return jsonify(duplicates=services().records.duplicates(g.actor, object_name, record_id))


@api.get("/records/<object_name>/<record_id:record_id>/history")
def record_history(object_name, record_id):
    args = request.args
    unknown = sorted(set(args) - {"limit", "cursor"})
    if unknown:
        raise BadQuery(f"unknown query parameter(s): {', '.join(unknown)}")
    limit_text = args.get("limit", "50")
    if not _DIGITS.fullmatch(limit_text):
        raise BadQuery("limit must be an integer from 1 to 1000")
    result = services().records.history(g.actor, object_name, record_id, limit=int(limit_text),
                                        cursor=args.get("cursor") or None)
    return jsonify(entries=result.records, next_cursor=result.next_cursor)


@api.get("/records/<object_name>/<record_id:record_id>/shares")
def list_shares(object_name, record_id):
    return jsonify(shares=services().shares.list(g.actor, object_name, record_id))


@api.post("/records/<object_name>/<record_id:record_id>/shares")
def create_share(object_name, record_id):
    return jsonify(services().shares.share(g.actor, object_name, record_id, _json_body(dict))), 201


@api.delete("/records/<object_name>/<record_id:record_id>/shares/<share_id>")
def delete_share(object_name, record_id, share_id):
    services().shares.unshare(g.actor, object_name, record_id, share_id)
    return "", 204


@api.get("/audit")
def audit_log():
    from ..security import audit
    access = services().runtimes.current().security.access_for(g.actor)
    if not (access.system("manage_users") or access.system("customize_metadata")):
        raise Forbidden("the audit log is for admins (manage_users or customize_metadata)")
    limit_text, before = request.args.get("limit", "100"), request.args.get("before")
    if not _DIGITS.fullmatch(limit_text) or not 1 <= int(limit_text) <= 1000:
        raise BadQuery("limit must be an integer from 1 to 1000")
    if before is not None and not _DIGITS.fullmatch(before):
        raise BadQuery("before must be an entry id")
    entries = audit.entries(services().engine, limit=int(limit_text), before_id=int(before) if before else None,
                            action=request.args.get("action") or None)
    return jsonify(entries=entries)


@api.get("/openapi.json")
def openapi():
    from .openapi import openapi_document
    runtime = services().runtimes.current()
    return jsonify(openapi_document(runtime, runtime.security.access_for(g.actor)))
