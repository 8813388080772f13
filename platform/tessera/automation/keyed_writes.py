"""Workflow actions that find their record by a key: `upsert_record` and `update_record` with `match`.

One design for "find the record another system means, then change it", in every kind of workflow
(record-triggered after save, time-relative, scheduled, manual, inbound webhooks):

    - type: upsert_record              # create or update
      object: company
      match: {field: code, value: payload.code}   # an external id or unique field; an expression
      values: {industry: payload.industry}        # set either way
      on_create: {name: payload.name}             # set only on a new record (a required name …)

    - type: update_record              # update only
      object: company                  # default: the workflow's object
      match: {field: code, value: payload.code}
      values: {active: "false"}

Why two actions rather than one with a mode: update_record already means "change a record"; its
`match` only says *which* (in an inbound webhook, which has no record of its own, it is required).
"Create it when missing" is the one thing upsert_record adds. A match that finds nothing fails an
update — the run is logged failed with the key it looked for, its writes roll back — because an
"invoice paid" for an unknown invoice is an error to see, not a record to invent.

Both go through the record service (one data path): upsert_record is RecordService.upsert (the
unique index settles two runs upserting one new key at once), update_record finds the id with
RecordService.id_by_key, under the run's actor's sharing, then updates. A blank key fails the run
(a blank matches nothing and cannot key a new record). The step's output names the record the
way create_record's does — `object` and `record_id` — plus `outcome` (created / updated) and the
`key`; an inbound run's record is the first one its steps created or matched on the workflow's
object (inbound.py).
"""
from __future__ import annotations

from ..records.errors import WorkflowFailed


class NoMatch(Exception):
    """update_record's match found no record."""


def key_text(key) -> str:
    return key if isinstance(key, str) else str(key)


def blank_key(wf, action) -> WorkflowFailed:
    return WorkflowFailed(f"workflow '{wf.name}' failed at {action.path} ({action.label}): the match value for "
                          f"{action.target}.{action.match_field} is blank, so it names no record",
                          details={"workflow": wf.name, "step": action.path, "field": action.match_field})


def upsert(records, actor, action, key, data: dict, on_create: dict) -> tuple[dict, str]:
    """(the record, "created" | "updated"); `key` and the values are record-service input."""
    record, created = records.upsert(actor, action.target, action.match_field, key, data, on_create=on_create,
                                     by_unique=True, key_from_text=False)
    return record, "created" if created else "updated"


def update_matched(records, actor, action, key, data: dict) -> dict:
    """The updated record; NoMatch when no record (the actor may see) has the key."""
    record_id = records.id_by_key(actor, action.target, action.match_field, key, from_text=False)
    if record_id is None:
        raise NoMatch(f"there is no {action.target} with {action.match_field} '{key_text(key)}' to update")
    return records.update(actor, action.target, record_id, data)
