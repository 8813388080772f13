"""Report figures against Python (issue 15): a summary report's groups, subtotals and grand total
and a matrix report's cells and totals, with a summary formula (amount per deal), computed by analytics/run.py
through the record service, equal independently computed aggregates of the rows query() reads.
Both databases."""
from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tessera.analytics.definitions import adhoc_definition
from tessera.analytics.run import run_report

_runs = itertools.count()
DEAL = st.fixed_dictionaries({
    "amount": st.one_of(st.none(), st.integers(min_value=0, max_value=10**7).map(lambda c: c / 100)),
    "stage": st.sampled_from(["New", "Working", "Closed"]),
    "close_date": st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 12, 31)),
})


@pytest.fixture
def admin(services):
    return services.identity.actor_for_user(services.identity.find_user("admin"))


def _quarter(iso: str) -> str:
    d = date.fromisoformat(iso)
    return date(d.year, (d.month - 1) // 3 * 3 + 1, 1).isoformat()


def _figures(members):
    amounts = [r["amount"] for r in members if r["amount"] is not None]
    return {"count": len(members), "sum:amount": pytest.approx(sum(amounts)) if amounts else None,
            # blank amounts count as deals; no amount at all (or no deal) is blank, not 0
            "per_deal": pytest.approx(sum(amounts) / len(members), abs=1e-6) if amounts else None}


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(rows=st.lists(DEAL, max_size=30))
def test_summary_and_matrix_figures_equal_python(services, admin, rows):
    tag = f"rep{next(_runs)}"
    payload = [{"name": tag, "stage": r["stage"], "close_date": r["close_date"].isoformat(),
                "amount": r["amount"] if r["stage"] != "Closed" or r["amount"] is not None else 1} for r in rows]
    if payload:
        services.records.bulk_create(admin, "deal", payload)
    md = services.runtimes.current().metadata
    summaries = ["count", "sum:amount", {"name": "per_deal", "formula": "SUM(amount) / COUNT()"}]
    flt = f"name == '{tag}'"
    read = services.records.query(admin, "deal", filter=flt, limit=1000, fields="stage,close_date,amount").records

    summary = run_report(services.records, admin, adhoc_definition(md, {
        "object": "deal", "format": "summary", "filter": flt, "groupings": ["stage", "close_date:quarter"],
        "summaries": summaries}))
    by_stage, by_both = defaultdict(list), defaultdict(list)
    for r in read:
        by_stage[r["stage"]].append(r)
        by_both[(r["stage"], _quarter(r["close_date"]))].append(r)
    assert {g["key"]["stage"]: g["values"] for g in summary["groups"]} == \
        {k: _figures(v) for k, v in by_stage.items()}
    nested = {(g["key"]["stage"], c["key"]["close_date:quarter"]): c["values"]
              for g in summary["groups"] for c in g["groups"]}
    assert nested == {k: _figures(v) for k, v in by_both.items()}
    assert summary["total"] == _figures(read)

    matrix = run_report(services.records, admin, adhoc_definition(md, {
        "object": "deal", "format": "matrix", "filter": flt, "groupings": ["close_date:year"],
        "column_groupings": ["stage"], "summaries": summaries}))
    cells = {(matrix["rows"][c["row"]]["key"]["close_date:year"], matrix["columns"][c["column"]]["key"]["stage"]):
             c["values"] for c in matrix["cells"]}
    by_cell = defaultdict(list)
    for r in read:
        by_cell[(r["close_date"][:4] + "-01-01", r["stage"])].append(r)
    assert cells == {k: _figures(v) for k, v in by_cell.items()}
    assert {c["key"]["stage"]: c["values"] for c in matrix["columns"]} == {k: _figures(v) for k, v in by_stage.items()}
    assert matrix["total"] == _figures(read)
