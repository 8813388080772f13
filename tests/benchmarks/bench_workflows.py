"""8. What a record-triggered before-save workflow costs a write: creates of `bench_item` (no
workflow) against `bench_flow_item` — the same object (same fields, rule, lookup) copied into the
org layer with one before-save workflow that sets two fields from expressions (a CASE on the status
and arithmetic on the amount, like the stock opportunity stage defaults), whose run is logged.

Single creates go through the record service (`RecordService.create`, as the API's POST does)
in interleaved rounds; bulk creates (`bulk_create`) alternate batches. Targets: the workflow adds
<= 15 % to a single create and <= 30 % to a bulk create.
"""
from __future__ import annotations

import copy
import time
from pathlib import Path

import yaml
from common import Result, item_input, make_accounts, percentile

TARGET_SINGLE = 0.15
TARGET_BULK = 0.30
BENCH_ITEM = Path(__file__).resolve().parent / "bench_pkg" / "objects" / "bench_item.yaml"

WORKFLOW = {
    "name": "bench_flow_defaults", "object": "bench_flow_item",
    "trigger": {"event": "create_or_update", "timing": "before_save",
                "condition": "ISCHANGED(status) or ISBLANK(PRIORVALUE(status))"},
    "actions": [{"type": "update_record", "values": {
        "quantity": "CASE(status, 'Open', 1, 'In Progress', 2, 'Won', 3, 'Lost', 4, 0)",
        "active": "amount > 500"}}],
}


def add_flow_object(org) -> None:
    doc = yaml.safe_load(BENCH_ITEM.read_text())
    doc = copy.deepcopy(doc)
    doc["name"], doc["label"] = "bench_flow_item", "Benchmark Flow Item"
    org_layer = {"manifest": None, "components": {
        "objects": {"bench_flow_item": {"source": "objects/bench_flow_item.yaml", "doc": doc}},
        "workflows": {"bench_flow_defaults": {"source": "workflows/bench_flow_defaults.yaml", "doc": WORKFLOW}}}}
    org.services.changes.apply_org(org_layer, author="bench", message="workflow benchmark")
    org.services.runtimes.refresh()


def _singles(org, object_name, rows) -> list[float]:
    records = org.services.records
    times = []
    for row in rows:
        t0 = time.perf_counter()
        records.create(org.actor, object_name, row)
        times.append(time.perf_counter() - t0)
    return times


def run(org, args) -> list[Result]:
    db = org.services.engine.dialect.name
    add_flow_object(org)
    accounts = make_accounts(org, 50)
    records = org.services.records
    check = records.create(org.actor, "bench_flow_item", item_input(1, accounts))
    assert check["quantity"] == 2 and check["active"] is True, check   # the workflow ran
    per_round = max(50, args.requests // max(1, args.rounds) // 4)
    plain, flow = [], []
    n = 0
    for _round in range(args.rounds):
        for object_name, sink in (("bench_item", plain), ("bench_flow_item", flow)):
            sink += _singles(org, object_name, [item_input(n + i, accounts) for i in range(per_round)])
        n += per_round
    p50_plain, p50_flow = percentile(plain, 0.5), percentile(flow, 0.5)
    single = p50_flow / p50_plain - 1
    bulk_plain, bulk_flow = [], []
    size = max(1000, args.bulk_rows // 4)
    for _round in range(args.bulk_rounds):
        for object_name, sink in (("bench_item", bulk_plain), ("bench_flow_item", bulk_flow)):
            rows = [item_input(n + i, accounts) for i in range(size)]
            n += size
            t0 = time.perf_counter()
            records.bulk_create(org.actor, object_name, rows)
            sink.append(size / (time.perf_counter() - t0))
    rate_plain, rate_flow = max(bulk_plain), max(bulk_flow)
    bulk = rate_plain / rate_flow - 1
    return [
        Result("8 workflow: single create", db,
               f"p50 {p50_flow * 1000:.2f} ms with vs {p50_plain * 1000:.2f} ms without (+{single:.0%})",
               f"<= +{TARGET_SINGLE:.0%}", single <= TARGET_SINGLE, f"{len(plain)} creates each"),
        Result("8 workflow: bulk create", db,
               f"{rate_flow:,.0f} rows/s with vs {rate_plain:,.0f} without (+{bulk:.0%} time)",
               f"<= +{TARGET_BULK:.0%}", bulk <= TARGET_BULK, f"best of {args.bulk_rounds} batches of {size:,}"),
    ]
