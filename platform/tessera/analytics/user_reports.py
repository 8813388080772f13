"""Reports end users build and save for themselves: records of the core object `user_report`.

Like saved list views (web/ui/prefs.py) they are the user's own work, not business data, so no
profile has to grant the object: this module reads and writes them through the record service as
the platform (SYSTEM), always bound to the viewer —

* a viewer SEES their own reports and those shared with their role, with a role above theirs
  "and subordinates", or with one of their public groups (`visible_filter`); anything else is
  answered as if it did not exist;
* a viewer CHANGES or DELETES only their own (`own`); every write sets the owner to the viewer;
* a saved report RUNS as the viewer (analytics/run.py with the viewer's actor): sharing a report
  shares its definition, never the sharer's data.

A definition is checked exactly like an ad-hoc API definition (schema, then semantic checks: 400
naming the problem) and then run once as its author, so a report on fields or an object the author
cannot read is refused before anything is saved.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import replace

from ..expr.literals import expr_literal
from ..meta.model import Metadata
from ..meta.reports import ReportDefinition
from ..records.errors import BadQuery, NotFound, ValidationFailed
from ..security.actor import SYSTEM, Actor
from ..security.sharing import ancestors
from .definitions import adhoc_definition
from .run import run_report

OBJECT = "user_report"
SHARING = ("shared_with_role", "shared_with_subordinates", "shared_with_group")
FIELDS = ["name", "label", "folder", "object", "definition", *SHARING, "owner"]
NAME_RE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
MAX_NAME, MAX_TEXT = 40, 80
# The definition's own keys; name, label and folder are the record's fields.
DEFINITION_KEYS = ("object", "description", "format", "columns", "filter", "groupings", "column_groupings",
                   "summaries", "sort", "limit", "chart")


def available(md: Metadata) -> bool:
    return OBJECT in md.objects


def _owner_is(viewer: Actor) -> str:
    return f"owner == {expr_literal(str(viewer.user_id))}"


def visible_filter(md: Metadata, viewer: Actor) -> str:
    """Mine, or shared with my role, with a role above mine and its subordinates, or with one of my
    public groups."""
    parts = [_owner_is(viewer)]
    if viewer.role:
        parts.append(f"shared_with_role == {expr_literal(viewer.role)}")
        above = ancestors(md, viewer.role)
        if above:
            parts.append(f"(shared_with_role in {expr_literal(above)} and shared_with_subordinates)")
    if viewer.groups:
        parts.append(f"shared_with_group in {expr_literal(sorted(viewer.groups))}")
    return " or ".join(parts)


def list_visible(records, md: Metadata, viewer: Actor, object_names=None) -> list[dict]:
    """The viewer's reports and those shared with them (on `object_names` when given), by label."""
    if not available(md) or viewer.user_id is None:
        return []
    where = f"({visible_filter(md, viewer)})"
    if object_names is not None:
        if not object_names:
            return []
        where += f" and object in {expr_literal(sorted(object_names))}"
    found = records.query(SYSTEM, OBJECT, filter=where, sort=["label"], limit=500, fields=FIELDS).records
    return [dict(r, mine=r.get("owner") == str(viewer.user_id)) for r in found]


def get_visible(records, md: Metadata, viewer: Actor, report_id: str) -> dict | None:
    """One report the viewer may open (None: it does not exist for them)."""
    if not available(md) or viewer.user_id is None or not _is_uuid(report_id):
        return None
    where = f"id == {expr_literal(report_id)} and ({visible_filter(md, viewer)})"
    found = records.query(SYSTEM, OBJECT, filter=where, limit=1, fields=FIELDS).records
    return dict(found[0], mine=found[0].get("owner") == str(viewer.user_id)) if found else None


def own(records, md: Metadata, viewer: Actor, report_id: str) -> dict:
    """One of the viewer's own reports, or NotFound (another user's report is never revealed)."""
    rec = get_visible(records, md, viewer, report_id)
    if rec is None or not rec["mine"]:
        raise NotFound("there is no such saved report of yours")
    return rec


def definition_of(md: Metadata, rec: dict) -> ReportDefinition:
    """The saved report compiled for the current metadata (400 naming the problem when a metadata
    change broke it since it was saved)."""
    doc = dict(rec.get("definition") or {}, object=rec["object"])
    doc.update({"label": rec["label"], **({"folder": rec["folder"]} if rec.get("folder") else {})})
    return replace(adhoc_definition(md, doc), name=rec["name"])


