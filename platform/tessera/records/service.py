"""The record service: the only path to object tables.

Every read and write — REST API, generated forms, setup UI, CSV import, automation, package seed
data — comes through here, so checks live here and only here.

Order of execution for a write (create / update / bulk create), in one transaction — except that
a single create runs steps 1–4 in a read transaction and the rest in a write transaction on the
same connection (see create(): SQLite's one write lock is then not held while Python validates):
  1. load        the object's compiled definition; on update, the current row (locked on PostgreSQL);
                 a record locked by a pending approval refuses updates and deletes (records/hooks.py)
  2. coerce      every input value to its field type; unknown, system and read-only fields rejected
  3. defaults    literal and expression defaults for fields absent on create (an expression's value
                 checked like input); autonumbers allocated
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
  7. roll-ups    nothing to maintain: roll-ups and formulas are computed in the SELECT (records/
                 select.py), so a parent's roll-up is current the moment the child row is saved
  8. commit      and return the record as the API shows it (formulas and roll-ups included)
"""
from __future__ import annotations

import functools
import hashlib
import re
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from operator import attrgetter
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import and_, case, func, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..expr import ExprError, compile_expression
from ..meta.fieldtypes import SYSTEM_FIELDS, USER_LINKS
from ..meta.validate import resolver
from ..security.actor import SYSTEM, Actor
from ..storage.engine import begin_read, begin_write, mark_write, retry_on_stale_statements
from ..storage.platform_tables import autonumbers
from . import bulk, cursor as cursors, history, keyset, permission_audit, transitions, user_rights
from .hooks import WriteContext
from .coerce import NUL, coercer_for, parse_id
from .ids import new_id, new_ids
from .errors import (BadQuery, BulkFailed, Conflict, ForeignKeyConflict, Forbidden, NotFound, RecordError,
                     StaleVersion, ValidationFailed, WorkflowFailed)
from .select import SelectBuilder
from .serialize import to_api, to_python

MAX_LIMIT = 1000
# What an actor may do to one record they can see (`get(with_access=True)`, `access_level`):
#   full  edit and delete it;  edit  edit it, not delete it;  read  only read it.
ACCESS_LEVELS = ("read", "edit", "full")
_WRITABLE_SYSTEM = {"owner"}
_NO_OWNER = "cannot be empty: every record has an owner"
# the objects whose rows decide who may do what: guarded by records/user_rights.py on every write
_RIGHTS_OBJECTS = frozenset(("user", "permission_set_assignment"))
_NUMBER_GROUP = re.compile(r"\{(0+)\}")
# (engine, connection) of the write whose after-save automation is running in this thread: the
# service's reads and writes made by that automation join its transaction (on_connection)
_AMBIENT: ContextVar[tuple | None] = ContextVar("tessera_record_connection", default=None)


@dataclass
class QueryResult:
    records: list[dict]
    next_cursor: str | None
    total: int | None = None


def _now() -> datetime:
    return datetime.now(timezone.utc)


def format_autonumber(fmt: str, n: int) -> str:
    return _NUMBER_GROUP.sub(lambda m: str(n).zfill(len(m.group(1))), fmt, count=1)


MAX_PATHS = {"fields": 500, "sort": 32}   # a SELECT has at most ~1,600 columns (PostgreSQL), 2,000 (SQLite)


def parse_paths(text_or_list, what: str) -> list[tuple[str, ...]]:
    items = text_or_list.split(",") if isinstance(text_or_list, str) else list(text_or_list or ())
    limit = MAX_PATHS.get(what, MAX_PATHS["fields"])
    if len(items) > limit:
        raise BadQuery(f"{what}: at most {limit} entries ({len(items)} given)")
    paths = []
    for item in items:
        item = item.strip() if isinstance(item, str) else item
        if not item or not isinstance(item, str) or not re.fullmatch(r"-?[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){0,4}", item):
            raise BadQuery(f"{what}: {item!r} is not a field name or path")
        paths.append(item)
    return paths


def _reports_workflow_failures(method):
    """A write whose workflow failed has rolled back, taking the run log entry with it: once the
    outermost write is over, the automation layer records the failed runs on their own."""
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except WorkflowFailed as exc:
            if self.hooks is not None and self._joined() is None:
                self.hooks.record_failures(exc)
            raise
    return run


