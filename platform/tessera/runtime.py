"""A Runtime is one metadata version compiled once: tables, coercers, compiled expressions.

Requests never re-read or re-interpret metadata: everything they need is precomputed here.
`RuntimeHolder` swaps the Runtime atomically when the active version changes.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field as dc_field
from functools import cached_property

from sqlalchemy import Table, bindparam, select, update

from .expr import Compiled, compile_expression
from .meta.fieldtypes import SYSTEM_FIELDS
from .meta.model import FieldDef, Metadata, ObjectDef
from .meta.validate import expected_type, resolver
from .records.columns import column_coercer_for
from .records.coerce import coercer_for
from .records.copies import compile_copies, followers_of
from .records.transitions import compile_machine
from .storage.engine import forget_prepared_statements
from .storage.tables import build_tables


@dataclass
class CompiledObject:
    obj: ObjectDef
    table: Table
    coercers: dict[str, object]                      # writable stored field -> coerce closure
    column_coercers: dict[str, object]               # writable stored field -> its bulk fast path
    formulas: dict[str, Compiled]                    # formula field -> compiled expression
    defaults: list[tuple[FieldDef, object]]          # (field, literal value | Compiled)
    rules: list[tuple[object, Compiled]]             # (ValidationRule, compiled condition)
    autonumbers: list[FieldDef]
    required: list[str]                              # stored fields a value must be present for
    relations: dict[str, str]                        # lookup field -> target object
    restricted_by: list[tuple[str, str]] = dc_field(default_factory=list)  # (child object, field) with on_delete restrict
    cascaded_by: list[tuple[str, str]] = dc_field(default_factory=list)    # (child object, field) with on_delete cascade
    history_types: dict[str, str] = dc_field(default_factory=dict)        # tracked field -> type (records/history.py)
    output_fields: list[str] = dc_field(default_factory=list)             # fields in a full record
    # fields whose API value a just-written row already holds (system and stored fields, not json)
    # -> the type to serialize them as: the record service answers a write without reading it back
    # when every output field is one of these (no formulas, roll-ups or lookup paths)
    plain_types: dict[str, str] = dc_field(default_factory=dict)
    writers: dict = dc_field(default_factory=dict)                          # dialect name -> InsertWriter
    default_paths: dict = dc_field(default_factory=dict)                    # Rights -> readable output fields
    uneditable_fields: dict = dc_field(default_factory=dict)                # Rights -> fields it cannot set
    state_machines: dict = dc_field(default_factory=dict)                   # picklist -> StateMachine (records/transitions.py)
    copies: list = dc_field(default_factory=list)                           # copy-on-select fields (records/copies.py)
    search_indexed: bool = False                                            # its full-text index exists (tessera/search)
    duplicate_rules: tuple = ()                                             # active rules as dedupe.keys.RuleKeys
    duplicate_fields: frozenset = frozenset()                               # the fields they compare

    @property
    def name(self) -> str:
        return self.obj.name

    def writer(self, dialect):
        """The object's INSERT compiled once for `dialect` (see records/writer.py)."""
        writer = self.writers.get(dialect.name)
        if writer is None:
            from .records.writer import InsertWriter
            writer = self.writers.setdefault(dialect.name, InsertWriter(self.table, dialect, self.pair_fields))
        return writer

    @cached_property
    def pair_fields(self) -> tuple:
        """Geolocation and related_to fields, each stored in two columns: (name, columns, the
        value made from the two) — records/geo_rows.py."""
        from .meta import geolocations, related
        return tuple((f.name, geolocations.column_names(f.name), geolocations.GeoPoint) if f.type == "geolocation"
                     else (f.name, related.column_names(f.name), related.RelatedRef)
                     for f in self.obj.stored_fields if f.type in ("geolocation", "related_to"))

    @cached_property
    def lookups_read_on_write(self) -> frozenset:
        """Lookup fields whose target's fields a write reads (paths like `account.industry` in a
        validation rule or a default expression): the record service checks these targets exist
        before it evaluates them, rather than leaving it to the foreign key (records/service.py)."""
        compiled = [c for _rule, c in self.rules] + [d for _f, d in self.defaults if hasattr(d, "paths")]
        return frozenset(path[0] for c in compiled for path in c.paths if len(path) > 1)

    # The record service's per-request statements on this table, built once (a reused statement
    # object also keeps its SQLAlchemy cache key: no construction, no key generation per request).
    @cached_property
    def id_select(self):
        """SELECT id WHERE id = :_id — does the record exist (lookup checks)."""
        t = self.table
        return select(t.c.id).where(t.c.id == bindparam("_id"))

    @cached_property
    def current_select(self):
        """SELECT * WHERE id = :_rid FOR UPDATE — the row a write starts from."""
        t = self.table
        return select(t).where(t.c.id == bindparam("_rid")).with_for_update()

    @cached_property
    def row_update(self):
        """UPDATE SET <the parameters' columns> WHERE id = :_rid AND row_version = :_rv."""
        t = self.table
        return update(t).where(t.c.id == bindparam("_rid"), t.c.row_version == bindparam("_rv"))


