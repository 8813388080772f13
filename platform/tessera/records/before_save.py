"""Step 3 of the order of execution: before-save workflow updates of the records being saved,
asked of the automation layer (records/hooks.py) and checked like input.

A single write asks for one record; a bulk create for its whole batch in one call, so expressions
are evaluated over the batch (write_rules._evaluate_rows) and the runs are logged in one statement
with the batch, in the write transaction.
"""
from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from .bulk import Batch
from .coerce import coercer_for, parse_id
from .errors import WorkflowFailed
from .ids import new_ids
from .serialize import to_api


def as_input(cobj, field, value):
    """An expression's value checked and stored as the field's input would be (its coercer takes
    API-shaped values: dates as ISO text; decimals stay exact)."""
    if value is None:
        return value
    coerce = cobj.coercers.get(field.name) or coercer_for(field)   # read-only fields have none cached
    if coerce is None:
        return value
    return coerce(value if isinstance(value, Decimal) else to_api(value, field.type), False)


# Value types whose equal values a field's coercer takes alike (not Decimal: 1.0 and 1.000 are
# equal but a scale check may tell them apart; not float, not datetime), so a bulk create's rows
# share one check of each distinct value
_MEMO_TYPES = frozenset((str, int, bool, date, uuid.UUID, type(None)))


def checked(cobj, proposed: dict, memo: dict | None = None) -> dict:
    """A workflow's proposed {field: (value, workflow)} as stored values; a value the field does
    not take fails the write naming the workflow. `memo`: checks already made in this batch."""
    changes = {}
    for name, (value, workflow) in proposed.items():
        field = cobj.obj.fields.get(name)
        key = (name, value.__class__, value) if memo is not None and value.__class__ in _MEMO_TYPES else None
        try:
            if key is not None and key in memo:
                changes[name] = memo[key]
                continue
            changes[name] = as_input(cobj, field, value) if field is not None else parse_id(value)
            if key is not None:
                memo[key] = changes[name]
        except ValueError as exc:
            shown = to_api(value, field.type) if field is not None else str(value)
            raise WorkflowFailed(f"workflow '{workflow}' sets {name} to {shown!r}, which {exc}",
                                 fields={name: [f"set by workflow '{workflow}': {exc}"]},
                                 details={"workflow": workflow}) from None
    return changes


def apply_to_batch(hooks, ctx, cobj, batch: Batch, owner) -> None:
    """A bulk create's before-save updates, into its columns; a row a workflow fails is a row
    error (the batch saves nothing). `ctx.log` collects the runs, written here in one statement."""
    batch.columns["id"] = new_ids(batch.n)   # the runs name their records
    batch.full.add("id")
    indexes = [index for index in range(batch.n) if index not in batch.errors]
    records = [batch.row(index) for index in indexes]
    for record in records:
        record.setdefault("owner", owner)
    outcomes = hooks.before_save_rows(ctx, "create", records, None) if records else []
    memo: dict = {}
    for index, outcome in zip(indexes, outcomes):
        try:
            if isinstance(outcome, WorkflowFailed):
                raise outcome
            for name, value in checked(cobj, outcome, memo).items():
                batch.set_value(index, name, value)
        except WorkflowFailed as exc:
            for name, messages in (exc.fields or {"_record": [exc.message]}).items():
                for message in messages:
                    batch.fail(index, name, message)
    if ctx.log:
        hooks.flush_logged(ctx, ctx.log)
