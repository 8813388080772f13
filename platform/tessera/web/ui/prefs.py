"""Per-user saved list views, kept as `list_view_preference` records (core package).

They are the user's own UI state, not business data, so no profile has to grant them: like the
identity service writing user records, the UI reads and writes them through the record service as
the platform (SYSTEM), always bound to the signed-in user — every query filters on
`owner == <the user>` and every write sets the owner to the user. What a saved view *shows* is
still read with the user's own rights (its filters run through `records.query` as the user).
"""
from __future__ import annotations

from ...records.errors import NotFound, RecordError
from ...security.actor import SYSTEM
from .context import actor, records, rt
from .expr import expr_literal

OBJECT = "list_view_preference"


def available() -> bool:
    return OBJECT in rt().metadata.objects and actor().user_id is not None


def _mine(object_name: str | None = None) -> str:
    cond = f"owner == {expr_literal(str(actor().user_id))}"
    if object_name is not None:
        cond += f" and object == {expr_literal(object_name)}"
    return cond


def list_for(object_name: str) -> list[dict]:
    if not available():
        return []
    try:
        return records().query(SYSTEM, OBJECT, filter=_mine(object_name), sort=["name"], limit=100,
                               fields=["name", "object", "list_view", "search", "filters", "sort", "columns"]).records
    except RecordError:
        return []


def get(object_name: str, pref_id: str) -> dict | None:
    if not available():
        return None
    try:
        rec = records().get(SYSTEM, OBJECT, pref_id)
    except RecordError:
        return None
    if rec.get("owner") != str(actor().user_id) or rec.get("object") != object_name:
        return None                     # someone else's view: as if it did not exist
    return rec


def save(object_name: str, name: str, state: dict) -> dict:
    if not available():
        raise NotFound("saved views are not available (the core package has no list_view_preference)")
    data = {"name": name, "object": object_name, "owner": str(actor().user_id),
            "list_view": state.get("view") or None, "search": state.get("q") or None,
            "filters": state.get("filters") or None, "sort": state.get("sort") or None,
            "columns": ",".join(state.get("cols") or []) or None}
    known = rt().metadata.objects[OBJECT].fields          # an org whose core package predates them lacks these
    if "aggregates" in known:
        data["aggregates"] = ",".join(state.get("agg") or []) or None
    if "condition" in known:
        data["condition"] = state.get("where") or None
    return records().create(SYSTEM, OBJECT, data)


def delete(object_name: str, pref_id: str) -> bool:
    if get(object_name, pref_id) is None:
        return False
    records().delete(SYSTEM, OBJECT, pref_id)
    return True
