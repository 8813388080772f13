"""The record service: the only path to object tables.

Every read and write — REST API, generated forms, setup UI, CSV import, automation, package seed
data — comes through here, so checks live here and only here.

Order of execution for a write (create / update / bulk create), in one transaction — except that
a single create runs steps 1–4 in a read transaction and the rest in a write transaction on the
same connection (see create(): SQLite's one write lock is then not held while Python validates):
  1. load        the object's compiled definition; on update, the current row (locked on PostgreSQL);
                 a record locked by a pending approval refuses updates and deletes (records/hooks.py)
  2. coerce      every input value to its field type; unknown, system and read-only fields rejected
  3. defaults    copy-on-select fields from their lookups (records/copies.py: on create, and on an
                 update that changes the lookup), then literal and expression defaults for fields
                 absent on create (an expression's value checked like input); autonumbers allocated
  4. validate    required fields, lookup targets exist (left to the foreign key when the actor may
                 see every target: _check_lookups), picklist state machines (a change must follow
                 the field's transitions, a new record start in an `initial` value: records/
                 transitions.py), validation rules (with PRIORVALUE/ISCHANGED on update); all
                 problems reported together as 422. Before-save workflows (records/hooks.py) run
                 between 3 and 4: every check sees the write's final values. Users and permission
                 set assignments also pass records/user_rights.py (names that exist, no self-demotion,
                 users never deleted, one administrator kept — checked after the save)
  5. save        INSERT / UPDATE guarded by row_version (optimistic locking: 412 when stale);
                 unique violations become 409. A bulk create checks its validation rules here, in
                 SQL over the rows it just inserted (one query over their id range), and rolls everything
                 back when any row breaks one (_rule_failures_bulk)
  6. history     on update, one field history entry per tracked field whose value changed
                 (records/history.py); a delete takes the record's history (and its cascade-deleted
                 children's) with it. Permission changes (user profile/role/active, permission set
                 assignments, group members) go to the audit log (records/permission_audit.py)
  6b. search   the record's full-text index entry follows its saved row (tessera/search); so do its
                 duplicate rule keys (tessera/dedupe), checked in step 4: a block rule's match
                 refuses the write (409), a warn rule's is returned with the record (`_warnings`);
                 a delete drops both for the children it cascades to as well
  7. roll-ups    nothing to maintain: roll-ups and formulas are computed in the SELECT (records/
                 select.py), so a parent's roll-up is current the moment the child row is saved
  8. commit      and return the record as the API shows it (formulas and roll-ups included)
"""
from __future__ import annotations

from contextlib import contextmanager, nullcontext
from contextvars import ContextVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..currency.personal import default_currency as personal_currency
from ..encryption.masking import unmasked
from ..meta.currencies import CURRENCY_FIELD
from ..meta.fieldtypes import SYSTEM_FIELDS
from ..dedupe import maintain as duplicate_keys
from ..search import maintain as search_index
from ..security.actor import Actor
from ..storage.engine import begin_read, begin_write, mark_write, retry_on_stale_statements
from . import before_save, copies, geo_rows, related, hierarchy, history, natural_keys, permission_audit, user_rights
from . import rows as child_rows
from .before_save import as_input as _as_input
from .hooks import WriteContext
from .coerce import parse_id
from .ids import new_id
from .errors import Conflict, Forbidden, NotFound, StaleVersion, ValidationFailed
from .aggregate import RecordAggregates
from .reads import RecordReads, _now
from .rows import RecordRows
from .search import RecordSearch
from .duplicates import RecordDuplicates
from .merge import RecordMerge
from .select import SelectBuilder
from .serialize import to_api
from .upsert import RecordUpserts
from .write_checks import WriteChecks, _integrity_error
from .write_rules import WriteRules
from .writes import NO_OWNER as _NO_OWNER, RIGHTS_OBJECTS as _RIGHTS_OBJECTS, WRITABLE_SYSTEM as _WRITABLE_SYSTEM
from .writes import reports_workflow_failures as _reports_workflow_failures
from .bulk_create import RecordBulkCreates

