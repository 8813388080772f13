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
        names, processors = self.names, self.processors
        width = range(len(names))
        last_raw = [_UNSET] * len(names)
        last_out = [None] * len(names)
        out = []
        for row in rows:
            get = row.get
            params = []
            for i in width:
                value = get(names[i])
                if value is None:
                    params.append(None)
                elif value is last_raw[i]:
                    params.append(last_out[i])
                else:
                    p = processors[i]
                    converted = p(value) if p is not None else value
                    last_raw[i], last_out[i] = value, converted
                    params.append(converted)
            out.append(tuple(params) if self.positional else dict(zip(names, params)))
        return out

    def execute(self, conn, rows: list[dict]) -> None:
        params = self.parameters(rows)
        if len(params) == 1:
            conn.exec_driver_sql(self.sql, params[0])
        else:
            conn.exec_driver_sql(self.sql, params)
