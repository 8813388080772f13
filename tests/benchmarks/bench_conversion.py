"""17. Converting a lead (issue 17: ≤ 100 ms): the Sales app's lead_conversion through the
conversion service — account, contact and opportunity created through the record service, each
with its duplicate rules, automation and history, the lead marked, in one transaction — against
the same writes made one by one through the record service (the three creates and the lead's
update, each its own transaction), side by side on the same org with `--conversion-leads` leads
already converted or waiting.

    python tests/benchmarks/run.py --only conversion
"""
from __future__ import annotations

import uuid

from common import Result, latencies_ms, percentile

TARGET_P95_MS = 100.0


def run(org, args, log) -> list[Result]:
    from tessera.conversion import ConversionService

    svc, actor = org.services, org.actor
    records = svc.records
    db = "sqlite" if org.url.startswith("sqlite") else "postgresql"
    n, iterations = args.conversion_leads, args.conversion_iterations
    for start in range(0, n, 5_000):
        records.bulk_create(actor, "lead", [{"last_name": f"Lead {i}", "company": f"Company {i}",
                                             "email": f"lead{i}@company{i}.example", "city": "Lyon"}
                                            for i in range(start, min(n, start + 5_000))])
    log(f"  {n:,} leads loaded")
    service = ConversionService(records)
    counter = iter(range(10**9))

    def new_lead():
        i = next(counter)
        return records.create(actor, "lead", {"first_name": "Bench", "last_name": f"Convert {i}",
                                              "company": f"Converted Co {i}", "email": f"convert{i}@converted{i}.example",
                                              "city": "Nantes"})["id"]

    leads = [new_lead() for _ in range(2 * iterations + 20)]
    queue = iter(leads)

    def convert():
        service.convert(actor, "lead", next(queue), {})

    def by_hand():
        lead = records.get(actor, "lead", next(queue))
        account = records.create(actor, "account", {"name": lead["company"], "billing_city": lead["city"]})
        contact = records.create(actor, "contact", {"first_name": lead["first_name"], "last_name": lead["last_name"],
                                                    "email": lead["email"], "account": account["id"]})
        opportunity = records.create(actor, "opportunity", {"name": f"{lead['company']} - New Business",
                                                            "stage": "Prospecting", "close_date": "2027-06-30",
                                                            "account": account["id"], "primary_contact": contact["id"]})
        records.update(actor, "lead", lead["id"], {"status": "Qualified"}, platform_values={
            "converted": True, "converted_account": uuid.UUID(account["id"]),
            "converted_contact": uuid.UUID(contact["id"]), "converted_opportunity": uuid.UUID(opportunity["id"])})

    converted = latencies_ms(convert, iterations, warmup=5)
    manual = latencies_ms(by_hand, iterations, warmup=5)
    c50, c95 = percentile(converted, 0.5), percentile(converted, 0.95)
    m50, m95 = percentile(manual, 0.5), percentile(manual, 0.95)
    return [Result(f"17 convert a lead ({n:,} leads)", db,
                   f"p50 {c50:.1f} ms, p95 {c95:.1f} ms (the same writes one by one: p50 {m50:.1f} ms, p95 {m95:.1f} ms)",
                   f"p95 <= {TARGET_P95_MS:.0f} ms", c95 <= TARGET_P95_MS,
                   f"{iterations} conversions, account + contact + opportunity each")]
