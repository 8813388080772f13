"""The record service's reads: query, get, find, history, and the access each record grants.

A part of RecordService (records/service.py), split out by concept; every name it uses on `self`
(runtime, _object, _access, _read, _builder) is defined there."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import bindparam, case, func, literal, select

from ..encryption.masking import mask_records
from ..encryption.queries import mode_resolver, refusal_message, refused_use
from ..expr import ExprError, compile_expression
from ..expr.to_sql import NOW_PARAMETER
from ..meta.validate import resolver
from ..security.actor import SYSTEM, Actor
from ..storage.engine import retry_on_stale_statements
from . import cursor as cursors, history, keyset, related
from .coerce import NUL, parse_id
from .errors import BadQuery, EncryptedFieldRefused, NotFound
from .select import SelectBuilder
from .serialize import to_api, to_python

MAX_LIMIT = 1000
MAX_LIST_SEARCH = 200   # characters of a list's search text (as global search: search/tokens.py)
# What an actor may do to one record they can see (`get(with_access=True)`, `access_level`):
#   full  edit and delete it;  edit  edit it, not delete it;  read  only read it.
ACCESS_LEVELS = ("read", "edit", "full")


@dataclass
class QueryResult:
    records: list[dict]
    next_cursor: str | None
    total: int | None = None


def _now() -> datetime:
    return datetime.now(timezone.utc)


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



def kept_statement(rt, key: tuple, access, build):
    """What `build()` makes of a statement with formulas or roll-ups, kept per Runtime: building
    one costs more than running it. `key` ends with the day: TODAY() and relative dates are that
    day's values, NOW() is a parameter (expr/to_sql.py NOW_PARAMETER). `build()` returns (built,
    joined); a statement that joins other tables carries their visibility for this actor, so it is
    kept for the actor's principals only (whether it joins depends on the paths alone)."""
    built = rt.statement(key)
    if built is None:
        principals = (access.actor.user_id, access.actor.role, access.actor.groups, access.rights)
        built = rt.statement(key + (principals,))
        if built is None:
            built, joined = build()
            rt.keep_statement(key + (principals,) if joined else key, built)
    return built


def list_search_text(text) -> str | None:
    """A list's search text (query(search=...)), checked: None when blank."""
    if text is None:
        return None
    if not isinstance(text, str) or len(text) > MAX_LIST_SEARCH or "\x00" in text:
        raise BadQuery(f"q: text of at most {MAX_LIST_SEARCH} characters, no NUL", details={"parameter": "q"})
    return " ".join(text.split()) or None


