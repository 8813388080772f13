"""Bulk creates: all or nothing, every row checked, coerced and written column by column
(records/bulk.py) — the same order of execution as a single create (records/service.py)."""
from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from ..currency.personal import default_currency as personal_currency
from ..dedupe import maintain as duplicate_keys
from ..meta.currencies import CURRENCY_FIELD
from ..search import maintain as search_index
from ..security.actor import Actor
from ..storage.engine import retry_on_stale_statements
from . import before_save, bulk, copies, hierarchy, natural_keys, permission_audit, user_rights
from . import rows as child_rows
from .before_save import as_input as _as_input
from .errors import BulkFailed, Forbidden, ValidationFailed
from .reads import _now
from .serialize import to_api
from .write_checks import _integrity_error
from .writes import NO_OWNER, RIGHTS_OBJECTS, WRITABLE_SYSTEM, reports_workflow_failures


class RecordBulkCreates:
    """RecordService.bulk_create and its steps."""

    @reports_workflow_failures
    @retry_on_stale_statements
    def bulk_create(self, actor: Actor, object_name: str, rows: list, *, from_text: bool = False,
                    progress=None, allow_duplicates: bool = False, warnings: list | None = None) -> list[str]:
        """All or nothing: every row is checked; any failure saves nothing and reports each row.
        `progress(rows_checked)` is told how many rows have been checked so far (a count from the
        start, not a step: a run retried after a stale statement starts again from 0).
        `warnings`: a list given is extended with the warn duplicate rules' findings, by row index."""
        rt = self.runtime()
        cobj = self._object(rt, object_name)
        access = self._access(rt, actor, object_name, "create")
        if not isinstance(rows, list):
            raise ValidationFailed("expected a JSON array of records")
        if not rows:
            return []
        if not access.unrestricted:
            self._check_field_rights_bulk(access, cobj, rows, actor)
        now = _now()
        with self._write() as conn:
            batch = self._prepare_bulk(conn, rt, cobj, rows, actor, now, from_text, progress, access)
            self._check_lookups_bulk(conn, rt, cobj, batch, access)
            self._check_unique_bulk(conn, cobj, batch)
            found = self._check_duplicates_bulk(conn, rt, cobj, access, batch, now, actor, allow_duplicates)
            if batch.errors:
                raise BulkFailed(batch.failures())
            for name, numbers in self._take_autonumbers(conn, cobj, batch.n, now).items():
                batch.columns[name] = numbers
            tree = cobj.obj.hierarchy_field
            if tree is not None and tree.name in batch.columns:
                hierarchy.lock(conn, object_name)   # before the row locks the INSERT takes
            if cobj.obj.row_links:
                child_rows.append_positions_bulk(conn, cobj, batch, bulk.MISSING)
            try:
                cobj.writer(conn.dialect).execute_columns(conn, batch.columns, batch.n, batch.constants)
            except IntegrityError as exc:
                raise _integrity_error(exc, cobj) from None
            search_index.written(conn, cobj, batch.ids, new=True)
            duplicate_keys.written_columns(conn, cobj, batch.ids, batch.columns)
            if tree is not None and tree.name in batch.columns:
                hierarchy.check_batch(conn, cobj, batch.ids, batch.columns[tree.name])
            if cobj.rules:
                failures = self._rule_failures_bulk(conn, rt, cobj, batch, now, actor.user_id)
                if failures:
                    raise BulkFailed(failures)      # inside the transaction: nothing is saved
            if object_name in permission_audit.AUDITED:
                permission_audit.created(conn, rt, actor, object_name, batch.rows())
            if self._automated(rt, cobj, "create", "after_save"):
                for index in range(batch.n):
                    self._after_save(conn, rt, cobj, actor, now, "create", batch.row(index), None)
        if warnings is not None:
            warnings += found
        return list(map(str, batch.ids))

    def _check_field_rights_bulk(self, access, cobj, rows, actor):
        """Field-level security for every row (403 naming each refused row and field); rows are
        looked at one by one only when some key is one the actor may not set, or is the owner."""
        keys = set().union(*(data for data in rows if isinstance(data, dict)))
        if self._uneditable(access, cobj).isdisjoint(keys) and "owner" not in keys:
            return
        denied = []
        for index, data in enumerate(rows):
            try:
                if isinstance(data, dict):
                    self._check_field_rights(access, cobj, data, actor, owner=None)
            except Forbidden as exc:
                denied.append({"index": index, "fields": exc.fields})
        if denied:
            raise BulkFailed(denied, status=403)

    _BULK_CHUNK = 10_000   # rows coerced per step of a bulk create's progress

    def _prepare_bulk(self, conn, rt, cobj, rows, actor, now, from_text, progress, access=None) -> bulk.Batch:
        """Steps 2–4 for every row, column by column (records/bulk.py), with the outcome of
        _prepare_create per row; lookups and uniqueness are checked over the batch afterwards."""
        rows, key_failures = natural_keys.resolve_rows(conn, rt, cobj, rows, access, from_text)
        parts = []
        for start in range(0, len(rows), self._BULK_CHUNK):
            chunk = rows[start:start + self._BULK_CHUNK]
            parts.append(bulk.coerce_rows(cobj, chunk, from_text, WRITABLE_SYSTEM))
            if progress:
                progress(start + len(chunk))
        batch = bulk.Batch.joined(parts)
        for index, fields in key_failures.items():
            for name, messages in fields.items():
                batch.fail(index, name, messages[0])

        personal = personal_currency(conn, rt, actor) if cobj.obj.multi_currency else None

        def literal_default(field, default):
            if personal and field.name == CURRENCY_FIELD:
                default = personal
            try:
                return cobj.coercers[field.name](default, True) if field.name in cobj.coercers else default
            except ValueError:
                return default

        def expression_default(field, compiled, row, index):
            result = self._evaluate(conn, rt, cobj, compiled, row, None, now)
            try:   # checked like input: an expression can give a value the field does not take
                return _as_input(cobj, field, result)
            except ValueError as exc:
                batch.fail(index, field.name,
                           f"its default expression gives {to_api(result, field.type)!r}, which {exc}")
                return None

        if cobj.copies:
            copies.on_bulk_create(conn, rt, cobj, batch, now, _as_input)
        bulk.apply_defaults(cobj, batch, literal_default, expression_default)
        if self._automated(rt, cobj, "create", "before_save"):
            before_save.apply_to_batch(self.hooks, self._write_context(conn, rt, cobj, actor, now, []), cobj, batch,
                                       actor.user_id)
        bulk.check_required(cobj, batch)
        if cobj.obj.one_parent:
            for index in range(batch.n):
                errors = {}
                child_rows.one_parent_errors(cobj.obj, {k: (None if v[index] is bulk.MISSING else v[index])
                                                  for k, v in batch.columns.items() if k in cobj.obj.one_parent},
                                       errors)
                for name, messages in errors.items():
                    if name not in batch.errors.get(index, ()):
                        batch.fail(index, name, messages[0])
        for name, machine in cobj.state_machines.items():
            column = batch.columns.get(name) if machine.initial is not None else None
            for index, value in enumerate(column or ()):
                refusal = machine.start_refusal(value) if value is not bulk.MISSING else None
                if refusal and name not in batch.errors.get(index, ()):
                    batch.fail(index, name, refusal)
        for index, code in enumerate(batch.columns.get(CURRENCY_FIELD) or () if cobj.obj.multi_currency else ()):
            refusal = rt.metadata.org_settings.choice_refusal(code if code is not bulk.MISSING else None, None)
            if refusal and CURRENCY_FIELD not in batch.errors.get(index, ()):
                batch.fail(index, CURRENCY_FIELD, refusal)
        for index, owner in enumerate(batch.columns.get("owner") or ()):
            if owner is None and "owner" not in batch.errors.get(index, ()):
                batch.fail(index, "owner", NO_OWNER)
        if cobj.name in RIGHTS_OBJECTS:
            for index in range(batch.n):
                errors = {}
                user_rights.check_values(rt.metadata, cobj.name, batch.row(index), errors)
                for name, messages in errors.items():
                    if name not in batch.errors.get(index, ()):
                        batch.fail(index, name, messages[0])
        bulk.complete(batch, actor.user_id, now)
        bulk.mark_not_records(batch, rows)
        return batch
