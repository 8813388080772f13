"""5. Compile the Runtime for core + the three stock apps: `Runtime(build_metadata(snapshot))`."""
from __future__ import annotations

import json
import time

from common import STOCK, Result, median

TARGET_MS = 300.0


def run(args) -> list[Result]:
    from tessera.meta.merge import build_metadata
    from tessera.meta.source import empty_org, load_package
    from tessera.runtime import Runtime

    packages = [load_package(p) for p in STOCK]
    # what the change pipeline stores and the RuntimeHolder rebuilds from: plain JSON
    snapshot = json.loads(json.dumps({"packages": packages, "org": empty_org()}, default=str))
    Runtime(build_metadata(snapshot))            # warm-up (imports, schema compilation)
    build_times, compile_times, totals = [], [], []
    for _ in range(args.repeat_runtime):
        t0 = time.perf_counter()
        md = build_metadata(snapshot)
        t1 = time.perf_counter()
        rt = Runtime(md)
        t2 = time.perf_counter()
        build_times.append(t1 - t0)
        compile_times.append(t2 - t1)
        totals.append(t2 - t0)
    total_ms = median(totals) * 1000
    note = (f"median of {args.repeat_runtime}: build_metadata {median(build_times) * 1000:.0f} ms + "
            f"Runtime() {median(compile_times) * 1000:.0f} ms; {len(rt.objects)} objects, "
            f"{sum(len(o.obj.fields) for o in rt.objects.values())} fields")
    return [Result("5 runtime compile (core+3 apps)", "-", f"{total_ms:.0f} ms", f"<= {TARGET_MS:.0f} ms",
                   total_ms <= TARGET_MS, note)]
