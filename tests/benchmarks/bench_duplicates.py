"""15. Duplicate rules (issue 17) on the stock Sales app's contacts (`--dup-rows`, 1,000,000 by
default): a single create through the record service with the Sales app's `contact_by_email` rule
(block) active against the same create with the rule deactivated, side by side — plus a create the
rule refuses (a duplicate email: the check finds the match, the write answers 409), and the time
the change pipeline takes to build the rule's keys for every existing contact.

The contacts are loaded with the rule deactivated (an org-layer copy of the rule with
`active: false`, through the change pipeline), the creates without the rule timed, then the rule
is activated again (its keys built from every row, timed), and the creates with it timed. Each new
contact has an email no other has (the usual case: the check finds nothing).

    python tests/benchmarks/run.py --only duplicates --dup-rows 1000000
"""
from __future__ import annotations

import time

import yaml

from common import ROOT, Result, latencies_ms, percentile

TARGET_CHECK_P95_MS = 20.0
CHUNK = 20_000
RULE = "contact_by_email"


def _org_layer(active: bool) -> dict:
    doc = yaml.safe_load((ROOT / "apps" / "sales" / "duplicate_rules" / f"{RULE}.yaml").read_text())
    if active:
        return {"manifest": None, "components": {}}
    return {"manifest": None, "components": {"duplicate_rules": {RULE: {
        "source": f"duplicate_rules/{RULE}.yaml", "doc": {**doc, "active": False}}}}}


def _load(org, n: int, log) -> None:
    records, actor = org.services.records, org.actor
    for start in range(0, n, CHUNK):
        records.bulk_create(actor, "contact", [
            {"last_name": f"Contact {i}", "first_name": "Bench", "email": f"contact{i}@company{i % 5000}.example"}
            for i in range(start, min(n, start + CHUNK))])
        if (start // CHUNK) % 10 == 9:
            log(f"  {start + CHUNK:,} contacts")


def run(org, args, log) -> list[Result]:
    from tessera.records.errors import DuplicatesFound

    svc, actor = org.services, org.actor
    records = svc.records
    db = "sqlite" if org.url.startswith("sqlite") else "postgresql"
    n, iterations = args.dup_rows, args.dup_iterations
    svc.changes.apply_org(_org_layer(active=False), author="bench", message="contact rule off for the load")
    t0 = time.perf_counter()
    _load(org, n, log)
    load_s = time.perf_counter() - t0
    log(f"  {n:,} contacts loaded in {load_s:.1f} s")
    counter = iter(range(10**9))

    def create_new():
        i = next(counter)
        records.create(actor, "contact", {"last_name": f"New {i}", "email": f"new{i}@fresh{i % 97}.example"})

    without = latencies_ms(create_new, iterations)
    t0 = time.perf_counter()
    result = svc.changes.apply_org(_org_layer(active=True), author="bench", message="contact rule on")
    build_s = time.perf_counter() - t0
    assert any("build duplicate keys of contact" in line for line in result.plan.lines()), result.plan
    with_rule = latencies_ms(create_new, iterations)
    refused = iter(range(10**9))

    def create_duplicate():
        i = next(refused) * 7919 % n
        try:
            records.create(actor, "contact", {"last_name": "Again", "email": f"CONTACT{i}@company{i % 5000}.example"})
        except DuplicatesFound:
            return
        raise AssertionError("the duplicate was saved")

    blocked = latencies_ms(create_duplicate, iterations)
    p = {name: (percentile(v, 0.5), percentile(v, 0.95)) for name, v in
         (("without", without), ("with", with_rule), ("blocked", blocked))}
    rows = f"{n:,} contacts"
    extra = p["with"][1] - p["without"][1]
    return [
        Result(f"15a create a contact, no duplicate rule, {rows}", db,
               f"p50 {p['without'][0]:.1f} ms, p95 {p['without'][1]:.1f} ms", "-", None,
               f"{n:,} contacts loaded by bulk_create in {load_s:.1f} s"),
        Result(f"15b create a contact, contact_by_email active, {rows}", db,
               f"p50 {p['with'][0]:.1f} ms, p95 {p['with'][1]:.1f} ms",
               f"p95 <= {TARGET_CHECK_P95_MS:.0f} ms", p["with"][1] <= TARGET_CHECK_P95_MS,
               f"the rule adds {extra:+.1f} ms at p95; its keys for every contact built in {build_s:.1f} s"),
        Result(f"15c create refused as a duplicate (409), {rows}", db,
               f"p50 {p['blocked'][0]:.1f} ms, p95 {p['blocked'][1]:.1f} ms",
               f"p95 <= {TARGET_CHECK_P95_MS:.0f} ms", p["blocked"][1] <= TARGET_CHECK_P95_MS,
               "the check finds the match, names it and refuses the write"),
    ]
