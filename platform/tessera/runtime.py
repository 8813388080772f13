"""A Runtime is one metadata version compiled once: tables, coercers, compiled expressions.

Requests never re-read or re-interpret metadata: everything they need is precomputed here.
`RuntimeHolder` swaps the Runtime atomically when the active version changes.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field as dc_field

from sqlalchemy import Table

from .expr import Compiled, compile_expression
from .meta.fieldtypes import SYSTEM_FIELDS
from .meta.model import FieldDef, Metadata, ObjectDef
from .meta.validate import expected_type, resolver
from .records.coerce import coercer_for
from .storage.tables import build_tables


@dataclass
class CompiledObject:
    obj: ObjectDef
    table: Table
    coercers: dict[str, object]                      # writable stored field -> coerce closure
    formulas: dict[str, Compiled]                    # formula field -> compiled expression
    defaults: list[tuple[FieldDef, object]]          # (field, literal value | Compiled)
    rules: list[tuple[object, Compiled]]             # (ValidationRule, compiled condition)
    autonumbers: list[FieldDef]
    required: list[str]                              # stored fields a value must be present for
    relations: dict[str, str]                        # lookup field -> target object
    restricted_by: list[tuple[str, str]] = dc_field(default_factory=list)  # (child object, field) with on_delete restrict
    output_fields: list[str] = dc_field(default_factory=list)             # fields in a full record

    @property
    def name(self) -> str:
        return self.obj.name


class Runtime:
    def __init__(self, md: Metadata, version: int | None = None):
        self.version = version
        self.metadata = md
        self.sql_metadata, self.tables = build_tables(md)
        self.objects: dict[str, CompiledObject] = {n: self._compile(md, o) for n, o in md.objects.items()}
        from .security.access import SecurityModel
        self.security = SecurityModel(self)
        for cobj in self.objects.values():
            for fname, target in cobj.relations.items():
                f = cobj.obj.fields[fname]
                if f.options.get("on_delete") == "restrict" and target in self.objects:
                    self.objects[target].restricted_by.append((cobj.name, fname))

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
        rules = [(r, compile_expression(r.condition, resolve, context="write", expected="boolean"))
                 for r in obj.validation_rules]
        coercers = {f.name: coercer_for(f) for f in obj.stored_fields
                    if f.type != "autonumber" and not f.read_only}
        return CompiledObject(
            obj=obj, table=self.tables[obj.name], coercers=coercers, formulas=formulas, defaults=defaults,
            rules=rules, autonumbers=[f for f in obj.stored_fields if f.type == "autonumber"],
            required=[f.name for f in obj.stored_fields if f.required and f.type != "autonumber"],
            relations={f.name: f.target for f in obj.stored_fields if f.is_relation},
            output_fields=[*SYSTEM_FIELDS[:-1], *obj.fields],
        )

    def get(self, object_name: str) -> CompiledObject | None:
        return self.objects.get(object_name)


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
            if self._runtime is None or self._runtime.version != number:
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
        version = self._changes.get(number)
        return Runtime(build_metadata(version.snapshot), number)
