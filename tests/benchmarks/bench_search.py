"""14. Global search (issue 16 §3) on the big object (`--rows`, 1,000,000 by default): the index
built by the change step (rows were loaded around the record service, so it is rebuilt once and
timed), then `RecordService.search` p95 for a word of a name and for suggestions (a 3-character
prefix, 8 hits), each against the LIKE-based search the app had before (the record service's
`CONTAINS(LOWER(name), …)` filter, what /app/search ran) in the same run.

    python tests/benchmarks/run.py --only search --rows 1000000
"""
from __future__ import annotations

import random
import time

from common import Result, latencies_ms, percentile

TARGET_SEARCH_MS = 50
TARGET_SUGGEST_MS = 100
ITERATIONS = 200


def run(org, args) -> list[Result]:
    from tessera.search import maintain
    from tessera.storage.engine import begin_write

    svc, actor = org.services, org.actor
    db = "sqlite" if org.url.startswith("sqlite") else "postgresql"
    cobj = svc.runtimes.current().objects["bench_item"]
    t0 = time.perf_counter()
    with begin_write(svc.engine) as conn:
        maintain.rebuild(conn, cobj.obj, cobj.table, cobj.name)
    build_s = time.perf_counter() - t0
    n = args.rows
    rnd = random.Random(12)
    words = [str(rnd.randrange(n)) for _ in range(ITERATIONS + 10)]
    prefixes = [w[:3] for w in words]
    found = svc.records.search(actor, words[0], objects=["bench_item"])
    assert found and any(h["name"] == f"Item {words[0]}" for h in found[0]["hits"]), found

    def cycle(items):
        it = iter(items * 2)
        return lambda: next(it)

    word, prefix = cycle(words), cycle(prefixes)
    search = latencies_ms(lambda: svc.records.search(actor, word(), objects=["bench_item"], limit=10), ITERATIONS)
    suggest = latencies_ms(lambda: svc.records.search(actor, prefix(), objects=["bench_item"], limit=8), ITERATIONS)
    like_word, like_prefix = cycle(words), cycle(prefixes)

    def like(next_word, limit):
        return lambda: svc.records.query(actor, "bench_item", filter=f"CONTAINS(LOWER(name), '{next_word()}')",
                                         fields=["name"], sort=["name"], limit=limit)
    like_search = latencies_ms(like(like_word, 10), max(20, ITERATIONS // 10), warmup=2)
    like_suggest = latencies_ms(like(like_prefix, 8), max(20, ITERATIONS // 10), warmup=2)
    rows = f"{n:,} rows"
    p95 = {k: percentile(v, 0.95) for k, v in (("s", search), ("g", suggest), ("ls", like_search),
                                                 ("lg", like_suggest))}
    return [
        Result(f"14a search a word of a name, {rows}", db, f"p95 {p95['s']:.1f} ms (p50 {percentile(search, .5):.1f})",
               f"<= {TARGET_SEARCH_MS} ms", p95["s"] <= TARGET_SEARCH_MS,
               f"LIKE baseline p95 {p95['ls']:.1f} ms; index built in {build_s:.1f} s"),
        Result(f"14b suggestions (3-character prefix, 8 hits), {rows}", db,
               f"p95 {p95['g']:.1f} ms (p50 {percentile(suggest, .5):.1f})", f"<= {TARGET_SUGGEST_MS} ms",
               p95["g"] <= TARGET_SUGGEST_MS, f"LIKE baseline p95 {p95['lg']:.1f} ms"),
    ]