class RecordReads:
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
        return _ReadableResolver(resolver(rt.metadata, cobj.obj), lambda path: access.readable_path(cobj.name, path))

    def _filter_condition(self, rt, access, cobj, b: SelectBuilder, filter):
        """The API `filter` parameter as a WHERE clause; only fields the actor may read resolve."""
        if not isinstance(filter, str) or not filter.strip():
            raise BadQuery("filter: must be a non-empty expression")
        if NUL in filter:   # PostgreSQL refuses NUL in text: refused alike on every database
            raise BadQuery("filter: must not contain the NUL character (\\u0000)")
        # parsed and type-checked once per Runtime and permission combination (what may be read)
        key = ("filter", cobj.name, filter, access.rights)
        compiled = rt.statement(key)
        if compiled is None:
            try:
                compiled = compile_expression(filter, self._filter_resolver(rt, access, cobj), expected="boolean",
                                              current_user=True)
            except ExprError as exc:
                raise BadQuery(f"filter: {exc}") from None
            rt.keep_statement(key, compiled)
        refused = refused_use(compiled.tree, mode_resolver(rt.metadata, cobj.obj))
        if refused:
            raise EncryptedFieldRefused(refusal_message(*refused, "filter"),
                                        details={"field": refused[0], "parameter": "filter"})
        return b.condition(compiled)

    def _columns(self, b: SelectBuilder, paths, what):
        return [related.output_column(b, path) if b.field_type(path) == "related_to" else b.column(path)
                for path in (tuple(p.split(".")) for p in paths)]

    @staticmethod
    def _add_related_names(conn, rt, access, types, records, paths):
        """related_to values get the name of the record they point to (records/related.py);
        `types`: the paths' field types."""
        wanted = [p for p, t in zip(paths, types) if t == "related_to"]
        if wanted:
            related.add_names(conn, rt, access, records, wanted)

    # -- reads --------------------------------------------------------------------------------
    def with_children(self, actor: Actor, object_name: str, record_ids) -> set[str]:
        """Which of `record_ids` have children the actor may see, through the object's hierarchy
        (a tree display's expand buttons). Unknown or malformed ids are no one's parent."""
        rt = self.runtime()
        cobj = self._object(rt, object_name)
        access = self._access(rt, actor, object_name, "read")
        field = cobj.obj.hierarchy_field
        if field is None or not access.can_read_field(object_name, field.name):
            return set()
        ids = []
        for rid in list(record_ids)[:MAX_LIMIT]:
            try:
                ids.append(parse_id(rid))
            except (ValueError, TypeError):
                continue
        if not ids:
            return set()
        with self._read() as conn:
            t = cobj.table.alias()
            parent = t.c[field.name]
            visible = access.visible(object_name, t, conn.dialect.name)
            stmt = select(parent).where(parent.in_(ids), *([visible] if visible is not None else [])).distinct()
            return {to_api(rid, "id") for rid in conn.execute(stmt).scalars()}

    @retry_on_stale_statements
    def query(self, actor: Actor, object_name: str, *, filter: str | None = None, sort=None, fields=None,
              limit: int = 50, cursor: str | None = None, count: bool = False,
              with_access: bool = False, search: str | None = None) -> QueryResult:
        """with_access: each record also carries `_access` (one of ACCESS_LEVELS). search: a list's
        search box — records matching every word in some searchable field (records/search.py
        _list_search), within the filter, in the query's sort."""
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
        search = list_search_text(search)
        for key in sort_keys:
            steps = rt.metadata.resolve_path(cobj.obj, tuple(key.lstrip("-").split(".")))
            last = steps[-1][0].fields.get(steps[-1][1]) if steps else None
            if last is not None and last.encrypted:
                raise EncryptedFieldRefused(f"sort: cannot sort by '{key.lstrip('-')}' (it is encrypted: its stored "
                                            "order is the ciphertext's)",
                                            details={"field": key.lstrip("-"), "parameter": "sort"})
            if last is not None and last.type == "json":
                raise BadQuery(f"sort: cannot sort by '{key.lstrip('-')}' (a json field has no order)")
            if last is not None and last.type == "formula" and last.options.get("returns") == "image":
                raise BadQuery(f"sort: cannot sort by '{key.lstrip('-')}' (a picture has no order)")
            if last is not None and last.type == "geolocation":
                raise BadQuery(f"sort: cannot sort by '{key.lstrip('-')}' (a geolocation has no order: sort by a "
                               f"formula field such as DISTANCE({key.lstrip('-')}, GEOLOCATION(48.85, 2.35), 'km'))")
        now = _now()
        with self._read() as conn:
            b = self._builder(rt, object_name, conn, now, access)
            # formulas and roll-ups in the output are computed for the page's rows only (a page of
            # ids first, then its fields): otherwise a sort without an index computes them for
            # every matching row (a roll-up subquery per row) before the LIMIT
            late = any(b.computed(tuple(p.split("."))) for p in paths)
            out_b = self._builder(rt, object_name, conn, now, access) if late else b
            out_cols = self._columns(out_b, paths, "fields")
            where = []
            visible = access.visible(object_name, b.base, conn.dialect.name)
            if visible is not None:
                where.append(visible)
            if filter is not None:
                where.append(self._filter_condition(rt, access, cobj, b, filter))
            if search is not None:
                where.extend(self._list_search(conn, rt, access, cobj, b, search))
            sort_cols = self._columns(b, [k.lstrip("-") for k in sort_keys], "sort")
            directions = [k.startswith("-") for k in sort_keys]
            nullable = [k.lstrip("-") not in keyset.NOT_NULL for k in sort_keys]
            if not sort_keys:  # default order: oldest first; id breaks ties (stable keyset)
                sort_cols, directions, nullable = [b.base.c.created_at], [False], [False]
            # the cursor is bound to the query *and* the actor: it cannot be replayed by someone else
            cursor_key = hashlib.sha256(repr((object_name, filter, sort_keys, str(actor.user_id), search)).encode()).hexdigest()[:16]
            values = None
            if cursor:
                values = cursors.decode(self._secret, cursor_key, cursor)
                if len(values) != len(sort_cols) + 1:
                    raise BadQuery("invalid cursor (it must come from next_cursor of the same query)")
            labeled = [c.label(f"c{i}") for i, c in enumerate(out_cols)]
            sort_labeled = [c.label(f"s{i}") for i, c in enumerate(sort_cols)]
            editable = self._editable_column(access, object_name, out_b.base, conn.dialect.name) if with_access else None
            access_cols = [editable.label("k_edit")] if editable is not None else []
            page_cols = sort_labeled if late else [*labeled, *sort_labeled, *access_cols]
            stmt = select(*page_cols, b.base.c.id.label("k_id")).select_from(b.from_clause).where(*where)
            # ORDER BY, LIMIT and the cursor, shaped so an index can serve them (records/keyset.py)
            rows = keyset.fetch(conn, stmt, where, sort_cols, directions, nullable, b.base.c.id, values, limit + 1)
            if late and rows:
                fields_of = {row.k_id: row for row in conn.execute(
                    select(*labeled, *access_cols, out_b.base.c.id.label("k_id")).select_from(out_b.from_clause)
                    .where(out_b.base.c.id.in_([row.k_id for row in rows])))}
                # the page in keyset order, shaped as one statement's rows: fields, sort keys, access, id
                # (a row deleted since the page was read is left out)
                rows = [(*fields_of[r.k_id][:len(labeled)], *r[:-1], *fields_of[r.k_id][len(labeled):-1], r.k_id)
                        for r in rows if r.k_id in fields_of]
            types = [out_b.field_type(tuple(p.split("."))) for p in paths]
            total = None
            if count:
                if values:
                    where.append(keyset.after(sort_cols, directions, values[:-1], b.base.c.id, values[-1]))
                total = conn.execute(select(func.count()).select_from(b.from_clause).where(*where)).scalar_one()
            more = len(rows) > limit
            rows = rows[:limit]
            records = [{p: to_api(row[i], t) for i, (p, t) in enumerate(zip(paths, types))} for row in rows]
            if "related_to" in types:
                self._add_related_names(conn, rt, access, types, records, paths)
        mask_records(rt.metadata, cobj.obj, access, records, paths)
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
            if record is not None and fields is None and cobj.obj.rows:   # child rows (records/rows.py)
                record.update(self._read_rows(conn, rt, actor, cobj, rid))
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
            records = [{p: to_api(row[i], t) for i, (p, t) in enumerate(zip(paths, types))}
                       for row in conn.execute(stmt)]
            if "related_to" in types:
                self._add_related_names(conn, rt, access, types, records, paths)
            return mask_records(rt.metadata, cobj.obj, access, records, paths)

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
        """One record as the API shows it, limited to what `access` may read (encrypted fields
        masked unless it may view them). `known`: the row just written, which answers without a
        query when it holds every field asked for."""
        access = access or rt.security.access_for(SYSTEM)
        record = self._load_clear(conn, rt, cobj, rid, fields=fields, access=access, check_visible=check_visible,
                                  known=known, with_access=with_access)
        if record is not None:
            mask_records(rt.metadata, cobj.obj, access, [record], list(record))
        return record

    def _load_clear(self, conn, rt, cobj, rid, *, fields, access, check_visible, known, with_access) -> dict | None:
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
        now = _now()
        stmt, types, base = self._computed_select(rt, cobj, tuple(paths), conn, now, access)
        editable = self._editable_column(access, cobj.name, base, conn.dialect.name) if with_access else None
        if editable is not None:
            stmt = stmt.add_columns(editable)
        if check_visible:
            visible = access.visible(cobj.name, base, conn.dialect.name)
            if visible is not None:
                stmt = stmt.where(visible)
        row = conn.execute(stmt, {"_rid": rid, NOW_PARAMETER: now}).first()
        if row is None:
            return None
        record = {p: to_api(row[i], t) for i, (p, t) in enumerate(zip(paths, types))}
        if "related_to" in types:
            self._add_related_names(conn, rt, access, types, [record], paths)
        return self._with_extras(record, row, len(paths), access, cobj, with_access, editable is not None)

    def _computed_select(self, rt, cobj, paths: tuple, conn, now, access):
        """(SELECT <paths>, row_version ... WHERE id = :_rid, the paths' types, the base alias) for
        paths with formulas or roll-ups, built once a day (see kept_statement)."""
        def build():
            b = self._builder(rt, cobj.name, conn, now, access)
            cols = self._columns(b, paths, "fields")
            stmt = select(*[c.label(f"c{i}") for i, c in enumerate(cols)], b.base.c.row_version) \
                .select_from(b.from_clause).where(b.base.c.id == bindparam("_rid"))
            return (stmt, [b.field_type(tuple(p.split("."))) for p in paths], b.base), b.from_clause is not b.base
        return kept_statement(rt, ("computed", cobj.name, paths, now.date()), access, build)

    def _with_extras(self, record, row, n, access, cobj, with_access, has_editable_column):
        """Add `_row_version` (the column after the n field columns) and, when asked, `_access`
        (from the editable column after it, or the object rights alone when there is none)."""
        record["_row_version"] = row[n]
        if with_access:
            record["_access"] = self._access_level(access, cobj.name, row[n + 1] if has_editable_column else True)
        return record


class _ReadableResolver:
    """A resolver that knows only the fields the actor may read (hierarchies included: UNDER)."""

    def __init__(self, base, readable):
        self.base, self.readable = base, readable

    def __call__(self, path):
        return self.base(path) if self.readable(tuple(path)) else None

    def hierarchy(self, path):
        return self.base.hierarchy(path) if self.readable(tuple(path)) else None

    def file_field(self, path) -> bool:
        return self.readable(tuple(path)) and self.base.file_field(path)

    @property
    def fiscal_year_start_month(self) -> int:
        return self.base.fiscal_year_start_month
