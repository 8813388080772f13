"""10. Reports (issue 15) on the big object (`--rows`, 1,000,000 by default): a summary report grouped
by status × due month (count, sum of amount) through the record service, against a hand-written
SQLAlchemy Core GROUP BY of the same query on the same database; the report with its subtotals and
grand total against the same three hand-written GROUP BYs; a dashboard of 6 components.
11. The same report as a rep and a manager under sharing (the sharing org of benchmark 7) against
the admin's.

The hand-written statements bucket the date the way the record service does on each database
(records/aggregate.py date_bucket), so both compute the same groups; the figures are checked equal.
"""
from __future__ import annotations

import statistics
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import cast, func, select

from common import Result

TARGET_REPORT_RATIO = 1.2
TARGET_SHARING_RATIO = 1.5
TARGET_DASHBOARD_S = 1.5
ROUNDS = 5

SUMMARY = {"object": "bench_item", "format": "summary", "groupings": ["status", "due_date:month"],
           "summaries": ["count", "sum:amount"]}
DASHBOARD = [   # six components, as a dashboard of the big object would have
    SUMMARY,
    {"object": "bench_item", "format": "summary", "groupings": ["status"], "summaries": ["count", "sum:amount"],
     "chart": {"type": "funnel"}},
    {"object": "bench_item", "format": "summary", "groupings": ["due_date:quarter"], "summaries": ["sum:amount"],
     "chart": {"type": "line"}},
    {"object": "bench_item", "format": "matrix", "groupings": ["status"], "column_groupings": ["active"],
     "summaries": ["count"]},
    {"object": "bench_item", "format": "summary", "groupings": ["account"], "summaries": ["count", "avg:amount"],
     "limit": 10, "sort": ["-count"]},
    {"object": "bench_item", "format": "tabular", "columns": ["name", "amount", "due_date"], "sort": ["-amount"],
     "limit": 10, "summaries": ["sum:amount"]},
]


def _month(column, dialect: str):
    if dialect == "postgresql":
        return cast(func.date_trunc("month", column), column.type)
    return func.strftime("%Y-%m-01", column)


def _hand_written(conn, table, keys: list[str]):
    dialect = conn.dialect.name
    cols = {"status": table.c.status, "month": _month(table.c.due_date, dialect)}
    chosen = [cols[k].label(k) for k in keys]
    inner = select(*chosen, table.c.amount.label("amount")).subquery()
    grouped = [inner.c[k] for k in keys]
    stmt = select(*grouped, func.count().label("n"), func.sum(inner.c.amount).label("total")).select_from(inner)
    if grouped:
        stmt = stmt.group_by(*grouped).order_by(*grouped)
    return conn.execute(stmt).all()


def _median_s(fn, rounds: int = ROUNDS) -> float:
    fn()                                    # warm: statement caches, the database's pages
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def run(org, args) -> list[Result]:
    from tessera.analytics.dashboards import run_dashboard
    from tessera.analytics.definitions import adhoc_definition
    from tessera.analytics.run import run_report
    from tessera.analytics.snapshots import DashboardSnapshots

    svc = org.services
    db = "sqlite" if org.url.startswith("sqlite") else "postgresql"
    md = svc.runtimes.current().metadata
    table = svc.runtimes.current().objects["bench_item"].table
    definition = adhoc_definition(md, SUMMARY)

    def service_groups():
        return svc.records.aggregate(org.actor, "bench_item", group_by=["status", "due_date:month"],
                                     metrics=["count", "sum:amount"], limit=2000)

    def hand_groups():
        with svc.engine.connect() as conn:
            return _hand_written(conn, table, ["status", "month"])

    got = {(g["key"]["status"], g["key"]["due_date:month"]): g["values"]["count"] for g in service_groups().groups}
    expected = {(s, str(m)[:10]): n for s, m, n, _t in hand_groups()}
    assert got == expected, "the record service and the hand-written GROUP BY disagree"

    def hand_report():
        with svc.engine.connect() as conn:
            for keys in (["status", "month"], ["status"], []):
                _hand_written(conn, table, keys)

    rows = f"{args.rows:,} rows"
    service_s, hand_s = _median_s(service_groups), _median_s(hand_groups)
    report_s, hand_report_s = _median_s(lambda: run_report(svc.records, org.actor, definition)), _median_s(hand_report)
    dashboard = [adhoc_definition(md, d) for d in DASHBOARD]
    one_by_one_s = _median_s(lambda: [run_report(svc.records, org.actor, d) for d in dashboard], rounds=3)
    # the same six reports as a dashboard of the org (cache_minutes: 10): computed (its components
    # side by side), then viewed again (from its snapshot)
    svc.changes.apply_org({"manifest": None, "components": {
        "reports": {f"bench_{i}": {"source": f"reports/bench_{i}.yaml", "doc": {"name": f"bench_{i}", **d}}
                    for i, d in enumerate(DASHBOARD)},
        "dashboards": {"bench_home": {"source": "dashboards/bench_home.yaml", "doc": {
            "name": "bench_home", "cache_minutes": 10,
            "components": [{"report": f"bench_{i}"} for i in range(len(DASHBOARD))]}}}}},
        author="bench", message="benchmark dashboard")
    md = svc.runtimes.current().metadata
    snapshots = DashboardSnapshots(svc.engine)

    later = iter(range(2, 10_000, 2))      # each refresh a couple of minutes after the last (not rate-limited)

    def view(computed: bool):
        now = datetime.now(timezone.utc) + timedelta(minutes=next(later) if computed else 0)
        out = run_dashboard(svc.records, svc.identity, md, org.actor, "bench_home", {}, snapshots=snapshots,
                            refresh=computed, now=now)
        assert out["cached"] is not computed
        return out
    computed_s = _median_s(lambda: view(True), rounds=3)
    cached_s = _median_s(lambda: view(False))
    return [
        Result(f"10a summary report status × due month, {rows}", db,
               f"{service_s * 1000:.0f} ms; {service_s / hand_s:.2f}× hand-written", f"<= {TARGET_REPORT_RATIO}×",
               service_s / hand_s <= TARGET_REPORT_RATIO, f"hand-written GROUP BY {hand_s * 1000:.0f} ms; "
               f"{len(got)} groups"),
        Result(f"10b the report with subtotals and grand total, {rows}", db,
               f"{report_s * 1000:.0f} ms; {report_s / hand_report_s:.2f}× hand-written", f"<= {TARGET_REPORT_RATIO}×",
               report_s / hand_report_s <= TARGET_REPORT_RATIO,
               f"three hand-written GROUP BYs {hand_report_s * 1000:.0f} ms"),
        Result(f"10c dashboard of 6 components computed, {rows}", db, f"{computed_s:.2f} s",
               f"<= {TARGET_DASHBOARD_S} s" if db == "postgresql" else "(PostgreSQL target)",
               computed_s <= TARGET_DASHBOARD_S if db == "postgresql" else None,
               f"components side by side; the six reports one after another: {one_by_one_s:.2f} s"),
        Result(f"10d the dashboard viewed again (cache_minutes), {rows}", db, f"{cached_s * 1000:.0f} ms",
               f"<= {TARGET_DASHBOARD_S} s" if db == "postgresql" else "(PostgreSQL target)",
               cached_s <= TARGET_DASHBOARD_S if db == "postgresql" else None,
               f"from its snapshot, as of its computation; computed: {computed_s:.2f} s"),
    ]
