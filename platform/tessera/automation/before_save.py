"""Before-save workflows over a batch of records at once (a single write is a batch of one).

The engine's before-save step (engine.py) for every record of a bulk create together: each
workflow's condition, `if` conditions and update_record values are evaluated over the batch in one
call (`WriteContext.evaluate_rows`: the record service evaluates an expression once per distinct
combination of the fields it reads when it can), and the runs are built with one clock reading and
one batch of ids. The outcome for each record is exactly a single write's: workflows in name order,
each seeing the changes of the last; a record whose expression cannot be computed fails alone with
the run naming it, the others go on; a run per record and workflow that entered.
"""
from __future__ import annotations

from datetime import datetime, timezone

from ..records.errors import RecordError, WorkflowFailed
from ..records.ids import new_ids
from ..records.serialize import to_api
from . import runlog
from .compiler import workflows_of

_NONE = object()


def run_batch(engine, ctx, event: str, records: list[dict], priors: list | None, depth: int) -> list:
    """Per record: {field: (value, workflow)} — what before-save workflows set — or the
    WorkflowFailed that stopped it (its failed run attached, as engine._failed does)."""
    n = len(records)
    records = [dict(r) for r in records]
    priors = priors if priors is not None else [None] * n
    outcomes: list = [{} for _ in range(n)]
    finished: list[runlog.Run] = []
    for wf in workflows_of(ctx.runtime).for_event(ctx.object_name, event, "before_save"):
        live = [i for i in range(n) if not isinstance(outcomes[i], WorkflowFailed)]
        entered = _entering(ctx, wf, live, records, priors)
        if not entered:
            continue
        started = datetime.now(timezone.utc)   # one reading for the batch's runs
        runs = {i: runlog.Run(workflow=wf.name, object=ctx.object_name, record_id=records[i].get("id"), event=event,
                              timing=wf.timing, version=ctx.runtime.version, actor=ctx.actor.user_id, depth=depth,
                              id=run_id, started_at=started)
                for i, run_id in zip(entered, new_ids(len(entered)))}
        batch = _Batch(engine, ctx, wf, runs, records, priors, outcomes)
        done = batch.actions(wf.actions, entered)
        finished += [runs[i] for i in done]
    if ctx.log is None:
        runlog.record_all(ctx.conn, finished)
    else:                # a bulk create: written with the batch's (flush_logged)
        ctx.log.extend(finished)
    return outcomes


def run_one(engine, ctx, wf, run: runlog.Run, record: dict, prior: dict | None = None) -> dict:
    """`wf`'s actions on one record, steps into `run`, whatever its condition (a dry run:
    dry_run.py); raises the WorkflowFailed that stops it."""
    outcomes: list = [{}]
    _Batch(engine, ctx, wf, {0: run}, [dict(record)], [prior], outcomes).actions(wf.actions, [0])
    if isinstance(outcomes[0], WorkflowFailed):
        raise outcomes[0]
    return outcomes[0]


def _entering(ctx, wf, live: list[int], records, priors) -> list[int]:
    """The records `wf` enters (engine._enters for each)."""
    if wf.condition is None or not live:
        return live
    holds = _evaluate(ctx, wf.condition, [records[i] for i in live], [priors[i] for i in live])
    entered = [i for i, value in zip(live, holds) if value is True]
    if wf.becomes_true:
        updated = [i for i in entered if priors[i] is not None]
        if updated:
            held = dict(zip(updated, _evaluate(ctx, wf.condition, [priors[i] for i in updated], None)))
            entered = [i for i in entered if held.get(i) is not True]
    return entered


def _evaluate(ctx, compiled, rows: list[dict], priors: list | None) -> list:
    """`compiled` on each row, over the batch when the write can (else one by one; an error is
    raised as evaluating that row alone raises it)."""
    if priors is not None and all(prior is None for prior in priors):
        priors = None    # creates: lets the record service reuse results across equal rows
    if ctx.evaluate_rows is not None:
        try:
            return ctx.evaluate_rows(compiled, rows, priors)
        except RecordError:
            raise
        except Exception:   # one record's value cannot be computed: find it below, record by record
            pass
    return [ctx.evaluate(compiled, row, prior) for row, prior in zip(rows, priors or [None] * len(rows))]


class _Batch:
    """One workflow's actions over the records it entered."""

    def __init__(self, engine, ctx, wf, runs, records, priors, outcomes):
        self.engine, self.ctx, self.wf, self.runs = engine, ctx, wf, runs
        self.records, self.priors, self.outcomes = records, priors, outcomes
        self.shown: dict = {}

    def actions(self, actions, rows: list[int]) -> list[int]:
        """Run `actions` on `rows` in order; the rows that did not fail."""
        for action in actions:
            if not rows:
                break
            if action.kind == "if":
                taken = self._values(action, action.condition, rows)
                rows = [i for i in rows if i in taken]
                then = [i for i in rows if taken[i] is True]
                otherwise = [i for i in rows if taken[i] is not True]
                for i in rows:
                    self.runs[i].step(action.path, "if", action.label, branch="then" if taken[i] is True else "else")
                rows = sorted(self.actions(action.then, then) + self.actions(action.otherwise, otherwise))
                continue
            shown: dict[int, dict] = {i: {} for i in rows}
            for field, compiled in action.values:
                values = self._values(action, compiled, rows)
                rows = [i for i in rows if i in values]
                for i in rows:
                    value = values[i]
                    self.records[i][field] = value
                    self.outcomes[i][field] = (value, self.wf.name)
                    shown[i][field] = self._shown(value)
            for i in rows:
                self.runs[i].step(action.path, action.kind, action.label, values=shown[i])
        return rows

    def _shown(self, value):
        """to_api(value) for the run's steps, once per distinct value of the batch."""
        try:
            key = (value.__class__, value)
            shown = self.shown.get(key, _NONE)
        except TypeError:    # unhashable
            return to_api(value)
        if shown is _NONE:
            shown = self.shown[key] = to_api(value)
        return shown

    def _values(self, action, compiled, rows: list[int]) -> dict[int, object]:
        """{row: value} for the rows where `compiled` could be computed; each other row fails
        with its run, as engine._evaluate fails a single write."""
        records, priors = self.records, self.priors
        if self.ctx.evaluate_rows is not None:
            selected = [priors[i] for i in rows]
            try:
                values = self.ctx.evaluate_rows(compiled, [records[i] for i in rows],
                                                None if all(p is None for p in selected) else selected)
                return dict(zip(rows, values))
            except RecordError:
                raise
            except Exception:   # some row cannot be computed: which one is found below
                pass
        out = {}
        for i in rows:
            try:
                out[i] = self.engine._evaluate(self.ctx, self.wf, action, compiled, records[i], priors[i])
            except WorkflowFailed as exc:
                self.engine._failed(self.runs[i], exc)
                self.outcomes[i] = exc
        return out
