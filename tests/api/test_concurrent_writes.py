"""Concurrent writers through the record service all succeed (SQLite and PostgreSQL).

Every write here reads before it writes (an update loads the row; a create checks its lookup), the
pattern that fails at once with "database is locked" on SQLite when transactions begin deferred:
the reader cannot upgrade its lock while another connection writes. Write transactions begin with
BEGIN IMMEDIATE, so a second writer waits its turn (busy_timeout) instead.
"""
from __future__ import annotations

import threading

from tessera.security.actor import SYSTEM

THREADS = 4
ROUNDS = 15


def test_concurrent_writers_all_succeed(services):
    records = services.records
    company = records.create(SYSTEM, "company", {"name": "Shared", "employees": 0})
    start = threading.Barrier(THREADS)
    failures: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(ROUNDS):
                records.create(SYSTEM, "deal", {"name": f"w{n}-{i}", "company": company["id"], "amount": i})
                records.update(SYSTEM, "company", company["id"], {"notes": f"writer {n}, round {i}"})
        except BaseException as exc:   # collected: an assert in a thread would be lost
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    deals = records.query(SYSTEM, "deal", filter=f"company == '{company['id']}'", fields="name", limit=1000)
    assert sorted(r["name"] for r in deals.records) == sorted(
        f"w{n}-{i}" for n in range(THREADS) for i in range(ROUNDS))
    again = records.get(SYSTEM, "company", company["id"], fields="notes")
    assert again["_row_version"] == 1 + THREADS * ROUNDS   # no update was lost
