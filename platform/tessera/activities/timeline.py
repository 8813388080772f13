"""A record's timeline: its open tasks, then a feed of entries of every kind, newest first,
keyset-paged with one opaque cursor (each source's position; activities/sources.py).

Sharing: the record must be one the viewer can see (404 otherwise, like a missing one), and each
related activity is read through the record service as the viewer — so an activity shows on the
timeline only to those who may read both the record and the activity.
"""
from __future__ import annotations

import base64
import binascii
import heapq
import json
import uuid
from dataclasses import dataclass
from functools import cached_property

from ..records.coerce import parse_id
from ..records.errors import BadQuery, NotFound
from .sources import EmailSource, FileSource, HistorySource, RecordSource

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
OPEN_TASKS_LIMIT = 50


class TimelineError(BadQuery):
    pass


def _record_entry(kind, row, at):
    entry = {"kind": kind, "id": row["id"], "at": at, "object": _OBJECT_OF[kind]}
    entry["title"] = row.get("subject") or row.get("title") or ""
    for key in ("description", "body", "status", "type", "call_duration", "start_at", "end_at", "location",
                "owner", "due_date"):
        if row.get(key) not in (None, ""):
            entry[key] = row[key]
    return entry


_OBJECT_OF = {"call": "task", "task": "task", "event": "event", "note": "note"}
_TASK_FIELDS = ["subject", "status", "type", "description", "owner", "due_date"]

# The kinds, in the order a filter lists them; each a source.
# Closed tasks and logged calls are dated by when they were done: completed_at, which the core
# before-save workflow task_completed_at sets as a task closes (as Salesforce's CompletedDateTime)
# and clears as it reopens — a task created long before it was done sits where it was done. The
# date must be there: a source's rows are its entries, one for one (activities/sources.py).
_DONE = "is_closed and not ISBLANK(completed_at)"
SOURCES = {
    "call": lambda: RecordSource("call", "task", f"{_DONE} and type == 'Call'", "completed_at",
                                 _TASK_FIELDS + ["call_duration"], _record_entry),
    "task": lambda: RecordSource("task", "task", f"{_DONE} and (ISBLANK(type) or type != 'Call')", "completed_at",
                                 _TASK_FIELDS, _record_entry),
    "event": lambda: RecordSource("event", "event", None, "start_at",
                                  ["subject", "end_at", "location", "description", "owner"], _record_entry),
    "note": lambda: RecordSource("note", "note", None, "created_at", ["title", "body", "owner"], _record_entry),
    "email": EmailSource,
    "change": HistorySource,
    "file": FileSource,
}
KINDS = tuple(SOURCES)


@dataclass
class _Context:
    records: object
    files: object
    actor: object
    object_name: str
    record_id: str
    record_uuid: uuid.UUID

    @cached_property
    def runtime(self):
        return self.records.runtime()

    @cached_property
    def access(self):
        return self.runtime.security.access_for(self.actor)


def parse_kinds(text) -> tuple[str, ...]:
    if text is None or text == "" or text == []:
        return KINDS
    items = text.split(",") if isinstance(text, str) else list(text)
    kinds = [k.strip() for k in items if isinstance(k, str) and k.strip()]
    unknown = [k for k in kinds if k not in SOURCES]
    if unknown or not kinds:
        raise TimelineError(f"kinds: {', '.join(unknown) or 'none given'} — expected some of: {', '.join(KINDS)}")
    return tuple(k for k in KINDS if k in kinds)


def _decode(cursor, kinds) -> dict:
    try:
        state = json.loads(base64.urlsafe_b64decode(cursor.encode() + b"=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeError):
        raise TimelineError("invalid cursor (it must come from next_cursor of the same timeline)") from None
    if not isinstance(state, dict) or set(state) - set(kinds) or not all(map(_position_ok, state.values())):
        raise TimelineError("invalid cursor (it must come from next_cursor of the same timeline and kinds)")
    return state


def _offset_ok(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10_000_000


def _position_ok(position) -> bool:
    """None, an offset, or [a record service cursor or None, rows to skip] (activities/sources.py)."""
    if position is None or _offset_ok(position):
        return True
    return (isinstance(position, list) and len(position) == 2 and (position[0] is None or isinstance(position[0], str))
            and _offset_ok(position[1]))


def _encode(state: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("=")


def _shown(entry: dict) -> dict:
    out = dict(entry)
    out["at"] = entry["at"].isoformat().replace("+00:00", "Z")
    return out


class Timeline:
    def __init__(self, records, files=None):
        self.records, self.files = records, files

    def _context(self, actor, object_name, record_id) -> _Context:
        rt = self.records.runtime()
        cobj = rt.objects.get(object_name) if isinstance(object_name, str) else None
        if cobj is None:
            raise NotFound(f"there is no object '{object_name}'")
        try:
            rid = parse_id(str(record_id))
        except ValueError:
            raise NotFound(f"'{record_id}' is not a record id") from None
        self.records.get(actor, object_name, str(rid), fields=["id"])   # 404 unless the viewer sees it
        return _Context(self.records, self.files, actor, object_name, str(rid), rid)

    def open_tasks(self, actor, object_name, record_id, *, ctx=None) -> list[dict]:
        """The record's open tasks the viewer may read, overdue first, then by due date."""
        ctx = ctx or self._context(actor, object_name, record_id)
        if not RecordSource("task", "task", None, "created_at", [], None).available(ctx):
            return []
        result = self.records.query(
            actor, "task", filter=f"related_to == '{ctx.record_id}' and related_to.object == '{object_name}' "
                                  "and not is_closed",
            sort=["due_date", "created_at"], fields=["id", "subject", "status", "priority", "due_date", "owner",
                                                       "is_overdue", "assigned_to"],
            limit=OPEN_TASKS_LIMIT)
        tasks = result.records
        return [t for t in tasks if t.get("is_overdue")] + [t for t in tasks if not t.get("is_overdue")]

    def page(self, actor, object_name, record_id, *, kinds=None, cursor=None, limit=DEFAULT_LIMIT) -> dict:
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise TimelineError(f"limit must be an integer from 1 to {MAX_LIMIT}")
        kinds = parse_kinds(kinds)
        ctx = self._context(actor, object_name, record_id)
        state = _decode(cursor, kinds) if cursor else {k: None for k in kinds}
        sources = {k: SOURCES[k]() for k in state}
        sources = {k: s for k, s in sources.items() if s.available(ctx)}
        streams = {k: s.page(ctx, state.get(k), limit + 1) for k, s in sources.items()}
        merged = heapq.merge(*([(-e["at"].timestamp(), i, n, e) for n, e in enumerate(entries)]
                               for i, entries in enumerate(streams.values())))
        chosen, used = [], {k: 0 for k in streams}
        names = list(streams)
        for _neg, i, _n, entry in merged:
            if len(chosen) == limit:
                break
            chosen.append(entry)
            used[names[i]] += 1
        more = any(used[k] < len(streams[k]) for k in streams)
        next_state = {}
        for k, source in sources.items():
            exhausted = used[k] == len(streams[k]) and len(streams[k]) <= limit
            if not exhausted:   # a source with nothing left drops out of the cursor
                next_state[k] = source.advance(ctx, state.get(k), used[k])
        out = {"entries": [_shown(e) for e in chosen], "next_cursor": _encode(next_state) if more else None}
        if not cursor:
            out["open_tasks"] = self.open_tasks(actor, object_name, record_id, ctx=ctx)
        return out