class RecordService:
    def __init__(self, engine, runtime_source, *, secret: bytes):
        self.engine = engine
        self._runtime_source = runtime_source  # callable -> current Runtime
        self._secret = secret
        self.hooks = None   # records.hooks.WriteHooks, registered by the automation layer
        self.locks = None   # records.hooks.RecordLocks (approvals lock records), registered likewise
        # told the user id after a committed write to a user's rights (user or assignment row), so
        # the identity service can drop what it cached about them at once in this process
        self.on_user_change: list = []

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

    def _write(self):
        conn = self._joined()
        return nullcontext(conn) if conn is not None else begin_write(self.engine)

    def _read(self):
        conn = self._joined()
        return nullcontext(conn) if conn is not None else begin_read(self.engine)

    # -- helpers ------------------------------------------------------------------------------
    def runtime(self):
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

    def _editable_column(self, access, object_name, alias, dialect_name):
        """1 when sharing opens the record for writing, else 0 — the very predicate update() and
        delete() check (_current_for_write), as a column. None: no SQL needed (every record is
        writable, or the object right already says read-only)."""
        if not access.can(object_name, "edit"):
            return None
        predicate = access.editable(object_name, alias, dialect_name)
        return None if predicate is None else case((predicate, literal(1)), else_=literal(0))

    @staticmethod
    def _access_level(access, object_name, shared_for_edit) -> str:
        """Object rights (decided in Python) combined with the record's edit sharing (from SQL).
        A delete right without the edit right counts as `read`: the UI offers delete with edit."""
        if not shared_for_edit or not access.can(object_name, "edit"):
            return "read"
        return "full" if access.can(object_name, "delete") else "edit"

    def _readable_paths(self, rt, access, cobj, paths, what):
        """Unknown and unreadable paths get the same 400: hidden fields cannot be probed."""
        key = (access.rights, cobj.name, tuple(paths))   # the answer depends on nothing else
        if key in rt.readable_paths:
            return
        for p in paths:
            path = tuple(p.split("."))
            if rt.metadata.resolve_path(cobj.obj, path) is None or not access.readable_path(cobj.name, path):
                raise BadQuery(f"{what}: '{p}' is not a field of {cobj.name}")
        if len(rt.readable_paths) > 10000:   # client-chosen `fields` lists: keep it bounded
            rt.readable_paths.clear()
        rt.readable_paths.add(key)

    def _default_paths(self, access, cobj) -> list[str]:
        paths = cobj.default_paths.get(access.rights)   # per permission combination, per Runtime
        if paths is None:
            paths = cobj.default_paths[access.rights] = tuple(
                p for p in cobj.output_fields if access.can_read_field(cobj.name, p))
        return list(paths)

    def _filter_resolver(self, rt, access, cobj):
        base = resolver(rt.metadata, cobj.obj)
        return lambda path: base(path) if access.readable_path(cobj.name, tuple(path)) else None

    def _columns(self, b: SelectBuilder, paths, what):
        return [b.column(tuple(p.split("."))) for p in paths]

    # -- reads --------------------------------------------------------------------------------
    @retry_on_stale_statements
    def query(self, actor: Actor, object_name: str, *, filter: str | None = None, sort=None, fields=None,
              limit: int = 50, cursor: str | None = None, count: bool = False,
              with_access: bool = False) -> QueryResult:
        """with_access: each record also carries `_access` (one of ACCESS_LEVELS)."""
        rt = self.runtime()
        cobj = self._object(rt, object_name)
        access = self._access(rt, actor, object_name, "read")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise BadQuery(f"limit must be an integer from 1 to {MAX_LIMIT}")
        paths = parse_paths(fields, "fields") if fields else self._default_paths(access, cobj)
        if any(p.startswith("-") for p in paths):
            raise BadQuery("fields: names cannot start with '-'")
        self._readable_paths(rt, access, cobj, paths, "fields")
        if "id" not in paths:
            paths.insert(0, "id")
        sort_keys = parse_paths(sort, "sort") if sort else []
        self._readable_paths(rt, access, cobj, [k.lstrip("-") for k in sort_keys], "sort")
        for key in sort_keys:
            steps = rt.metadata.resolve_path(cobj.obj, tuple(key.lstrip("-").split(".")))
            last = steps[-1][0].fields.get(steps[-1][1]) if steps else None
            if last is not None and last.type == "json":
                raise BadQuery(f"sort: cannot sort by '{key.lstrip('-')}' (a json field has no order)")
        now = _now()
        with self._read() as conn:
            b = self._builder(rt, object_name, conn, now, access)
            out_cols = self._columns(b, paths, "fields")
            where = []
            visible = access.visible(object_name, b.base, conn.dialect.name)
            if visible is not None:
                where.append(visible)
            if filter is not None:
                if not isinstance(filter, str) or not filter.strip():
                    raise BadQuery("filter: must be a non-empty expression")
                if NUL in filter:   # PostgreSQL refuses NUL in text: refused alike on every database
                    raise BadQuery("filter: must not contain the NUL character (\\u0000)")
                try:
                    compiled = compile_expression(filter, self._filter_resolver(rt, access, cobj), expected="boolean")
                except ExprError as exc:
                    raise BadQuery(f"filter: {exc}") from None
                where.append(b.condition(compiled))
            sort_cols = self._columns(b, [k.lstrip("-") for k in sort_keys], "sort")
            directions = [k.startswith("-") for k in sort_keys]
            nullable = [k.lstrip("-") not in keyset.NOT_NULL for k in sort_keys]
            if not sort_keys:  # default order: oldest first; id breaks ties (stable keyset)
                sort_cols, directions, nullable = [b.base.c.created_at], [False], [False]
            # the cursor is bound to the query *and* the actor: it cannot be replayed by someone else
            cursor_key = hashlib.sha256(repr((object_name, filter, sort_keys, str(actor.user_id))).encode()).hexdigest()[:16]
            values = None
            if cursor:
                values = cursors.decode(self._secret, cursor_key, cursor)
                if len(values) != len(sort_cols) + 1:
                    raise BadQuery("invalid cursor (it must come from next_cursor of the same query)")
            labeled = [c.label(f"c{i}") for i, c in enumerate(out_cols)]
            sort_labeled = [c.label(f"s{i}") for i, c in enumerate(sort_cols)]
            editable = self._editable_column(access, object_name, b.base, conn.dialect.name) if with_access else None
            access_cols = [editable.label("k_edit")] if editable is not None else []
            stmt = (select(*labeled, *sort_labeled, *access_cols, b.base.c.id.label("k_id")).select_from(b.from_clause)
                    .where(*where))
            # ORDER BY, LIMIT and the cursor, shaped so an index can serve them (records/keyset.py)
            rows = keyset.fetch(conn, stmt, where, sort_cols, directions, nullable, b.base.c.id, values, limit + 1)
            types = [b.field_type(tuple(p.split("."))) for p in paths]
            total = None
            if count:
                if values:
                    where.append(keyset.after(sort_cols, directions, values[:-1], b.base.c.id, values[-1]))
                total = conn.execute(select(func.count()).select_from(b.from_clause).where(*where)).scalar_one()
        more = len(rows) > limit
        rows = rows[:limit]
        records = [{p: to_api(row[i], t) for i, (p, t) in enumerate(zip(paths, types))} for row in rows]
        if with_access:
            at = len(paths) + len(sort_cols)
            for record, row in zip(records, rows):
                record["_access"] = self._access_level(access, object_name, row[at] if access_cols else True)
        next_cursor = None
        if more and rows:
            last = rows[-1]
            n = len(paths)
            next_cursor = cursors.encode(self._secret, cursor_key,
                                         [to_python(v) for v in last[n:n + len(sort_cols)]] + [last[-1]])
        return QueryResult(records, next_cursor, total)

    @retry_on_stale_statements
    def get(self, actor: Actor, object_name: str, record_id, *, fields=None, with_access: bool = False) -> dict:
        """with_access: the record also carries `_access` (one of ACCESS_LEVELS), computed in the
        same SELECT from the same sharing predicate that update() and delete() enforce."""
        rt = self.runtime()
        cobj = self._object(rt, object_name)
        access = self._access(rt, actor, object_name, "read")
        rid = self._parse_record_id(record_id)
        with self._read() as conn:
            record = self._load_full(conn, rt, cobj, rid, fields=fields, access=access, check_visible=True,
                                     with_access=with_access)
        if record is None:
            raise NotFound(f"{object_name} '{record_id}' was not found")
        return record

    def access_level(self, actor: Actor, object_name: str, record_id) -> str:
        """'read', 'edit' or 'full' for a record the actor can see (404 if they cannot)."""
        return self.get(actor, object_name, record_id, fields=["id"], with_access=True)["_access"]

    @retry_on_stale_statements
    def find_by(self, actor: Actor, object_name: str, field: str, value) -> dict | None:
        """The record whose `field` equals `value` (meant for unique fields, e.g. user.username)."""
        rt = self.runtime()
        cobj = self._object(rt, object_name)
        access = self._access(rt, actor, object_name, "read")
        if not access.can_read_field(object_name, field):
            raise BadQuery(f"'{field}' is not a field of {object_name}")
        with self._read() as conn:
            table = cobj.table.alias()
            stmt = select(table.c.id).where(table.c[field] == value)
            visible = access.visible(object_name, table, conn.dialect.name)
            if visible is not None:
                stmt = stmt.where(visible)
            rid = conn.execute(stmt.limit(1)).scalar()
            return self._load_full(conn, rt, cobj, rid, access=access) if rid is not None else None

    @retry_on_stale_statements
    def find_all_by(self, actor: Actor, object_name: str, field: str, value, *, fields=None,
                    limit: int = MAX_LIMIT) -> list[dict]:
        """Records whose `field` equals `value` (e.g. a user's group memberships), visible ones only."""
        rt = self.runtime()
        cobj = self._object(rt, object_name)
        access = self._access(rt, actor, object_name, "read")
        paths = parse_paths(fields, "fields") if fields else self._default_paths(access, cobj)
        self._readable_paths(rt, access, cobj, [field, *paths], "fields")
        with self._read() as conn:
            b = self._builder(rt, object_name, conn, _now(), access)
            cols = self._columns(b, paths, "fields")
            stmt = select(*[c.label(f"c{i}") for i, c in enumerate(cols)]).select_from(b.from_clause) \
                .where(b.column((field,)) == value).order_by(b.base.c.created_at, b.base.c.id).limit(limit)
            visible = access.visible(object_name, b.base, conn.dialect.name)
            if visible is not None:
                stmt = stmt.where(visible)
            types = [b.field_type(tuple(p.split("."))) for p in paths]
            return [{p: to_api(row[i], t) for i, (p, t) in enumerate(zip(paths, types))}
                    for row in conn.execute(stmt)]

    @retry_on_stale_statements
    def history(self, actor: Actor, object_name: str, record_id, *, limit: int = 50,
                cursor: str | None = None) -> QueryResult:
        """A record's field history, newest first, keyset paged. 404 when the actor cannot see the
        record (exactly like a missing one); entries of fields the actor cannot read are left out."""
        rt = self.runtime()
        cobj = self._object(rt, object_name)
        access = self._access(rt, actor, object_name, "read")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise BadQuery(f"limit must be an integer from 1 to {MAX_LIMIT}")
        rid = self._parse_record_id(record_id)
        fields = [n for n in ("owner", *cobj.obj.fields) if access.can_read_field(object_name, n)]
        cursor_key = hashlib.sha256(repr(("history", object_name, str(rid), str(actor.user_id))).encode()).hexdigest()[:16]
        after = None
        if cursor:
            values = cursors.decode(self._secret, cursor_key, cursor)
            if len(values) != 2:
                raise BadQuery("invalid cursor (it must come from next_cursor of the same query)")
            after = tuple(values)
        with self._read() as conn:
            table = cobj.table
            visible = access.visible(object_name, table, conn.dialect.name)
            stmt = select(table.c.id).where(table.c.id == rid, *([visible] if visible is not None else []))
            if conn.execute(stmt).first() is None:
                raise NotFound(f"{object_name} '{record_id}' was not found")
            entries, last = history.page(conn, object_name, rid, fields, limit, after)
        next_cursor = cursors.encode(self._secret, cursor_key, list(last)) if last else None
        return QueryResult(entries, next_cursor)

    def _parse_record_id(self, record_id):
        try:
            return parse_id(record_id)
        except ValueError:
            raise NotFound(f"'{record_id}' is not a record id") from None

    def _load_full(self, conn, rt, cobj, rid, *, fields=None, access=None, check_visible=False,
                   known=None, with_access=False) -> dict | None:
        """One record as the API shows it, limited to what `access` may read. `known`: the row
        just written, which answers without a query when it holds every field asked for."""
        access = access or rt.security.access_for(SYSTEM)
        paths = parse_paths(fields, "fields") if fields else self._default_paths(access, cobj)
        self._readable_paths(rt, access, cobj, paths, "fields")
        if "id" not in paths:
            paths.insert(0, "id")
        plain = cobj.plain_types.keys() >= set(paths)   # stored columns only
        if plain and known is not None and not check_visible and not with_access:
            record = {p: to_api(known.get(p), cobj.plain_types[p]) for p in paths}
            record["_row_version"] = known["row_version"]
            return record
        if plain:  # the statement is built once per Runtime (see Runtime.record_select)
            stmt = rt.record_select(cobj.name, tuple(paths))
            base = rt.alias(cobj.name)
            if check_visible:
                visible = access.visible(cobj.name, base, conn.dialect.name)
                if visible is not None:
                    stmt = stmt.where(visible)
            editable = self._editable_column(access, cobj.name, base, conn.dialect.name) if with_access else None
            if editable is not None:
                stmt = stmt.add_columns(editable)
            row = conn.execute(stmt, {"_rid": rid}).first()
            if row is None:
                return None
            record = {p: to_api(row[i], cobj.plain_types[p]) for i, p in enumerate(paths)}
            return self._with_extras(record, row, len(paths), access, cobj, with_access, editable is not None)
        b = self._builder(rt, cobj.name, conn, _now(), access)
        cols = self._columns(b, paths, "fields")
        editable = self._editable_column(access, cobj.name, b.base, conn.dialect.name) if with_access else None
        stmt = select(*[c.label(f"c{i}") for i, c in enumerate(cols)], b.base.c.row_version,
                      *([editable] if editable is not None else [])) \
            .select_from(b.from_clause).where(b.base.c.id == rid)
        if check_visible:
            visible = access.visible(cobj.name, b.base, conn.dialect.name)
            if visible is not None:
                stmt = stmt.where(visible)
        row = conn.execute(stmt).first()
        if row is None:
            return None
        record = {p: to_api(row[i], b.field_type(tuple(p.split(".")))) for i, p in enumerate(paths)}
        return self._with_extras(record, row, len(paths), access, cobj, with_access, editable is not None)

    def _with_extras(self, record, row, n, access, cobj, with_access, has_editable_column):
        """Add `_row_version` (the column after the n field columns) and, when asked, `_access`
        (from the editable column after it, or the object rights alone when there is none)."""
        record["_row_version"] = row[n]
        if with_access:
            record["_access"] = self._access_level(access, cobj.name, row[n + 1] if has_editable_column else True)
        return record

    # -- writes -------------------------------------------------------------------------------
    @_reports_workflow_failures
    @retry_on_stale_statements
    def create(self, actor: Actor, object_name: str, data: dict, *, from_text: bool = False) -> dict:
        rt = self.runtime()
        cobj = self._object(rt, object_name)
        access = self._access(rt, actor, object_name, "create")
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
        joined = self._joined()   # automation creating a record joins the triggering write
        try:
            with nullcontext(joined) if joined is not None else self.engine.connect() as conn:
                with nullcontext() if joined is not None else conn.begin():
                    values, errors = self._prepare_create(conn, rt, cobj, data, actor, now, from_text,
                                                          access=access, trust_foreign_keys=True)
                    if errors:
                        raise ValidationFailed(_summary(errors), fields=errors)
                    if not rules_after_numbering:
                        self._check_rules_or_raise(conn, rt, cobj, values, None, now)
                with nullcontext() if joined is not None else mark_write(conn).begin():
                    for name, numbers in self._take_autonumbers(conn, cobj, 1).items():
                        values[name] = numbers[0]
                    if rules_after_numbering:
                        self._check_rules_or_raise(conn, rt, cobj, values, None, now)
                    self._insert(conn, cobj, [values])
                    if object_name in permission_audit.AUDITED:
                        permission_audit.created(conn, rt, actor, object_name, [values])
                    acted = self._after_save(conn, rt, cobj, actor, now, "create", values, None)
                    record = self._load_full(conn, rt, cobj, values["id"], access=access,
                                             known=None if acted else values)
            if object_name == "permission_set_assignment":
                self._user_changed(values.get("user"))
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
    def bulk_create(self, actor: Actor, object_name: str, rows: list, *, from_text: bool = False,
                    progress=None) -> list[str]:
        """All or nothing: every row is checked; any failure saves nothing and reports each row.
        `progress(rows_checked)` is told how many rows have been checked so far (a count from the
        start, not a step: a run retried after a stale statement starts again from 0)."""
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
            batch = self._prepare_bulk(conn, rt, cobj, rows, actor, now, from_text, progress)
            self._check_lookups_bulk(conn, rt, cobj, batch, access)
            self._check_unique_bulk(conn, cobj, batch)
            if batch.errors:
                raise BulkFailed(batch.failures())
            for name, numbers in self._take_autonumbers(conn, cobj, batch.n).items():
                batch.columns[name] = numbers
            try:
                cobj.writer(conn.dialect).execute_columns(conn, batch.columns, batch.n, batch.constants)
            except IntegrityError as exc:
                raise _integrity_error(exc, cobj) from None
            if cobj.rules:
                failures = self._rule_failures_bulk(conn, rt, cobj, batch, now)
                if failures:
                    raise BulkFailed(failures)      # inside the transaction: nothing is saved
            if object_name in permission_audit.AUDITED:
                permission_audit.created(conn, rt, actor, object_name, batch.rows())
            if self._automated(rt, cobj, "create", "after_save"):
                for index in range(batch.n):
                    self._after_save(conn, rt, cobj, actor, now, "create", batch.row(index), None)
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

    def _prepare_bulk(self, conn, rt, cobj, rows, actor, now, from_text, progress) -> bulk.Batch:
        """Steps 2–4 for every row, column by column (records/bulk.py), with the outcome of
        _prepare_create per row; lookups and uniqueness are checked over the batch afterwards."""
        parts = []
        for start in range(0, len(rows), self._BULK_CHUNK):
            chunk = rows[start:start + self._BULK_CHUNK]
            parts.append(bulk.coerce_rows(cobj, chunk, from_text, _WRITABLE_SYSTEM))
            if progress:
                progress(start + len(chunk))
        batch = bulk.Batch.joined(parts)

        def literal_default(field, default):
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

        bulk.apply_defaults(cobj, batch, literal_default, expression_default)
        if self._automated(rt, cobj, "create", "before_save"):
            batch.columns["id"] = new_ids(batch.n)   # the runs name their records
            batch.full.add("id")
            for index in range(batch.n):
                if index not in batch.errors:
                    row = {"owner": actor.user_id, **batch.row(index)}
                    try:
                        for name, value in self._before_save(conn, rt, cobj, actor, now, "create", row, None).items():
                            batch.set_value(index, name, value)
                    except WorkflowFailed as exc:
                        for name, messages in (exc.fields or {"_record": [exc.message]}).items():
                            for message in messages:
                                batch.fail(index, name, message)
        bulk.check_required(cobj, batch)
        for name, machine in cobj.state_machines.items():
            column = batch.columns.get(name) if machine.initial is not None else None
            for index, value in enumerate(column or ()):
                refusal = machine.start_refusal(value) if value is not bulk.MISSING else None
                if refusal and name not in batch.errors.get(index, ()):
                    batch.fail(index, name, refusal)
        for index, owner in enumerate(batch.columns.get("owner") or ()):
            if owner is None and "owner" not in batch.errors.get(index, ()):
                batch.fail(index, "owner", _NO_OWNER)
        if cobj.name in _RIGHTS_OBJECTS:
            for index in range(batch.n):
                errors = {}
                user_rights.check_values(rt.metadata, cobj.name, batch.row(index), errors)
                for name, messages in errors.items():
                    if name not in batch.errors.get(index, ()):
                        batch.fail(index, name, messages[0])
        bulk.complete(batch, actor.user_id, now)
        bulk.mark_not_records(batch, rows)
        return batch

    @_reports_workflow_failures
    @retry_on_stale_statements
    def update(self, actor: Actor, object_name: str, record_id, data: dict, *, expected_version: int | None = None,
               from_text: bool = False) -> dict:
        rt = self.runtime()
        cobj = self._object(rt, object_name)
        access = self._access(rt, actor, object_name, "edit")
        rid = self._parse_record_id(record_id)
        if not isinstance(data, dict):
            raise ValidationFailed("expected a JSON object of field values")
        now = _now()
        with self._write() as conn:
            current = self._current_for_write(conn, access, cobj, rid, record_id)
            if self.locks is not None:
                self.locks.check(conn, rt, object_name, rid, actor, "update")
            self._check_field_rights(access, cobj, data, actor, owner=current["owner"])
            if expected_version is not None and current["row_version"] != expected_version:
                raise StaleVersion(f"{object_name} '{record_id}' was changed by someone else "
                                   f"(version {current['row_version']}, you had {expected_version})")
            changes, errors = self._coerce_input(cobj, data, from_text)
            merged = {**current, **changes}
            if not errors:
                automated = self._before_save(conn, rt, cobj, actor, now, "update", merged, dict(current))
                changes.update(automated)
                merged.update(automated)
            for name in cobj.required:
                if name in changes and merged.get(name) is None:
                    errors.setdefault(name, []).append("is required")
            self._check_lookups(conn, rt, cobj, changes, errors, access)
            if cobj.state_machines:
                self._check_transitions(conn, rt, cobj, actor, dict(current), merged, now, errors)
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
            self._check_rules_or_raise(conn, rt, cobj, merged, prior, now)
            changes.update(updated_at=now, updated_by=actor.user_id, row_version=current["row_version"] + 1)
            try:
                result = conn.execute(cobj.row_update, {**changes, "_rid": rid, "_rv": current["row_version"]})
            except IntegrityError as exc:
                raise _integrity_error(exc, cobj) from None
            if result.rowcount != 1:
                raise StaleVersion(f"{object_name} '{record_id}' was changed by someone else")
            history.record_changes(conn, cobj, current, changes, actor, now)
            if object_name in permission_audit.AUDITED:
                permission_audit.updated(conn, rt, actor, object_name, current, changes)
            if guarded:
                user_rights.after_write(conn, rt, actor, object_name, current, changes, was_admin)
            saved = {**current, **changes}
            acted = self._after_save(conn, rt, cobj, actor, now, "update", saved, dict(current))
            record = self._load_full(conn, rt, cobj, rid, access=access, known=None if acted else saved)
        if guarded:
            self._user_changed(user_rights.user_of(object_name, current), changes.get("user"))
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
            try:
                conn.execute(table.delete().where(table.c.id == rid))
            except IntegrityError as exc:
                raise _integrity_error(exc, cobj) from None
            if object_name in permission_audit.AUDITED:
                permission_audit.deleted(conn, rt, actor, object_name, current)
            if guarded:
                user_rights.after_write(conn, rt, actor, object_name, current, None, was_admin)
            self._after_save(conn, rt, cobj, actor, _now(), "delete", dict(current), dict(current))
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
                        trust_foreign_keys=False):
        if not isinstance(data, dict):
            return {}, {"_record": ["expected a JSON object of field values"]}
        values, errors = self._coerce_input(cobj, data, from_text)
        if cobj.name in _RIGHTS_OBJECTS:
            user_rights.check_values(rt.metadata, cobj.name, values, errors)
        for field, default in cobj.defaults:
            if field.name in data:
                continue
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
            values.update(self._before_save(conn, rt, cobj, actor, now, "create", values, None))
        for name in cobj.required:
            if values.get(name) is None and name not in errors:
                errors[name] = ["is required"]
        for name, machine in cobj.state_machines.items():
            refusal = machine.start_refusal(values.get(name))
            if refusal and name not in errors:
                errors[name] = [refusal]
        if check_lookups:
            self._check_lookups(conn, rt, cobj, values, errors, access, trust_foreign_keys=trust_foreign_keys)
        values.update(created_at=now, updated_at=now, created_by=actor.user_id,
                      updated_by=actor.user_id, row_version=1)
        return values, errors

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
        for name, value in values.items():
            target = cobj.relations.get(name) or ("user" if name == "owner" else None)
            if value is None or target is None or name in errors or target not in rt.objects:
                continue
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

    def _check_lookups_bulk(self, conn, rt, cobj, batch, access=None) -> None:
        """Every lookup value of the rows that passed so far names a record that exists (and that
        the actor may see): one query per 500 distinct ids."""
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

    def _take_autonumbers(self, conn, cobj, n: int) -> dict[str, list[str]]:
        """The next `n` numbers of each autonumber field, formatted (a counter row per field)."""
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
            out[f.name] = [format_autonumber(f.options["format"], first + offset) for offset in range(n)]
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
        row = conn.execute(self._object(rt, object_name).current_select,
                           {"_rid": self._parse_record_id(record_id)}).mappings().first()
        return dict(row) if row is not None else None

    def _automated(self, rt, cobj, event, timing) -> bool:
        return self.hooks is not None and self.hooks.wants(rt, cobj.name, event, timing)

    def _write_context(self, conn, rt, cobj, actor, now) -> WriteContext:
        return WriteContext(conn, rt, cobj.name, actor, now,
                            lambda compiled, values, prior: self._evaluate(conn, rt, cobj, compiled, values, prior, now))

    def _before_save(self, conn, rt, cobj, actor, now, event, values, prior) -> dict:
        """Before-save workflow updates of the record being saved, as stored values (checked like
        input: a value the field does not take fails the write naming the workflow)."""
        if not self._automated(rt, cobj, event, "before_save"):
            return {}
        changes = {}
        proposed = self.hooks.before_save(self._write_context(conn, rt, cobj, actor, now), event, values, prior)
        for name, (value, workflow) in proposed.items():
            field = cobj.obj.fields.get(name)
            try:
                changes[name] = _as_input(cobj, field, value) if field is not None else parse_id(value)
            except ValueError as exc:
                shown = to_api(value, field.type) if field is not None else str(value)
                raise WorkflowFailed(f"workflow '{workflow}' sets {name} to {shown!r}, which {exc}",
                                     fields={name: [f"set by workflow '{workflow}': {exc}"]},
                                     details={"workflow": workflow}) from None
        return changes

    def _after_save(self, conn, rt, cobj, actor, now, event, values, prior) -> bool:
        """After-save automation, joined to this write's transaction. True when something ran."""
        if not self._automated(rt, cobj, event, "after_save"):
            return False
        with self.on_connection(conn):
            self.hooks.after_save(self._write_context(conn, rt, cobj, actor, now), event, values, prior)
        return True

    # -- expressions on write ---------------------------------------------------------------
    def _check_rules_or_raise(self, conn, rt, cobj, values, prior, now):
        errors = self._rule_errors(conn, rt, cobj, values, prior, now)
        if errors:
            raise ValidationFailed(errors["message"], fields=errors.get("fields"),
                                   details={"rules": errors["rules"]})

    def _rule_errors(self, conn, rt, cobj, values, prior, now) -> dict | None:
        return _rule_report([rule for rule, compiled in cobj.rules
                             if self._evaluate(conn, rt, cobj, compiled, values, prior, now) is True])

    def _rule_failures_bulk(self, conn, rt, cobj, batch, now) -> list[dict]:
        """Validation rules over rows just inserted by a bulk create (still uncommitted), in SQL:
        one SELECT returns the rows that break a rule, instead of a Python evaluation per row and
        rule — plus a query per row for every path through a lookup. tessera.expr
        compiles a rule to both targets and they agree (tests/expr/test_expr_properties.py); rules
        using PRIORVALUE or ISCHANGED have no SQL form and are evaluated per row."""
        in_sql = [(rule, compiled) for rule, compiled in cobj.rules if not compiled.uses_prior]
        in_python = [(rule, compiled) for rule, compiled in cobj.rules if compiled.uses_prior]
        broken: dict[int, list] = {}
        if in_sql:
            b = SelectBuilder(rt, cobj.name, dialect_name=conn.dialect.name, now=now)
            conditions = [b.condition(compiled) for _rule, compiled in in_sql]
            flags = [case((condition, literal(1)), else_=literal(0)) for condition in conditions]
            # the batch's ids are time-ordered and made together (records/ids.py): its rows are one
            # range of the primary key, which may also hold rows another writer made in the same
            # millisecond — those are not this batch's to judge
            ids = batch.ids
            by_int = attrgetter("int")
            stmt = (select(b.base.c.id, *flags).select_from(b.from_clause)
                    .where(b.base.c.id.between(min(ids, key=by_int), max(ids, key=by_int)), or_(*conditions)))
            found = conn.execute(stmt).all()
            if found:
                index_of = {rid: i for i, rid in enumerate(ids)}
                for row in found:
                    if row[0] in index_of:
                        broken[index_of[row[0]]] = [rule for (rule, _c), flag in zip(in_sql, row[1:]) if flag]
        if in_python:
            for index in range(batch.n):
                values = batch.row(index)
                for rule, compiled in in_python:
                    if self._evaluate(conn, rt, cobj, compiled, values, None, now) is True:
                        broken.setdefault(index, []).append(rule)
        order = {rule.name: n for n, (rule, _c) in enumerate(cobj.rules)}   # report in declaration order
        return [{"index": index, **_rule_report(sorted(rules, key=lambda r: order[r.name]))}
                for index, rules in sorted(broken.items())]

    def _evaluate(self, conn, rt, cobj, compiled, values, prior, now):
        env = self._path_values(conn, rt, cobj, compiled.paths, values, now)
        prior_env = self._path_values(conn, rt, cobj, compiled.paths, prior, now) if prior is not None else None
        return compiled.evaluate(env, prior=prior_env, now=now)

    def _path_values(self, conn, rt, cobj, paths, record, now) -> dict:
        out = {}
        for path in paths:
            path = tuple(path)
            name = path[0]
            f = cobj.obj.fields.get(name)
            if len(path) == 1:
                if f is None or f.stored:
                    out[path] = to_python(record.get(name))
                elif f.type == "formula":
                    out[path] = self._evaluate(conn, rt, cobj, cobj.formulas[name], record, None, now)
                else:  # roll-up: computed from the saved children
                    out[path] = self._scalar(conn, rt, cobj.name, path, record.get("id"), now)
            else:
                target = cobj.relations.get(name) or ("user" if name in USER_LINKS else None)
                out[path] = self._scalar(conn, rt, target, path[1:], record.get(name), now) if target else None
        return out

    def _scalar(self, conn, rt, object_name, path, record_id, now):
        if record_id is None or object_name not in rt.objects:
            return None
        b = SelectBuilder(rt, object_name, dialect_name=conn.dialect.name, now=now)
        col = b.column(path)
        return to_python(conn.execute(select(col).select_from(b.from_clause).where(b.base.c.id == record_id)).scalar())


def _as_input(cobj, field, value):
    """An expression's value checked and stored as the field's input would be (its coercer takes
    API-shaped values: dates as ISO text; decimals stay exact)."""
    if value is None:
        return value
    coerce = cobj.coercers.get(field.name) or coercer_for(field)   # read-only fields have none cached
    if coerce is None:
        return value
    return coerce(value if isinstance(value, Decimal) else to_api(value, field.type), False)


def _rule_report(broken: list) -> dict | None:
    """The 422 body's parts for the validation rules a record breaks (None when it breaks none)."""
    if not broken:
        return None
    fields: dict[str, list[str]] = {}
    for rule in broken:
        if rule.field:
            fields.setdefault(rule.field, []).append(rule.message)
    return {"message": " ".join(r.message for r in broken), "fields": fields,
            "rules": [{"name": r.name, "message": r.message, "field": r.field} for r in broken]}


def parse_id_or_error(value, from_text=False):
    return parse_id(value)


def _summary(errors: dict[str, list[str]]) -> str:
    parts = [f"{name}: {'; '.join(msgs)}" for name, msgs in errors.items()]
    return "invalid input: " + ", ".join(parts)


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
