"""The record page's "Possible duplicates" card: the records the object's active duplicate rules
match the record with now (records/duplicates.py), as links, under the viewer's access — matches
the viewer may not see are only counted. Shown only when there is something to show."""
from __future__ import annotations

from flask import url_for

from ...records.errors import RecordError
from .context import actor, records, rt
from .display import record_url


def duplicates_card(app_name, obj, record) -> dict | None:
    cobj = rt().objects.get(obj.name)
    if cobj is None or not cobj.duplicate_rules:
        return None
    try:
        findings = records().duplicates(actor(), obj.name, record["id"])
    except RecordError:
        return None   # the page shows the record; a failing side card is left out
    if not findings:
        return None
    seen = {m["id"] for f in findings for m in f["matches"]}
    from .views_merge import may_merge
    merge_url = url_for("ui.merge_page", app_name=app_name, object_name=obj.name, record_id=record["id"],
                        **{"with": sorted(seen)}) if seen and may_merge(obj) else None
    return {"merge_url": merge_url, "findings": [{**f, "matches": [{**m, "url": record_url(app_name, obj.name, m["id"])} for m in f["matches"]]}
                         for f in findings],
            "count": len(seen), "hidden": max((f["hidden"] for f in findings), default=0)}
