"""The save step's INSERT, compiled once per object and dialect (see Runtime.writer).

`conn.execute(insert(table), rows)` costs SQLAlchemy ~15 µs of Python per row on SQLite (a
parameter dict per row, every value through its type's bind processor); bulk import targets
≥ 50k rows/s. This writer compiles the INSERT once, converts values with the same bind processors
SQLAlchemy would use, converts a value repeated from the previous row (created_at, owner,
created_by…: one object for the whole batch) once, and hands the driver one executemany. Rows may
name different columns: a column a row does not name is NULL, as in a single-row INSERT.
"""
from __future__ import annotations

import uuid
from datetime import date
from operator import attrgetter

from sqlalchemy import insert

_UNSET = object()


def _converted(values: list, process) -> list:
    """`process` applied to each non-null value; a value repeated from the previous row (the same
    object: created_at, owner… for a whole batch) is converted once."""
    out = []
    last, last_out = _UNSET, None
    for value in values:
        if value is None:
            out.append(None)
        elif value is last:
            out.append(last_out)
        else:
            last, last_out = value, process(value)
            out.append(last_out)
    return out


# Value types whose equal values a processor converts alike (not Decimal: 1.0 and 1.00 are equal;
# not datetime: equal instants in different zones; not JSON values: 1 == True)
_MEMO_TYPES = frozenset((str, int, bool, date, uuid.UUID))
_SAMPLE = 256
_UUID_INT = attrgetter("int")


def _converted_column(values: list, process, constant) -> list:
    """A bulk create's column converted: a column with one value for every row (`constant`, e.g.
    created_at) once; a column whose values repeat (dates, picklists, lookups to a few parents)
    once per distinct value; otherwise value by value. Null stays NULL (as in _converted: a JSON
    column's processor would store None as the JSON text 'null')."""
    if constant is not _UNSET:
        return [process(constant) if constant is not None else None] * len(values)
    types = set(map(type, values))
    types.discard(type(None))
    if len(types) == 1 and types <= _MEMO_TYPES:
        # a UUID hashes through a Python method: its int (hashed in C) is the key instead
        keys = list(map(_UUID_INT, values)) if types == {uuid.UUID} and None not in values else values
        if len(set(keys[:_SAMPLE])) * 2 <= min(len(keys), _SAMPLE):
            memo = {key: process(value) for key, value in dict(zip(keys, values)).items() if value is not None}
            memo[None] = None
            return list(map(memo.__getitem__, keys))
    return [None if value is None else process(value) for value in values]


def _each(values: list, process) -> list:
    return [None if value is None else process(value) for value in values]


def _part(index: int):
    """A geolocation column's values from the field's points (records/geo_rows.py)."""
    return lambda points: [point[index] if isinstance(point, tuple) else None for point in points]


class InsertWriter:
    """`columns`: the names written (default: every column; one left out gets its server-side
    default, e.g. an identity id); `returning`: a column the INSERT returns (PostgreSQL's new id);
    `pair_fields`: (field, its two columns, _) of geolocation and related_to fields, whose two
    columns are filled from each field's values (records/geo_rows.py)."""
    def __init__(self, table, dialect, pair_fields=(), *, columns: list[str] | None = None, returning=None):
        columns = list(table.c) if columns is None else [table.c[name] for name in columns]
        names = [c.name for c in columns]
        stmt = insert(table) if returning is None else insert(table).returning(returning)
        compiled = stmt.compile(dialect=dialect, column_keys=names)
        self.sql = compiled.string
        self.positional = compiled.positional
        by_name = {c.name: c for c in columns}
        if self.positional:
            order = list(compiled.positiontup)
        else:
            order = [compiled.bind_names[b] for b in compiled.binds.values()]
        if sorted(order) != sorted(names):   # bind names are the column names (identifiers)
            raise ValueError(f"unexpected bind names for {table.name}: {order}")
        self.names = order
        self.processors = [by_name[n].type.dialect_impl(dialect).bind_processor(dialect) for n in order]
        # randomized encryption: every value its own ciphertext, so equal values are never converted
        # once for several rows (that would show which rows are equal: tessera/encryption)
        self.each = {n for n in order if getattr(by_name[n].type, "mode", None) == "randomized"}
        # a geolocation column -> (its field, a function taking the field's points to the column's values)
        self.geo = {column: (field, _part(i)) for field, columns, _make in pair_fields
                    for i, column in enumerate(columns)}

    def _values(self, name, get):
        """A column's values; `get(key)` gives the list for a column or field name (or None)."""
        if name in self.geo:
            field, part = self.geo[name]
            points = get(field)
            return None if points is None else part(points)
        return get(name)

    def parameters(self, rows: list[dict]) -> list:
        columns = []
        for name, process in zip(self.names, self.processors):
            values = self._values(name, lambda key: [row.get(key) for row in rows])  # column by column
            if values is None:
                values = [None] * len(rows)
            if process is not None:
                values = _each(values, process) if name in self.each else _converted(values, process)
            columns.append(values)
        if self.positional:
            return list(zip(*columns))
        return [dict(zip(self.names, params)) for params in zip(*columns)]

    def column_parameters(self, columns: dict[str, list], n: int, constants: dict) -> list:
        """Parameters from a bulk create's columns (records/bulk.py): no dict per row at all."""
        converted = []
        for name, process in zip(self.names, self.processors):
            values = self._values(name, columns.get)
            if values is None:
                values = [None] * n
            elif process is not None and name in self.each:
                values = _each(values, process)
            elif process is not None:
                values = _converted_column(values, process, _UNSET if name in self.geo else constants.get(name, _UNSET))
            converted.append(values)
        if self.positional:
            return list(zip(*converted))
        return [dict(zip(self.names, params)) for params in zip(*converted)]

    def execute_columns(self, conn, columns: dict[str, list], n: int, constants: dict) -> None:
        self._run(conn, self.column_parameters(columns, n, constants))

    def execute(self, conn, rows: list[dict]) -> None:
        self._run(conn, self.parameters(rows))

    def execute_row(self, conn, row: dict):
        """One row, the least Python per call (an enqueue inside a record write); returns the
        driver's result (lastrowid, or the RETURNING row)."""
        values = [row.get(name) for name in self.names]
        values = [v if process is None or v is None else process(v) for v, process in zip(values, self.processors)]
        return conn.exec_driver_sql(self.sql, tuple(values) if self.positional else dict(zip(self.names, values)))

    def _run(self, conn, params: list) -> None:
        if not params:
            return
        if len(params) == 1:
            conn.exec_driver_sql(self.sql, params[0])
        else:
            conn.exec_driver_sql(self.sql, params)
