#!/usr/bin/env python3
"""Correctness check for the index-friendly keyset paging (records/keyset.py), on demand:

    python tests/benchmarks/keyset_check.py [--database URL]

Pages through `bench_item` with many sort orders (nullable and not, ascending and descending,
several keys, a lookup path), filters and page sizes, and compares the concatenated pages with
the same records sorted in Python by the API's order (NULLs last at every level, then id).
"""
from __future__ import annotations

import argparse
import itertools
import random
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import isolated_database, make_accounts, open_org  # noqa: E402

SORTS = [[], ["amount"], ["-amount"], ["amount", "-quantity"], ["-quantity", "name"], ["-amount", "quantity", "-name"],
         ["created_at"], ["-created_at"], ["status", "-amount"], ["account.name", "-amount"]]
FILTERS = [None, "amount <= 3", "amount >= 2", "status == 'Open'", "ISBLANK(amount) or quantity == 1"]
FIELDS = "id,amount,quantity,name,status,created_at,account.name"


class _Desc:
    def __init__(self, v):
        self.v = v

    def __lt__(self, other):
        return other.v < self.v

    def __eq__(self, other):
        return self.v == other.v


def api_order(keys):
    def key(rec):
        out = []
        for k in keys:
            v = rec[k.lstrip("-")]
            out.append((1, 0) if v is None else (0, _Desc(v) if k.startswith("-") else v))
        return [*out, uuid.UUID(rec["id"])]
    return key


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database", default=None, help="database URL (default: a temporary SQLite file)")
    args = p.parse_args(argv)
    with isolated_database(args.database, "keyset") as url:
        org = open_org(url)
        svc = org.services
        accounts = make_accounts(org, 3)
        rnd = random.Random(1)
        rows = []
        for _ in range(120):
            row = {"name": f"n{rnd.randrange(5)}", "amount": rnd.choice([None, 1, 2, 3, 4.5]),
                   "quantity": rnd.choice([None, 1, 2]), "status": rnd.choice(["Open", "Lost"]),
                   "account": rnd.choice([None, *accounts])}
            rows.append({k: v for k, v in row.items() if v is not None})
        svc.records.bulk_create(org.actor, "bench_item", rows[:60])     # equal created_at: id breaks ties
        for row in rows[60:]:
            svc.records.create(org.actor, "bench_item", row)
        checks = 0
        for keys, flt, limit in itertools.product(SORTS, FILTERS, [1, 7, 50]):
            got, cursor = [], None
            while True:
                page = svc.records.query(org.actor, "bench_item", filter=flt, sort=",".join(keys) or None,
                                         fields=FIELDS, limit=limit, cursor=cursor)
                got += page.records
                cursor = page.next_cursor
                if not cursor:
                    break
            every = svc.records.query(org.actor, "bench_item", filter=flt, fields=FIELDS, limit=1000).records
            expected = sorted(every, key=api_order(keys or ["created_at"]))
            if [r["id"] for r in got] != [r["id"] for r in expected]:
                print(f"MISMATCH sort={keys} filter={flt!r} limit={limit}")
                return 1
            checks += 1
    print(f"ok: {checks} paged queries in the API order")
    return 0


if __name__ == "__main__":
    sys.exit(main())
