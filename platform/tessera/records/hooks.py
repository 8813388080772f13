"""How automation plugs into the record service's write path without the service importing it.

The record service sits below `tessera.automation` (imports point down), so the automation layer
registers an object implementing `WriteHooks` on the service (`RecordService.hooks`). The service
calls it at two points of its order of execution (records/service.py):

  before_save(ctx, values, prior) -> {field: value}
      after coercion and defaults, before the required/lookup checks and validation rules: the
      changes to make to the record being saved (same write, same transaction). `values` is the
      record as it will be saved (stored fields), `prior` the saved row on update (None on create).
  before_save_rows(ctx, event, records, priors) -> [{field: value} or the WorkflowFailed of that record]
      the same for many records at once (a bulk create), evaluated over the batch.
  flush_logged(ctx, logged)
      a bulk create hands before_save a `ctx.log` list for its run log and writes it afterwards in
      one call (one statement for the batch instead of one per row).
  after_save(ctx, event, values, prior)
      after the row is written (and its history and audit), in the same transaction: actions on
      other records go through the record service again, on the same connection (see
      RecordService.on_connection), so a failing action rolls the whole write back.

Both may raise `records.errors.RecordError` (a workflow failure is a 422 naming the workflow).

Record locks (`RecordService.locks`, registered by the approvals of the automation layer) are asked
once per update and delete, after the row is loaded and the actor's access to it checked:

  check(conn, runtime, object_name, record_id, actor, action)
      raises `records.errors.RecordLocked` (409 record_locked) when the record may not be changed
      by `actor` now; `action` is "update" or "delete". On the write's connection and transaction.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Protocol

from ..security.actor import Actor


@dataclass
class WriteContext:
    conn: Any                      # the write's Connection
    runtime: Any                   # the Runtime the write runs under (its version is recorded)
    object_name: str
    actor: Actor                   # who made the write
    now: datetime
    # evaluate(compiled, values, prior) -> the expression's value on a record being written (paths
    # through lookups are read on `conn`, formulas and roll-ups computed as the service does)
    evaluate: Callable[[Any, dict, dict | None], Any]
    # a bulk write: where before_save leaves what it logs (its runs) for one `flush_logged` call
    # after the batch, instead of one INSERT per row (None: log at once)
    log: list | None = None
    # evaluate_rows(compiled, records, priors) -> one value per record (priors: None, or one per
    # record); a bulk write's batch at once, with what evaluate would give each record
    evaluate_rows: Callable[[Any, list, list | None], list] | None = None   # None: evaluate each


class WriteHooks(Protocol):
    def wants(self, runtime, object_name: str, event: str, timing: str) -> bool:
        """Cheap: whether any active workflow listens (so writes without automation pay nothing)."""

    def before_save(self, ctx: WriteContext, event: str, values: dict, prior: dict | None) -> dict: ...

    def before_save_rows(self, ctx: WriteContext, event: str, records: list[dict], priors: list | None) -> list:
        """before_save for each record: its changes, or the WorkflowFailed that stopped it."""

    def after_save(self, ctx: WriteContext, event: str, values: dict, prior: dict | None) -> None: ...

    def flush_logged(self, ctx: WriteContext, logged: list) -> None:
        """Write what before_save left in `ctx.log` during a bulk write (same transaction)."""


class RecordLocks(Protocol):
    def check(self, conn, runtime, object_name: str, record_id, actor: Actor, action: str) -> None:
        """Raise RecordLocked when `actor` may not `action` the record; cheap for unlocked objects."""
