"""The save step's INSERT, compiled once per object and dialect (see Runtime.writer).

`conn.execute(insert(table), rows)` costs SQLAlchemy ~15 µs of Python per row on SQLite (a
parameter dict per row, every value through its type's bind processor); bulk import targets
≥ 50k rows/s. This writer compiles the INSERT once, converts values with the same bind processors
SQLAlchemy would use, converts a value repeated from the previous row (created_at, owner,
created_by…: one object for the whole batch) once, and hands the driver one executemany. Rows may
name different columns: a column a row does not name is NULL, as in a single-row INSERT.
"""
from __future__ import annotations

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


class InsertWriter:
    def __init__(self, table, dialect):
        columns = list(table.c)
        names = [c.name for c in columns]
        compiled = insert(table).compile(dialect=dialect, column_keys=names)
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

    def parameters(self, rows: list[dict]) -> list:
        columns = []
        for name, process in zip(self.names, self.processors):
            values = [row.get(name) for row in rows]       # column by column: tight comprehensions
            columns.append(values if process is None else _converted(values, process))
        if self.positional:
            return list(zip(*columns))
        return [dict(zip(self.names, params)) for params in zip(*columns)]

    def execute(self, conn, rows: list[dict]) -> None:
        params = self.parameters(rows)
        if len(params) == 1:
            conn.exec_driver_sql(self.sql, params[0])
        else:
            conn.exec_driver_sql(self.sql, params)