MAX_CASCADE_DEPTH = 8   # levels of a self-referencing on_delete cascade followed (as records/history.py)


class Runtime:
    def __init__(self, md: Metadata, version: int | None = None, search_indexed: frozenset[str] | None = None):
        """`search_indexed`: the objects whose full-text index tables exist (search/storage.py
        indexed_objects); None: every object with searchable fields (a version the pipeline built)."""
        self.version = version
        self.metadata = md
        self.sql_metadata, self.tables = build_tables(md)
        self._aliases: dict[tuple, object] = {}
        self._statements: dict[tuple, object] = {}
        self.readable_paths: set[tuple] = set()   # (rights, object, paths) found readable (records/service.py)
        self.objects: dict[str, CompiledObject] = {n: self._compile(md, o) for n, o in md.objects.items()}
        # source object -> the copies that follow its writes (keep_in_sync: automation/copy_sync.py)
        self.copy_followers = followers_of(self.objects.values())
        for cobj in self.objects.values():
            cobj.search_indexed = bool(cobj.obj.searchable_fields) and (
                search_indexed is None or cobj.name in search_indexed)
        self._compile_duplicate_rules(md)
        from .security.access import SecurityModel
        self.security = SecurityModel(self)
        from .records.related import referrers
        self.related_referrers = referrers(md)   # target -> related_to fields that may point to it
        for cobj in self.objects.values():
            for fname, target in cobj.relations.items():
                f = cobj.obj.fields[fname]
                if f.options.get("on_delete") == "restrict" and target in self.objects:
                    self.objects[target].restricted_by.append((cobj.name, fname))
                if f.options.get("on_delete") == "cascade" and target in self.objects:
                    self.objects[target].cascaded_by.append((cobj.name, fname))

    def _compile(self, md: Metadata, obj: ObjectDef) -> CompiledObject:
        resolve = resolver(md, obj)
        formulas = {f.name: compile_expression(f.options["expression"], resolve, expected=expected_type(f))
                    for f in obj.fields.values() if f.type == "formula"}
        defaults = []
        for f in obj.stored_fields:
            if f.default_expression:
                defaults.append((f, compile_expression(f.default_expression, resolve, expected=expected_type(f))))
            elif f.default is not None:
                defaults.append((f, f.default))
        rules = [(r, compile_expression(r.condition, resolve, context="write", expected="boolean", current_user=True))
                 for r in obj.validation_rules]
        coercers = {f.name: coercer_for(f) for f in obj.stored_fields
                    if f.type != "autonumber" and not f.read_only}
        column_coercers = {name: column_coercer_for(obj.fields[name]) for name in coercers}
        machines = {f.name: m for f in obj.stored_fields if (m := compile_machine(f, resolve)) is not None}
        return CompiledObject(
            obj=obj, table=self.tables[obj.name], coercers=coercers, column_coercers=column_coercers,
            formulas=formulas, defaults=defaults, rules=rules,
            autonumbers=[f for f in obj.stored_fields if f.type == "autonumber"],
            required=[f.name for f in obj.stored_fields if f.required and f.type != "autonumber"],
            relations={f.name: f.target for f in obj.stored_fields if f.is_relation},
            output_fields=[*SYSTEM_FIELDS[:-1], *obj.fields],
            plain_types={**{n: "system" for n in SYSTEM_FIELDS},
                         **{f.name: f.type for f in obj.stored_fields if f.type not in ("json", "geolocation", "related_to")}},
            history_types={n: obj.fields[n].type if n in obj.fields else "system" for n in obj.history_fields},
            state_machines=machines, copies=compile_copies(md, obj, resolve),
        )

    def _compile_duplicate_rules(self, md: Metadata) -> None:
        from .dedupe.keys import RuleKeys
        from .meta.duplicate_rules import active_rules
        by_object: dict[str, list] = {}
        for rule in active_rules(md):
            where = compile_expression(rule.where, resolver(md, md.objects[rule.object]), expected="boolean") \
                if rule.where else None
            by_object.setdefault(rule.object, []).append(RuleKeys(rule, where))
        for name, rules in by_object.items():
            cobj = self.objects[name]
            cobj.duplicate_rules = tuple(rules)
            cobj.duplicate_fields = frozenset(f for r in rules for f in r.fields)

    def get(self, object_name: str) -> CompiledObject | None:
        return self.objects.get(object_name)

    def alias(self, object_name: str, key: tuple = ()):
        """A reusable anonymous alias of `object_name`'s table, one per `key` (the base object and
        join path that reach it), its column collection already built. Building an alias and its
        column proxies costs ~0.1 ms per table: per Runtime, not per request. Only for top-level
        statements (see SelectBuilder): a subquery must not share an alias with its outer query."""
        alias = self._aliases.get((object_name, key))
        if alias is None:
            alias = self.tables[object_name].alias()
            alias.c  # noqa: B018 - build the column proxies now, not in two requests at once
            alias = self._aliases.setdefault((object_name, key), alias)
        return alias

    def cascade(self, cobj: CompiledObject, ids, max_depth: int = MAX_CASCADE_DEPTH) -> list:
        """[(CompiledObject, ids)]: `ids` of `cobj` (a list, or a SELECT of ids) and the records an
        on_delete cascade (master-detail, a cascading lookup) deletes with them, each as a SELECT
        through its foreign key — so read before the DELETE. What a record keeps outside its row
        (search entries, duplicate keys) goes with them. A self-referencing cascade is followed
        `max_depth` levels deep."""
        out = [(cobj, ids)]

        def walk(parent, parent_ids, depth):
            if depth >= max_depth:
                return
            for child_name, field in parent.cascaded_by:
                child = self.objects[child_name]
                t = child.table.alias()   # an alias per level: a self-reference must not correlate
                chosen = select(t.c.id).where(t.c[field].in_(parent_ids))
                out.append((child, chosen))
                walk(child, chosen, depth + 1)
        walk(cobj, ids, 0)
        return out

    def statement(self, key: tuple):
        """A statement (or what was kept with it) built once for this Runtime, else None."""
        return self._statements.get(key)

    def keep_statement(self, key: tuple, built) -> None:
        if len(self._statements) > 1000:   # keys hold client-chosen `fields` lists: keep the cache bounded
            self._statements.clear()
        self._statements[key] = built

    def record_select(self, object_name: str, paths: tuple):
        """SELECT <paths>, row_version FROM <alias> WHERE id = :_rid, built once (like the
        statements of CompiledObject) — for paths that are all stored columns (formulas and
        roll-ups depend on `now`, lookup paths on the actor's access)."""
        key = ("record", object_name, paths)
        stmt = self._statements.get(key)
        if stmt is None:
            base = self.alias(object_name)
            stmt = select(*[base.c[p] for p in paths], base.c.row_version).where(base.c.id == bindparam("_rid"))
            if len(self._statements) > 1000:   # `fields` lists are client-chosen: keep the cache bounded
                self._statements.clear()
            self._statements[key] = stmt
        return stmt


