"""12. A record's timeline (issue 16 §1): the first page (20 entries, every kind, plus the open
tasks) of an account with `--timeline-activities` activities (10,000 by default: completed tasks,
logged calls and notes, a few open tasks), through `tessera.activities.Timeline` as the admin —
against, in the same run, a plain record list query of the same size (the account's newest 20
calls through `RecordService.query`), interleaved.

The activities are created through the record service (`bulk_create`), related to the account.
"""
from __future__ import annotations

from common import Result, latencies_ms, percentile

TARGET_P95_MS = 30.0
PAGE = 20


def prepare(org, n: int, log) -> str:
    records, actor = org.services.records, org.actor
    account = records.create(actor, "account", {"name": "Timeline Benchmark Co"})
    ref = {"object": "account", "id": account["id"]}
    calls, notes = n * 4 // 10, n * 3 // 10
    tasks = n - calls - notes
    chunk = 2_000
    for start in range(0, calls, chunk):
        records.bulk_create(actor, "task", [{"subject": f"Call {i}", "type": "Call", "status": "Completed",
                                             "related_to": ref} for i in range(start, min(calls, start + chunk))])
    for start in range(0, notes, chunk):
        records.bulk_create(actor, "note", [{"title": f"Note {i}", "body": "Talked about the renewal",
                                             "related_to": ref} for i in range(start, min(notes, start + chunk))])
    for start in range(0, tasks, chunk):
        records.bulk_create(actor, "task", [{"subject": f"Task {i}", "related_to": ref,
                                             "status": "Completed" if i % 50 else "Not Started",
                                             "due_date": "2030-01-01"}
                                            for i in range(start, min(tasks, start + chunk))])
    log(f"  {n} activities on account {account['id']}")
    return account["id"]


def run(org, args, log) -> list[Result]:
    from tessera.activities import Timeline

    svc = org.services
    db = "sqlite" if org.url.startswith("sqlite") else "postgresql"
    account_id = prepare(org, args.timeline_activities, log)
    timeline = Timeline(svc.records, svc.files)

    def first_page():
        page = timeline.page(org.actor, "account", account_id, limit=PAGE)
        assert len(page["entries"]) == PAGE and page["next_cursor"]

    def plain_list():
        svc.records.query(org.actor, "task", filter=f"related_to == '{account_id}' and type == 'Call'",
                          sort=["-created_at"], fields=["id", "subject", "status", "created_at"], limit=PAGE)

    rounds, per_round = 5, max(1, args.timeline_iterations // 5)
    ours, base = [], []
    for _ in range(rounds):   # interleaved: both see the same machine load
        ours += latencies_ms(first_page, per_round, warmup=3)
        base += latencies_ms(plain_list, per_round, warmup=3)
    p95, b95 = percentile(ours, 0.95), percentile(base, 0.95)
    p50, b50 = percentile(ours, 0.5), percentile(base, 0.5)
    n = args.timeline_activities
    return [Result(f"12 timeline first page ({n:,} activities)", db, f"p50 {p50:.1f} ms, p95 {p95:.1f} ms",
                   f"p95 <= {TARGET_P95_MS:.0f} ms", p95 <= TARGET_P95_MS,
                   note=f"baseline (a plain 20-row task list query of the same record): p50 {b50:.1f} ms, "
                        f"p95 {b95:.1f} ms; the timeline runs one query per kind, the open tasks and the "
                        f"record's visibility check"),
            Result("12 timeline / plain list", db, f"{p95 / b95:.1f}x (p95)", "-", None)]
