"""The record service's checks of a write against other rows: lookup targets, uniqueness in a
batch, autonumbers, picklist state machines, and constraint violations turned into 409s.

A part of RecordService (records/service.py), split out by concept."""
from __future__ import annotations

from sqlalchemy import and_, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..meta.autonumbers import format_autonumber
from ..meta.currencies import CURRENCY_FIELD
from ..meta.fieldtypes import FILE_TYPES, accepts
from ..security.actor import Actor
from ..storage.platform_tables import autonumbers
from . import related, transitions
from .errors import Conflict, ForeignKeyConflict, NotFound, RecordError
from .reads import _now

class WriteChecks:
    def _lookup_scope(self, conn, rt, cobj, name, target, access):
        """Extra condition on a lookup's target: the actor must be able to see it (a hidden record
        is reported exactly like a missing one), and to edit it when it is the master of a
        controlled_by_parent detail (adding a detail changes what the master's readers see)."""
        if access is None or access.unrestricted or name == "owner":
            return None, None
        t = rt.objects[target].table
        field = cobj.obj.fields.get(name)
        if field is not None and field.type == "master_detail" and cobj.obj.sharing_model == "controlled_by_parent":
            return access.editable(target, t, conn.dialect.name), "you need edit access to this {target} to add records under it"
        return access.visible(target, t, conn.dialect.name), None

    def _check_lookups(self, conn, rt, cobj, values, errors, access=None, *, trust_foreign_keys=False):
        """Lookup values must name records that exist and that the actor may see (edit, for the
        master of a controlled_by_parent detail). trust_foreign_keys: when existence is all there
        is to check, leave it to the column's foreign key, which refuses a missing record at the
        INSERT (create() then names the field) — one query less per write; not for lookups the
        write reads through (lookups_read_on_write), whose targets must exist before."""
        if cobj.pair_fields:
            related.check(conn, rt, cobj, values, errors, access)
        for name, value in values.items():
            target = cobj.relations.get(name) or ("user" if name == "owner" else None)
            if value is None or target is None or name in errors or target not in rt.objects:
                continue
            field = cobj.obj.fields.get(name)
            if field is not None and field.type in FILE_TYPES and field.options.get("accept"):
                self._check_file_type(conn, rt, field, value, errors)
            scope, edit_message = self._lookup_scope(conn, rt, cobj, name, target, access)
            if scope is None and trust_foreign_keys and name not in cobj.lookups_read_on_write:
                continue
            if conn.execute(rt.objects[target].id_select, {"_id": value}).first() is None:
                errors[name] = [f"there is no {target} with id '{value}'"]
                continue
            if scope is None:
                continue
            t = rt.objects[target].table
            if conn.execute(select(t.c.id).where(t.c.id == value, scope)).first() is None:
                visible = access.visible(target, t, conn.dialect.name) if edit_message else None
                seen = edit_message is not None and conn.execute(
                    select(t.c.id).where(t.c.id == value, *([visible] if visible is not None else []))).first()
                errors[name] = [edit_message.format(target=target) if seen
                                else f"there is no {target} with id '{value}'"]

    @staticmethod
    def _check_file_type(conn, rt, field, value, errors) -> None:
        """A file field takes files of the content types it accepts (sniffed on upload); an image field
        only raster images (its default `accept`)."""
        t = rt.objects[field.target].table
        if "content_type" not in t.c:
            return
        content_type = conn.execute(select(t.c.content_type).where(t.c.id == value)).scalar()
        if content_type is not None and not accepts(field.options["accept"], content_type):
            errors[field.name] = [f"takes {', '.join(field.options['accept'])}; this file is {content_type}"]

    @staticmethod
    def _check_file_types_bulk(conn, t, field, values, failed, batch) -> None:
        ids = list({v for i, v in enumerate(values) if v is not None and i not in failed})
        types = {}
        for start in range(0, len(ids), 500):
            types.update(conn.execute(select(t.c.id, t.c.content_type).where(t.c.id.in_(ids[start:start + 500]))).all())
        for i, value in enumerate(values):
            if i not in failed and value in types and not accepts(field.options["accept"], types[value]):
                batch.fail(i, field.name, f"takes {', '.join(field.options['accept'])}; this file is {types[value]}")

    def _check_lookups_bulk(self, conn, rt, cobj, batch, access=None) -> None:
        """Every lookup value of the rows that passed so far names a record that exists (and that
        the actor may see): one query per 500 distinct ids."""
        if cobj.pair_fields:
            related.check_bulk(conn, rt, cobj, batch, access)
        links = dict(cobj.relations, owner="user")
        failed = set(batch.errors)   # as a single create: a row's every missing target is named
        for name, target in links.items():
            values = batch.columns.get(name)
            if values is None or target not in rt.objects:
                continue
            wanted = set(values) if not failed else {v for i, v in enumerate(values) if i not in failed}
            wanted.discard(None)
            if not wanted:
                continue
            t = rt.objects[target].table
            scope, message = self._lookup_scope(conn, rt, cobj, name, target, access)
            found = set()
            ids = list(wanted)
            for start in range(0, len(ids), 500):
                stmt = select(t.c.id).where(t.c.id.in_(ids[start:start + 500]))
                found.update(conn.execute(stmt.where(scope) if scope is not None else stmt).scalars())
            field = cobj.obj.fields.get(name)
            if field is not None and field.type in FILE_TYPES and field.options.get("accept") and "content_type" in t.c:
                self._check_file_types_bulk(conn, t, field, values, failed, batch)
            if found >= wanted:
                continue
            for i, value in enumerate(values):
                if i not in failed and value is not None and value not in found:
                    batch.fail(i, name, f"there is no {target} with id '{value}'" if scope is None or message is None
                               else f"there is no {target} with id '{value}' that you can add records under")

    def _check_unique_bulk(self, conn, cobj, batch) -> None:
        table = cobj.table
        for f in cobj.obj.stored_fields:
            values = batch.columns.get(f.name)
            if not f.unique or f.type == "autonumber" or values is None:
                continue
            seen: dict = {}
            for i, value in enumerate(values):
                if value is None:
                    continue
                if value in seen:
                    batch.fail(i, f.name, f"duplicates row {seen[value]}")
                else:
                    seen[value] = i
            distinct = list(seen)
            existing = set()
            for start in range(0, len(distinct), 500):
                existing.update(conn.execute(select(table.c[f.name]).where(
                    table.c[f.name].in_(distinct[start:start + 500]))).scalars())
            for value in existing:
                i = seen.get(value)
                if i is not None:
                    batch.fail(i, f.name, "must be unique: another record has this value")

    def _take_autonumbers(self, conn, cobj, n: int, now=None) -> dict[str, list[str]]:
        """The next `n` numbers of each autonumber field, formatted (a counter row per field; date
        tokens from `now`, the records' creation time)."""
        out = {}
        for f in cobj.autonumbers:
            t = autonumbers
            take = update(t).where(and_(t.c.object == cobj.name, t.c.field == f.name)) \
                .values(next_value=t.c.next_value + n).returning(t.c.next_value)
            after = conn.execute(take).scalar()
            if after is None:   # the field's first numbers: create its counter
                start = int(f.options.get("start", 1))
                try:
                    with conn.begin_nested():   # a concurrent first writer may create it first
                        conn.execute(insert(t).values(object=cobj.name, field=f.name, next_value=start + n))
                    after = start + n
                except IntegrityError:
                    after = conn.execute(take).scalar_one()
            first = after - n
            out[f.name] = [format_autonumber(f.options["format"], first + offset, now) for offset in range(n)]
        return out

    def _insert(self, conn, cobj, rows):
        try:
            cobj.writer(conn.dialect).execute(conn, rows)
        except IntegrityError as exc:
            raise _integrity_error(exc, cobj) from None

    # -- picklist state machines (records/transitions.py) -------------------------------------
    def _check_transitions(self, conn, rt, cobj, actor, prior, merged, now, errors):
        """Every picklist whose final value differs from the saved one must have moved along an
        allowed transition (conditions evaluated on the record as it will be saved)."""
        held = transitions.held_permission_sets(rt.metadata, actor)
        for name, machine in cobj.state_machines.items():
            old, new = prior.get(name), merged.get(name)
            if old == new or name in errors:
                continue

            def holds(condition, target, name=name):
                return self._evaluate(conn, rt, cobj, condition, {**merged, name: target}, prior, now) is True
            refusal = machine.refusal(actor, held, old, new, holds)
            if refusal:
                errors[name] = [refusal]

    @staticmethod
    def _check_currency(rt, values, prior, errors) -> None:
        """A multi-currency record may keep a deactivated currency but not move to one."""
        refusal = rt.metadata.org_settings.choice_refusal(values.get(CURRENCY_FIELD),
                                                          prior.get(CURRENCY_FIELD) if prior else None)
        if refusal and CURRENCY_FIELD not in errors:
            errors[CURRENCY_FIELD] = [refusal]

    def allowed_values(self, actor: Actor, object_name: str, field: str, current, record_id=None) -> list[str] | None:
        """The values `actor` may change `field` to from `current` (in display order, `current` left
        out), by the field's transitions — what the UI offers in forms, the path and the kanban,
        decided by the same rules update() enforces. None: the field has no state machine (any
        value). Transition conditions are evaluated on the saved record `record_id` (read only when
        a move depends on one); without a record, a move that depends on a condition is left out."""
        rt = self.runtime()
        cobj = self._object(rt, object_name)
        machine = cobj.state_machines.get(field)
        if machine is None:
            return None
        held = transitions.held_permission_sets(rt.metadata, actor)
        found = machine.candidates(actor, held, current)
        if record_id is None or all(None in conditions for conditions in found.values()):
            return machine.allowed(actor, held, current, lambda condition, target: False)
        access = self._access(rt, actor, object_name, "read")
        rid = self._parse_record_id(record_id)
        now = _now()
        with self._read() as conn:
            t = cobj.table
            visible = access.visible(object_name, t, conn.dialect.name)
            row = conn.execute(select(t).where(t.c.id == rid, *([visible] if visible is not None else []))) \
                .mappings().first()
            if row is None:
                raise NotFound(f"{object_name} '{record_id}' was not found")
            prior = dict(row)
            return machine.allowed(actor, held, current, lambda condition, target: self._evaluate(
                conn, rt, cobj, condition, {**prior, field: target}, prior, now) is True)


def _integrity_error(exc: IntegrityError, cobj) -> RecordError:
    text = str(exc.orig).lower()
    diag = getattr(exc.orig, "diag", None)
    constraint = (getattr(diag, "constraint_name", None) or "").lower()
    for f in cobj.obj.stored_fields:
        if f.unique and (f"{cobj.obj.table_name}.{f.name}" in text or constraint == f"uq_{cobj.obj.table_name}_{f.name}"):
            return Conflict(f"{f.name}: must be unique: another record has this value",
                            fields={f.name: ["must be unique: another record has this value"]})
    if "foreign key" in text:
        return ForeignKeyConflict("the change conflicts with related records (a lookup refers to a missing or "
                                  "protected record)")
    return Conflict("the change conflicts with existing data")
