"""The last recorded figure of each benchmark (README.md in this directory), printed next to the
new one and its target so a run shows at a glance whether it moved. Keys: the start of a result's
benchmark name and its database ("-": none involved). Figures from a busy shared machine are
ranges of several runs; compare interleaved ratios rather than absolute rates across machines.
Update these when the README's figures are updated."""
from __future__ import annotations

BASELINES: dict[tuple[str, str], str] = {
    ("1a GET", "sqlite"): "1.08x", ("1a POST", "sqlite"): "0.84x", ("1a PATCH", "sqlite"): "1.25x",
    ("1a GET", "postgresql"): "1.19x", ("1a POST", "postgresql"): "0.93x", ("1a PATCH", "postgresql"): "1.11x",
    ("1b GET", "sqlite"): "0.99x", ("1b POST", "sqlite"): "0.65-0.82x", ("1b PATCH", "sqlite"): "1.05x",
    ("1b GET", "postgresql"): "0.88x", ("1b POST", "postgresql"): "0.84x", ("1b PATCH", "postgresql"): "1.01x",
    ("2 bulk_create / raw", "sqlite"): "58-67 %", ("2 bulk_create / raw", "postgresql"): "86 %",
    ("2 bulk_create", "sqlite"): "27,960-30,599 rows/s", ("2 bulk_create", "postgresql"): "10,280 rows/s",
    ("3 query", "sqlite"): "p95 6.9 ms", ("3 query", "postgresql"): "p95 9.0 ms",
    ("4 add nullable", "sqlite"): "82 ms", ("4 add nullable", "postgresql"): "490 ms",
    ("5 runtime", "-"): "98 ms", ("5 runtime", "sqlite"): "98 ms",
    ("6 warm decision, object", "-"): "0.95 µs", ("6 warm decision, field", "-"): "1.15 µs",
    ("7 ", "sqlite"): "1.13-1.15x admin", ("7 ", "postgresql"): "1.20-1.26x admin",
    ("8 workflow: single", "sqlite"): "+95-116 %", ("8 workflow: single", "postgresql"): "+9-35 %",
    ("8 workflow: bulk", "sqlite"): "+198-206 %", ("8 workflow: bulk", "postgresql"): "+155-195 % (noisy)",
    ("8a queue", "sqlite"): "1,047-1,145 jobs/s", ("8a queue", "postgresql"): "947-1,135 jobs/s",
    ("8b enqueue in the write transaction: added", "sqlite"): "+50-53 %",
    ("8b enqueue in the write transaction: added", "postgresql"): "+9.9-11.3 %",
    ("8b enqueue in the write transaction: vs a raw", "sqlite"): "+54-65 %",
    ("8b enqueue in the write transaction: vs a raw", "postgresql"): "+9-11 %",
    ("9 webhooks", "sqlite"): "101-104/s", ("9 webhooks", "postgresql"): "59/s",
    ("12 timeline first page", "sqlite"): "not recorded", ("12 timeline first page", "postgresql"): "not recorded",
}


def baseline_for(benchmark: str, database: str) -> str:
    """The recorded figure whose key is the longest prefix of `benchmark` ("-" when none)."""
    found = [(len(prefix), text) for (prefix, db), text in BASELINES.items()
             if db == database and benchmark.startswith(prefix)]
    return max(found)[1] if found else "-"