def check(records, md: Metadata, viewer: Actor, body, *, fiscal_start_month: int = 1) -> dict:
    """The record fields of a report the viewer sends (label, folder, definition, sharing), checked;
    BadQuery / ValidationFailed naming each problem, nothing saved."""
    if not isinstance(body, dict):
        raise BadQuery("send a JSON object: {label, folder, definition, shared_with_role, shared_with_subordinates, "
                       "shared_with_group}")
    unknown = sorted(set(body) - {"label", "name", "folder", "definition", *SHARING})
    if unknown:
        raise BadQuery(f"unknown key(s): {', '.join(unknown)}")
    problems: dict[str, list[str]] = {}
    label = _text(body.get("label"))
    if not label:
        problems["label"] = ["enter a label"]
    elif len(label) > MAX_TEXT:
        problems["label"] = [f"at most {MAX_TEXT} characters"]
    folder = _text(body.get("folder")) or None
    if folder and len(folder) > MAX_TEXT:
        problems["folder"] = [f"at most {MAX_TEXT} characters"]
    name = _text(body.get("name"))
    if not NAME_RE.match(name) or len(name) > MAX_NAME:
        problems["name"] = [f"lower-case letters, digits and single underscores, at most {MAX_NAME} characters"]
    role, group = _text(body.get("shared_with_role")) or None, _text(body.get("shared_with_group")) or None
    if role and role not in md.roles:
        problems["shared_with_role"] = [f"there is no role '{role}'"]
    subordinates = body.get("shared_with_subordinates") or False
    if not isinstance(subordinates, bool):
        problems["shared_with_subordinates"] = ["true or false"]
    elif subordinates and not role:
        problems["shared_with_subordinates"] = ["choose the role whose subordinates see the report"]
    if group and not _group_exists(records, md, group):
        problems["shared_with_group"] = [f"there is no group '{group}'"]
    if problems:
        raise ValidationFailed("; ".join(f"{k}: {v[0]}" for k, v in problems.items()), fields=problems)
    doc = body.get("definition")
    if not isinstance(doc, dict):
        raise BadQuery("definition: send the report definition (a JSON object with at least 'object')")
    doc = {k: v for k, v in doc.items() if k not in ("name", "label", "folder")}
    definition = adhoc_definition(md, doc)
    run_report(records, viewer, definition, limit=1, fiscal_start_month=fiscal_start_month)  # the author's access
    return {"name": name, "label": label, "folder": folder, "object": definition.object,
            "definition": {k: doc[k] for k in DEFINITION_KEYS if k in doc and k != "object"},
            "shared_with_role": role, "shared_with_subordinates": subordinates, "shared_with_group": group}


def save(records, md: Metadata, viewer: Actor, body, report_id: str | None = None, **kw) -> dict:
    """Create a report owned by the viewer, or change one of the viewer's own."""
    if not available(md) or viewer.user_id is None:
        raise NotFound("saved reports are not available (the core package has no user_report)")
    data = check(records, md, viewer, body, **kw)
    if report_id is None:
        return records.create(SYSTEM, OBJECT, dict(data, owner=str(viewer.user_id)))
    own(records, md, viewer, report_id)
    return records.update(SYSTEM, OBJECT, report_id, data)


def delete(records, md: Metadata, viewer: Actor, report_id: str) -> None:
    own(records, md, viewer, report_id)
    records.delete(SYSTEM, OBJECT, report_id)


def report_document(md: Metadata, rec: dict, name: str | None = None) -> dict:
    """The saved report as an org report document (reports/<name>.yaml), for promotion."""
    doc = {"name": name or rec["name"], "label": rec["label"], "object": rec["object"]}
    if rec.get("folder"):
        doc["folder"] = rec["folder"]
    doc.update({k: v for k, v in (rec.get("definition") or {}).items() if k in DEFINITION_KEYS and k != "object"})
    return doc


def _text(value) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def _group_exists(records, md: Metadata, name: str) -> bool:
    if "group" not in md.objects:
        return False
    return bool(records.query(SYSTEM, "group", filter=f"name == {expr_literal(name)}", limit=1, fields=["name"]).records)


def _is_uuid(text) -> bool:
    try:
        uuid.UUID(str(text))
    except ValueError:
        return False
    return True