class RuntimeHolder:
    """Holds the current Runtime; rebuilds it when the active metadata version changes.

    Workers share one database: each polls the active version number at most every
    `poll_seconds` (one indexed single-row query) and recompiles only when it moved.
    """

    def __init__(self, changes, poll_seconds: float = 1.0):
        self._changes = changes
        self._poll = poll_seconds
        self._lock = threading.Lock()
        self._runtime: Runtime | None = None
        self._checked_at = 0.0

    def current(self) -> Runtime:
        now = time.monotonic()
        runtime = self._runtime
        if runtime is not None and now - self._checked_at < self._poll:
            return runtime
        number = self._changes.active_number()
        self._checked_at = now
        if runtime is not None and runtime.version == number:
            return runtime
        with self._lock:
            # read again: `number` may be stale by now (a thread that read it before a newer
            # version was activated and built by another would otherwise build the older one back)
            number = self._changes.active_number()
            if self._runtime is None or self._runtime.version != number:
                if self._runtime is not None:
                    forget_prepared_statements(self._changes.engine)
                self._runtime = self._build(number)
            return self._runtime

    def refresh(self) -> Runtime:
        self._checked_at = 0.0
        return self.current()

    def _build(self, number: int | None) -> Runtime:
        from .meta.merge import build_metadata
        from .meta.model import Metadata

        if number is None:
            return Runtime(Metadata(objects={}), None)
        from .search.storage import indexed_objects
        from .storage.engine import begin_read

        version = self._changes.get(number)
        md = build_metadata(version.snapshot)
        with begin_read(self._changes.engine) as conn:
            indexed = indexed_objects(conn, md)
        return Runtime(md, number, search_indexed=indexed)