# (engine, connection) of the write whose after-save automation is running in this thread: the
# service's reads and writes made by that automation join its transaction (on_connection)
_AMBIENT: ContextVar[tuple | None] = ContextVar("tessera_record_connection", default=None)
_RUNTIME: ContextVar[tuple | None] = ContextVar("tessera_record_runtime", default=None)   # (engine, Runtime)


class RecordService(RecordReads, RecordAggregates, WriteChecks, WriteRules, RecordUpserts, RecordRows, RecordSearch,
                    RecordDuplicates, RecordMerge, RecordBulkCreates):
    """Writes and the order of execution live here (bulk creates: records/bulk_create.py); reads
    (records/reads.py), checks against other rows (records/write_checks.py), expressions on write
    (records/write_rules.py), upserts by external id (records/upsert.py) and grouped figures
    (records/aggregate.py) are its parts;
    natural-key lookups are resolved before step 2 (records/natural_keys.py); child rows written
    with their parent are records/rows.py."""

    def __init__(self, engine, runtime_source, *, secret: bytes):
        self.engine = engine
        self._runtime_source = runtime_source  # callable -> current Runtime
        self._secret = secret
        self.hooks = None   # records.hooks.WriteHooks, registered by the automation layer
        self.locks = None   # records.hooks.RecordLocks (approvals lock records), registered likewise
        # told the user id after a committed write to a user's rights (user or assignment row), so
        # the identity service can drop what it cached about them at once in this process
        self.on_user_change: list = []
        # Cleanup hooks (e.g. files/cleanup.py), for what a record holds outside its row:
        # `before_delete(conn, rt, cobj, ids)` runs before a record's DELETE (ids: a list) and may
        # return `finish(conn)`, run after the DELETE in the same transaction; `after_update(conn,
        # rt, cobj, current, changes)` runs after an UPDATE. Both may return a callable to run once
        # the transaction committed.
        self.cleanup_hooks: list = []

    # -- transactions -------------------------------------------------------------------------
    @contextmanager
    def on_connection(self, conn):
        """Within this block, this thread's record service calls run on `conn`, inside its open
        transaction, instead of their own: after-save automation writes with the write that
        triggered it, and all of it commits or rolls back together."""
        token = _AMBIENT.set((self.engine, conn))
        try:
            yield conn
        finally:
            _AMBIENT.reset(token)

    def _joined(self):
        ambient = _AMBIENT.get()
        return ambient[1] if ambient is not None and ambient[0] is self.engine else None

    def is_joined(self) -> bool:
        """True inside `on_connection`: this thread's calls run on someone else's open transaction."""
        return self._joined() is not None

    def _write(self):
        conn = self._joined()
        return nullcontext(conn) if conn is not None else begin_write(self.engine)

    def _read(self):
        conn = self._joined()
        return nullcontext(conn) if conn is not None else begin_read(self.engine)

    @contextmanager
    def on_runtime(self, runtime):
        """Within this block, this thread's record service calls use `runtime` (a version being
        applied, not yet active: a package upgrade's data patches write through the new
        metadata, on the upgrade's connection — see on_connection)."""
        token = _RUNTIME.set((self.engine, runtime))
        try:
            yield runtime
        finally:
            _RUNTIME.reset(token)

    # -- helpers ------------------------------------------------------------------------------
    def runtime(self):
        override = _RUNTIME.get()
        if override is not None and override[0] is self.engine:
            return override[1]
        return self._runtime_source()

    def _object(self, rt, name):
        cobj = rt.objects.get(name) if isinstance(name, str) else None
        if cobj is None:
            raise NotFound(f"there is no object '{name}'")
        return cobj

    def _builder(self, rt, name, conn, now, access=None):
        return SelectBuilder(rt, name, dialect_name=conn.dialect.name, now=now, access=access, shared=True)

    def _access(self, rt, actor: Actor, object_name: str, action: str):
        """The actor's Access, after checking the object right (403 without it)."""
        access = rt.security.access_for(actor)
        if not access.can(object_name, action):
            raise Forbidden(f"you do not have permission to {action} {object_name} records")
        return access

    # -- writes -------------------------------------------------------------------------------
    @_reports_workflow_failures
    @retry_on_stale_statements
    def create(self, actor: Actor, object_name: str, data: dict, *, from_text: bool = False,
               platform_values: dict | None = None, allow_duplicates: bool = False) -> dict:
        """platform_values: values of read-only fields the platform sets itself (a file's size and
        checksum on upload), trusted as stored values: never from a client's input.
        allow_duplicates: save despite block duplicate rules that allow an override."""
        rt = self.runtime()
        cobj = self._object(rt, object_name)
        access = self._access(rt, actor, object_name, "create")
        if child_rows.named_in(cobj.obj, data):
            return self._create_with_rows(actor, object_name, data, from_text, allow_duplicates)
        if isinstance(data, dict):
            self._check_field_rights(access, cobj, data, actor, owner=None)
        now = _now()
        values = None
        # Two transactions on one connection: the checks read, then the writes run with the write
        # lock. On SQLite (one writer at a time) the lock is then held for the INSERT, not for the
        # Python work of coercing and validating — under concurrent writers that work, stalled by
        # the GIL, kept every other writer waiting. What the checks read can change before the
        # INSERT exactly as under PostgreSQL's READ COMMITTED; the foreign keys still guard
        # existence. Rules of an object with autonumbers run after numbering, with the writes.
        rules_after_numbering = bool(cobj.autonumbers)
        logged: list = []
        joined = self._joined()   # automation creating a record joins the triggering write
        try:
            with nullcontext(joined) if joined is not None else self.engine.connect() as conn:
                with nullcontext() if joined is not None else conn.begin():
                    values, errors = self._prepare_create(conn, rt, cobj, data, actor, now, from_text,
                                                          access=access, trust_foreign_keys=True,
                                                          platform_values=platform_values, log=logged)
                    if errors:
                        raise ValidationFailed(_summary(errors), fields=errors)
                    if not rules_after_numbering:
                        self._check_rules_or_raise(conn, rt, cobj, values, None, now, actor.user_id)
                    warnings = self._check_duplicates(conn, rt, cobj, access, values, now, actor, allow_duplicates)
                with nullcontext() if joined is not None else mark_write(conn).begin():
                    for name, numbers in self._take_autonumbers(conn, cobj, 1, now).items():
                        values[name] = numbers[0]
                    if rules_after_numbering:
                        self._check_rules_or_raise(conn, rt, cobj, values, None, now, actor.user_id)
                    tree = cobj.obj.hierarchy_field
                    if tree is not None and values.get(tree.name) is not None:
                        hierarchy.lock(conn, object_name)   # before the row locks the INSERT takes
                    if cobj.obj.row_links:
                        child_rows.append_positions(conn, cobj, [values])
                    self._insert(conn, cobj, [values])
                    if logged:   # the before-save runs, written with the record (not by the checks)
                        self.hooks.flush_logged(self._write_context(conn, rt, cobj, actor, now), logged)
                    search_index.written(conn, cobj, [values["id"]], new=True)
                    duplicate_keys.written(conn, cobj, [values], new=True)
                    if tree is not None and values.get(tree.name) is not None:
                        hierarchy.check_written(conn, cobj, [values["id"]])
                    if object_name in permission_audit.AUDITED:
                        permission_audit.created(conn, rt, actor, object_name, [values])
                    acted = self._after_save(conn, rt, cobj, actor, now, "create", values, None)
                    record = self._load_full(conn, rt, cobj, values["id"], access=access,
                                             known=None if acted else values)
            if object_name == "permission_set_assignment":
                self._user_changed(values.get("user"))
            if warnings:
                record["_warnings"] = warnings
            return record
        except Conflict as conflict:
            if not conflict.foreign_key or values is None:
                raise
            # the foreign key caught a lookup to a missing record: name it, as the check would have
            errors = {}
            with self._read() as conn:
                self._check_lookups(conn, rt, cobj, values, errors, access)
            if errors:
                raise ValidationFailed(_summary(errors), fields=errors) from None
            raise

    @_reports_workflow_failures
    @retry_on_stale_statements
    def update(self, actor: Actor, object_name: str, record_id, data: dict, *, expected_version: int | None = None,
               from_text: bool = False, allow_duplicates: bool = False, platform_values: dict | None = None) -> dict:
        """platform_values: as for create — stored values of read-only fields the platform sets
        itself (a conversion marking its record converted), never from a client's input."""
        rt = self.runtime()
        cobj = self._object(rt, object_name)
        access = self._access(rt, actor, object_name, "edit")
        rid = self._parse_record_id(record_id)
        if not isinstance(data, dict):
            raise ValidationFailed("expected a JSON object of field values")
        if child_rows.named_in(cobj.obj, data):
            return self._update_with_rows(actor, object_name, record_id, data, expected_version, from_text,
                                          allow_duplicates)
        now = _now()
        with self._write() as conn:
            if cobj.obj.hierarchy_field is not None and cobj.obj.hierarchy_field.name in data:
                hierarchy.lock(conn, object_name)   # before any row lock: see records/hierarchy.py
            current = self._current_for_write(conn, access, cobj, rid, record_id)
            if self.locks is not None:
                self.locks.check(conn, rt, object_name, rid, actor, "update")
            data = unmasked(cobj.obj, access, data, current)   # a mask sent back keeps the value
            self._check_field_rights(access, cobj, data, actor, owner=current["owner"])
            if expected_version is not None and current["row_version"] != expected_version:
                raise StaleVersion(f"{object_name} '{record_id}' was changed by someone else "
                                   f"(version {current['row_version']}, you had {expected_version})")
            data, key_errors = natural_keys.resolve(conn, rt, cobj, data, access, from_text)
            changes, errors = self._coerce_input(cobj, data, from_text)
            errors.update(key_errors)
            changes.update(platform_values or {})
            if cobj.copies:   # step 3: a changed lookup re-copies its copy-on-select fields
                copies.on_update(conn, rt, cobj, data, changes, current, now, _as_input, errors)
            merged = {**current, **changes}
            if not errors:
                automated = self._before_save(conn, rt, cobj, actor, now, "update", merged, dict(current))
                changes.update(automated)
                merged.update(automated)
            for name in cobj.required:
                if name in changes and merged.get(name) is None and name not in errors:
                    errors.setdefault(name, []).append("is required")
            if cobj.obj.one_parent and not set(cobj.obj.one_parent).isdisjoint(changes):
                child_rows.one_parent_errors(cobj.obj, merged, errors)
            self._check_lookups(conn, rt, cobj, changes, errors, access)
            if cobj.state_machines:
                self._check_transitions(conn, rt, cobj, actor, dict(current), merged, now, errors)
            if cobj.obj.multi_currency:
                self._check_currency(rt, merged, current, errors)
            guarded = object_name in _RIGHTS_OBJECTS
            if guarded:
                user_rights.check_values(rt.metadata, object_name, merged, errors, changed=changes)
            if errors:
                raise ValidationFailed(_summary(errors), fields=errors)
            was_admin = False
            if guarded:
                user_rights.check_update(actor, object_name, current, changes)
                if object_name == "permission_set_assignment" or changes.get("active") is False or \
                        ("profile" in changes and changes["profile"] != current.get("profile")):
                    was_admin = user_rights.is_admin(conn, rt, user_rights.user_of(object_name, current))
            prior = dict(current)
            self._check_rules_or_raise(conn, rt, cobj, merged, prior, now, actor.user_id)
            # only a change of a compared field is checked: editing anything else of a record that
            # already has duplicates is not refused for them
            rekey = duplicate_keys.touches(cobj, changes)
            warnings = self._check_duplicates(conn, rt, cobj, access, merged, now, actor, allow_duplicates,
                                              exclude=rid) if rekey else []
            moved = child_rows.link_of(cobj.obj, merged) if cobj.obj.row_links else None
            if moved is not None and moved != child_rows.link_of(cobj.obj, current):   # appended to its new parent
                changes[child_rows.POSITION] = child_rows.next_position(conn, cobj.table, *moved)
            changes.update(updated_at=now, updated_by=actor.user_id, row_version=current["row_version"] + 1)
            try:
                result = conn.execute(cobj.row_update, {**geo_rows.split(cobj.pair_fields, changes), "_rid": rid,
                                                        "_rv": current["row_version"]})
            except IntegrityError as exc:
                raise _integrity_error(exc, cobj) from None
            if result.rowcount != 1:
                raise StaleVersion(f"{object_name} '{record_id}' was changed by someone else")
            if search_index.touches(cobj.obj, changes):
                search_index.written(conn, cobj, [rid])
            if rekey:
                duplicate_keys.written(conn, cobj, [{**merged, "id": rid}])
            tree = cobj.obj.hierarchy_field
            if tree is not None and changes.get(tree.name) is not None and changes[tree.name] != current[tree.name]:
                hierarchy.check_written(conn, cobj, [rid])
            if child_rows.POSITION in changes:
                child_rows.close_gap(conn, cobj, current)
            history.record_changes(conn, cobj, current, changes, actor, now)
            after_commit = [hook.after_update(conn, rt, cobj, current, changes) for hook in self.cleanup_hooks]
            if object_name in permission_audit.AUDITED:
                permission_audit.updated(conn, rt, actor, object_name, current, changes)
            if guarded:
                user_rights.after_write(conn, rt, actor, object_name, current, changes, was_admin)
            saved = {**current, **changes}
            acted = self._after_save(conn, rt, cobj, actor, now, "update", saved, dict(current))
            record = self._load_full(conn, rt, cobj, rid, access=access, known=None if acted else saved)
        for run in after_commit:
            if run is not None:
                run()
        if guarded:
            self._user_changed(user_rights.user_of(object_name, current), changes.get("user"))
        if warnings:
            record["_warnings"] = warnings
        return record

    @_reports_workflow_failures
    @retry_on_stale_statements
    def delete(self, actor: Actor, object_name: str, record_id, *, expected_version: int | None = None) -> None:
        rt = self.runtime()
        cobj = self._object(rt, object_name)
        access = self._access(rt, actor, object_name, "delete")
        rid = self._parse_record_id(record_id)
        table = cobj.table
        with self._write() as conn:
            current = self._current_for_write(conn, access, cobj, rid, record_id)
            if self.locks is not None:
                self.locks.check(conn, rt, object_name, rid, actor, "delete")
            if expected_version is not None and current["row_version"] != expected_version:
                raise StaleVersion(f"{object_name} '{record_id}' was changed by someone else "
                                   f"(version {current['row_version']}, you had {expected_version})")
            guarded = object_name in _RIGHTS_OBJECTS
            was_admin = False
            if guarded:
                user_rights.before_delete(actor, object_name, current)
                was_admin = user_rights.is_admin(conn, rt, user_rights.user_of(object_name, current))
            for child_name, field in cobj.restricted_by:
                child = rt.objects[child_name].table
                n = conn.execute(select(child.c.id).where(child.c[field] == rid).limit(1)).first()
                if n is not None:
                    raise Conflict(f"{object_name} '{record_id}' cannot be deleted: {child_name} records refer to it "
                                   f"through '{field}'", details={"referenced_by": f"{child_name}.{field}"})
            history.delete_for_records(conn, rt, cobj, [rid])
            search_index.deleting(conn, rt, cobj, [rid])   # with its cascade-deleted children's
            duplicate_keys.deleting(conn, rt, cobj, [rid])
            related.on_delete(conn, rt, cobj, [rid])   # no foreign key does it for a related_to
            finishing = [hook.before_delete(conn, rt, cobj, [rid]) for hook in self.cleanup_hooks]
            try:
                conn.execute(table.delete().where(table.c.id == rid))
            except IntegrityError as exc:
                raise _integrity_error(exc, cobj) from None
            after_commit = [finish(conn) for finish in finishing if finish is not None]
            if cobj.obj.row_links:
                child_rows.close_gap(conn, cobj, current)
            if object_name in permission_audit.AUDITED:
                permission_audit.deleted(conn, rt, actor, object_name, current)
            if guarded:
                user_rights.after_write(conn, rt, actor, object_name, current, None, was_admin)
            self._after_save(conn, rt, cobj, actor, _now(), "delete", dict(current), dict(current))
        for run in after_commit:   # joined to an outer write, it re-checks against committed data
            if run is not None:
                run()
        if guarded:
            self._user_changed(user_rights.user_of(object_name, current))

    def _user_changed(self, *user_ids) -> None:
        for user_id in user_ids:
            if user_id is not None:
                for listener in self.on_user_change:
                    listener(user_id)

    # -- steps ------------------------------------------------------------------------------
    def _current_for_write(self, conn, access, cobj, rid, record_id):
        """The row to change, locked: 404 if the actor cannot see it, 403 if they may only read it."""
        table = cobj.table
        stmt = cobj.current_select  # SELECT * WHERE id = :_rid FOR UPDATE, built once
        visible = access.visible(cobj.name, table, conn.dialect.name)
        if visible is not None:
            stmt = stmt.where(visible)
        current = conn.execute(stmt, {"_rid": rid}).mappings().first()
        if current is None:
            raise NotFound(f"{cobj.name} '{record_id}' was not found")
        if cobj.pair_fields:
            current = geo_rows.fold(cobj.pair_fields, current)
        editable = access.editable(cobj.name, table, conn.dialect.name)
        if editable is not None and conn.execute(select(table.c.id).where(table.c.id == rid, editable)).first() is None:
            raise Forbidden(f"you have read-only access to {cobj.name} '{record_id}'")
        return current

    @staticmethod
    def _uneditable(access, cobj) -> frozenset:
        """The fields `access` may not set, per permission combination, per Runtime."""
        uneditable = cobj.uneditable_fields.get(access.rights)
        if uneditable is None:
            uneditable = cobj.uneditable_fields[access.rights] = frozenset(
                name for name in cobj.obj.fields if not access.can_edit_field(cobj.name, name))
        return uneditable

    def _check_field_rights(self, access, cobj, data, actor, *, owner):
        """Field-level security on input: uneditable fields are refused by name, never dropped."""
        if access.unrestricted:
            return
        denied = {}
        uneditable = self._uneditable(access, cobj)
        if not uneditable.isdisjoint(data):
            for name in data:
                if name in uneditable:
                    denied[name] = ["you do not have permission to edit this field"]
        if "owner" in data and not access.can_transfer(cobj.name):
            wanted = data["owner"]
            current = owner if owner is not None else actor.user_id
            if wanted is None or str(wanted) != str(current):
                denied["owner"] = ["changing the owner needs the transfer_records permission"]
        if denied:
            raise Forbidden("you do not have permission to set: " + ", ".join(sorted(denied)), fields=denied)

    def _coerce_input(self, cobj, data, from_text) -> tuple[dict, dict[str, list[str]]]:
        values, errors = {}, {}
        fields = cobj.obj.fields
        for name, raw in data.items():
            coerce = cobj.coercers.get(name)
            if coerce is None:
                if name in _WRITABLE_SYSTEM:
                    coerce = parse_id_or_error
                elif name in SYSTEM_FIELDS:
                    errors[name] = ["is a system field and cannot be set"]
                    continue
                elif name in fields:
                    errors[name] = ["is read-only"]
                    continue
                else:
                    errors[name if isinstance(name, str) else str(name)] = ["is not a field of " + cobj.name]
                    continue
            if raw is None or raw == "":
                if name == "owner":
                    errors["owner"] = [_NO_OWNER]
                    continue
                values[name] = None
                continue
            try:
                values[name] = coerce(raw, from_text)
            except ValueError as exc:
                errors[name] = [str(exc)]
        return values, errors

    def _prepare_create(self, conn, rt, cobj, data, actor, now, from_text, *, check_lookups=True, access=None,
                        trust_foreign_keys=False, platform_values=None, log=None):
        """Steps 2–4 of a create. `log`: where before-save workflows leave their runs for the
        caller to write with the record (None: at once, on `conn`)."""
        if not isinstance(data, dict):
            return {}, {"_record": ["expected a JSON object of field values"]}
        data, key_errors = natural_keys.resolve(conn, rt, cobj, data, access, from_text)
        values, errors = self._coerce_input(cobj, data, from_text)
        values.update(platform_values or {})
        errors.update(key_errors)
        if cobj.name in _RIGHTS_OBJECTS:
            user_rights.check_values(rt.metadata, cobj.name, values, errors)
        copied = copies.on_create(conn, rt, cobj, data, values, now, _as_input, errors) if cobj.copies else ()
        personal = personal_currency(conn, rt, actor) if cobj.obj.multi_currency and CURRENCY_FIELD not in data else None
        for field, default in cobj.defaults:
            if field.name in data or field.name in copied:
                continue
            if personal and field.name == CURRENCY_FIELD:
                default = personal     # the creator's own default currency (currency/personal.py)
            if hasattr(default, "evaluate"):
                result = self._evaluate(conn, rt, cobj, default, values, None, now)
                try:   # checked like input: an expression can give a value the field does not take
                    values[field.name] = _as_input(cobj, field, result)
                except ValueError as exc:
                    errors[field.name] = [f"its default expression gives {to_api(result, field.type)!r}, which {exc}"]
            else:
                try:
                    values[field.name] = cobj.coercers[field.name](default, True) if field.name in cobj.coercers else default
                except ValueError:
                    values[field.name] = default
        values.setdefault("owner", actor.user_id)
        values["id"] = new_id()   # before the before-save workflows, whose runs name the record
        if not errors:
            values.update(self._before_save(conn, rt, cobj, actor, now, "create", values, None, log))
        for name in cobj.required:
            if values.get(name) is None and name not in errors:
                errors[name] = ["is required"]
        child_rows.one_parent_errors(cobj.obj, values, errors)
        for name, machine in cobj.state_machines.items():
            refusal = machine.start_refusal(values.get(name))
            if refusal and name not in errors:
                errors[name] = [refusal]
        if cobj.obj.multi_currency:
            self._check_currency(rt, values, None, errors)
        if check_lookups:
            self._check_lookups(conn, rt, cobj, values, errors, access, trust_foreign_keys=trust_foreign_keys)
        values.update(created_at=now, updated_at=now, created_by=actor.user_id,
                      updated_by=actor.user_id, row_version=1)
        if platform_values:   # the platform writing for a user (an attachment) names them
            values.update({k: v for k, v in platform_values.items() if k in ("created_by", "updated_by")})
        return values, errors

    def copied_values(self, actor: Actor, object_name: str, lookup: str, target_id) -> dict:
        """What a form shows in the copy-on-select fields of `lookup` once the user picks the
        record `target_id` — the values a save would copy (records/copies.py), as API values.
        Only a record the actor may see, only fields the actor may read; {} without copies."""
        rt = self.runtime()
        cobj = self._object(rt, object_name)
        access = self._access(rt, actor, object_name, "read")
        wanted = [c for c in cobj.copies if c.lookup == lookup and access.can_read_field(object_name, c.field.name)]
        if not wanted or wanted[0].target not in rt.objects:
            return {}
        rid = self._parse_record_id(target_id)
        target = wanted[0].target
        now = _now()
        with self._read() as conn:
            t = rt.objects[target].table
            visible = access.visible(target, t, conn.dialect.name) if access.can(target, "read") else False
            if visible is False or conn.execute(select(t.c.id).where(
                    t.c.id == rid, *([visible] if visible is not None else []))).first() is None:
                raise NotFound(f"{target} '{target_id}' was not found")
            out = {}
            for copy in wanted:
                try:
                    value = _as_input(cobj, copy.field, copies.source_values(conn, rt, copy, [rid], now).get(rid))
                except ValueError:
                    value = None   # a save would refuse it and say why; the form shows nothing
                out[copy.field.name] = to_api(value, copy.field.type)
            return out

    # -- automation (records/hooks.py) -------------------------------------------------------
    def automation_context(self, conn, object_name: str, actor: Actor, now=None) -> WriteContext:
        """A WriteContext for automation that acts on saved records outside a write of theirs
        (time-relative, scheduled and manual workflows), on `conn`'s transaction."""
        rt = self.runtime()
        return self._write_context(conn, rt, self._object(rt, object_name), actor, now or _now())

    def stored_row(self, conn, object_name: str, record_id) -> dict | None:
        """The saved row as the write path holds it (system columns and stored fields), locked
        for the rest of `conn`'s transaction; None when there is no such record."""
        rt = self.runtime()
        cobj = self._object(rt, object_name)
        row = conn.execute(cobj.current_select, {"_rid": self._parse_record_id(record_id)}).mappings().first()
        return geo_rows.fold(cobj.pair_fields, row) if row is not None else None

    def _automated(self, rt, cobj, event, timing) -> bool:
        return self.hooks is not None and self.hooks.wants(rt, cobj.name, event, timing)

    def _write_context(self, conn, rt, cobj, actor, now, log=None) -> WriteContext:
        return WriteContext(conn, rt, cobj.name, actor, now,
                            lambda compiled, values, prior: self._evaluate(conn, rt, cobj, compiled, values, prior, now,
                                                                           actor.user_id),
                            log,
                            lambda compiled, records, priors: self._evaluate_rows(conn, rt, cobj, compiled, records,
                                                                                  priors, now, actor.user_id))

    def _before_save(self, conn, rt, cobj, actor, now, event, values, prior, log=None) -> dict:
        """Before-save workflow updates of the record being saved, as stored values (checked like
        input: a value the field does not take fails the write naming the workflow)."""
        if not self._automated(rt, cobj, event, "before_save"):
            return {}
        return before_save.checked(cobj, self.hooks.before_save(self._write_context(conn, rt, cobj, actor, now, log),
                                                                event, values, prior))

    def _after_save(self, conn, rt, cobj, actor, now, event, values, prior) -> bool:
        """After-save automation, joined to this write's transaction. True when something ran."""
        if not self._automated(rt, cobj, event, "after_save"):
            return False
        with self.on_connection(conn):
            self.hooks.after_save(self._write_context(conn, rt, cobj, actor, now), event, values, prior)
        return True


def parse_id_or_error(value, from_text=False):
    return parse_id(value)


def _summary(errors: dict[str, list[str]]) -> str:
    parts = [f"{name}: {'; '.join(msgs)}" for name, msgs in errors.items()]
    return "invalid input: " + ", ".join(parts)

