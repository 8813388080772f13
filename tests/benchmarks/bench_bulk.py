"""2. Bulk create through the full record path (`RecordService.bulk_create`) versus a raw DBAPI
`executemany` of the same rows (already converted to the driver's values, SQL written by hand,
ids made like the record service's: time-ordered, tessera.records.ids).

The record path gets API-shaped input (JSON types: strings for dates and ids) and does everything
it always does: coerce and check every value, defaults, required fields, lookup targets exist,
validation rules, system columns, one transaction. Target: >= 50,000 records/s on SQLite and
>= 40 % of the raw rate.
"""
from __future__ import annotations

import time
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

from common import Result, item_input

from tessera.records.ids import new_ids

TARGET_RATE = 50_000
TARGET_SHARE = 0.40


def _raw_rows(table, dialect, n, offset, accounts, user_id):
    """The same rows as the record path would store them, converted by each column's bind processor."""
    cols = list(table.c)
    processors = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in cols]
    now = datetime.now(timezone.utc)
    rows = []
    ids = new_ids(n)
    for i in range(offset, offset + n):
        d = item_input(i, accounts)
        values = {"id": ids[i - offset], "owner": user_id, "created_at": now, "created_by": user_id, "updated_at": now,
                  "updated_by": user_id, "row_version": 1, "name": d["name"], "status": d["status"],
                  "amount": Decimal(str(d["amount"])).quantize(Decimal("0.01")), "quantity": d["quantity"],
                  "due_date": date.fromisoformat(d["due_date"]), "active": d["active"],
                  "account": uuid.UUID(d["account"])}
        rows.append(tuple(p(values[c.name]) if p else values[c.name] for c, p in zip(cols, processors)))
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table.name} ({', '.join(c.name for c in cols)}) VALUES ({', '.join([mark] * len(cols))})"
    return sql, rows


def raw_executemany(engine, sql, rows) -> float:
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        sqlite = engine.dialect.name == "sqlite"
        t0 = time.perf_counter()
        if sqlite:                      # the engine runs pysqlite in autocommit mode (see storage/engine.py)
            cur.execute("BEGIN")
        cur.executemany(sql, rows)
        if sqlite:
            cur.execute("COMMIT")
        else:
            raw.commit()
        elapsed = time.perf_counter() - t0
        cur.close()
    finally:
        raw.close()
    return elapsed


def run(org, accounts, args) -> list[Result]:
    svc = org.services
    rt = svc.runtimes.current()
    table = rt.objects["bench_item"].table
    n = args.bulk_rows
    best_record, best_raw = 0.0, 0.0
    offset = 10_000_000
    # warm-up (statement caches, connection pool)
    svc.records.bulk_create(org.actor, "bench_item", [item_input(i, accounts) for i in range(1000)])
    for _round in range(args.bulk_rounds):
        rows = [item_input(offset + i, accounts) for i in range(n)]
        offset += n
        t0 = time.perf_counter()
        ids = svc.records.bulk_create(org.actor, "bench_item", rows)
        elapsed = time.perf_counter() - t0
        assert len(ids) == n
        best_record = max(best_record, n / elapsed)
        sql, raw_rows = _raw_rows(table, svc.engine.dialect, n, offset, accounts, org.admin_id)
        offset += n
        best_raw = max(best_raw, n / raw_executemany(svc.engine, sql, raw_rows))
    share = best_record / best_raw
    db = "sqlite" if org.url.startswith("sqlite") else "postgresql"
    results = [
        Result(f"2 bulk_create {n:,} rows", db, f"{best_record:,.0f} rec/s",
               f">= {TARGET_RATE:,} rec/s" if db == "sqlite" else "-", best_record >= TARGET_RATE if db == "sqlite"
               else None),
        Result("2 bulk_create / raw executemany", db, f"{best_record:,.0f} / {best_raw:,.0f} = {share:.0%}",
               f">= {TARGET_SHARE:.0%}", share >= TARGET_SHARE),
    ]
    return results
