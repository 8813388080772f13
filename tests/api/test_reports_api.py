"""Reports (issue 15): the stock Sales reports and ad-hoc definitions through
GET /api/v1/reports/{name} and POST /api/v1/reports/run, figures compared with Python over the same
records, a sales rep seeing figures built only from her own records. Both databases."""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest

from tessera.security.actor import SYSTEM

REP_PASSWORD = "lantern-copper-71"
DEALS = [  # (name, amount, stage, close_date, owned by the rep)
    ("A", 100, "Prospecting", "2026-01-10", False), ("B", 250.5, "Prospecting", "2026-02-03", True),
    ("C", 70, "Negotiation", "2026-02-20", True), ("D", 900, "Closed Won", "2026-02-11", False),
    ("E", 40, "Closed Won", "2026-04-02", True), ("F", 10, "Closed Lost", "2026-04-30", True),
    ("G", None, "Prospecting", "2026-05-01", False)]


@pytest.fixture
def deals(sales, api):
    rep, _ = sales.identity.create_user("rita", password=REP_PASSWORD, profile="sales_rep", role="sales_rep",
                                        last_name="Rep")
    account = api.post("/api/v1/records/account", json={"name": "Volt"}).get_json()["id"]
    for name, amount, stage, close, mine in DEALS:
        r = api.post("/api/v1/records/opportunity", json={"name": name, "amount": amount, "stage": stage,
                                                          "close_date": close, "account": account,
                                                          **({"loss_reason": "Price"} if stage == "Closed Lost" else {})})
        assert r.status_code == 201, r.get_json()
        if mine:
            sales.records.update(SYSTEM, "opportunity", r.get_json()["id"], {"owner": rep["id"]})
    return rep


def _sum(rows):
    return float(sum(Decimal(str(a)) for a in rows if a is not None))


def test_pipeline_by_stage_matches_python(api, deals):
    r = api.get("/api/v1/reports/pipeline_by_stage")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["format"] == "summary" and [s["name"] for s in body["summaries"]] == ["count", "sum:amount"]
    expected = defaultdict(list)
    for _n, amount, stage, _c, _m in DEALS:
        if stage not in ("Closed Won", "Closed Lost"):
            expected[stage].append(amount)
    got = {g["key"]["stage"]: g["values"] for g in body["groups"]}
    assert got == {stage: {"count": len(a), "sum:amount": _sum(a)} for stage, a in expected.items()}
    assert body["total"] == {"count": 4, "sum:amount": _sum([a for v in expected.values() for a in v])}
    chart = body["chart"]
    assert chart["type"] == "funnel" and chart["categories"] == [g["key"]["stage"] for g in body["groups"]]
    assert chart["series"][0]["values"] == [g["values"]["sum:amount"] for g in body["groups"]]
    # the drill-down filter lists exactly the group's records
    group = next(g for g in body["groups"] if g["key"]["stage"] == "Prospecting")
    listed = api.get("/api/v1/records/opportunity", query_string={"filter": group["filter"]}).get_json()["records"]
    assert sorted(r["name"] for r in listed) == ["A", "B", "G"]


def test_summary_with_date_buckets_subtotals_and_a_formula(api, deals):
    definition = {"object": "opportunity", "format": "summary", "groupings": ["close_date:quarter", "stage"],
                  "summaries": ["count", "sum:amount",
                                {"name": "win_rate", "formula": "SUM(is_won) / COUNT()", "format": "percent"}]}
    r = api.post("/api/v1/reports/run", json=definition)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    quarters = {g["key"]["close_date:quarter"]: g for g in body["groups"]}
    assert set(quarters) == {"2026-01-01", "2026-04-01"}
    q1 = quarters["2026-01-01"]
    assert q1["values"] == {"count": 4, "sum:amount": 1320.5, "win_rate": 0.25}
    assert {g["key"]["stage"]: g["values"]["count"] for g in q1["groups"]} == \
        {"Prospecting": 2, "Negotiation": 1, "Closed Won": 1}
    assert body["total"]["count"] == len(DEALS) and body["total"]["win_rate"] == pytest.approx(2 / 7)
    listed = api.get("/api/v1/records/opportunity", query_string={"filter": q1["filter"]}).get_json()["records"]
    assert sorted(r["name"] for r in listed) == ["A", "B", "C", "D"]
    # a formula dividing by zero is blank, not an error
    empty = api.post("/api/v1/reports/run", json={**definition, "filter": "amount > 1000000"}).get_json()
    assert empty["groups"] == [] and empty["total"] == {"count": 0, "sum:amount": None, "win_rate": None}


def test_matrix_owner_by_stage_names_the_owners(api, deals):
    body = api.get("/api/v1/reports/opportunities_by_owner_stage").get_json()
    owners = {g["labels"]["owner"]: g["values"]["count"] for g in body["rows"]}
    assert sorted(owners.values()) == [3, 4] and sum(owners.values()) == len(DEALS)
    assert {c["key"]["stage"] for c in body["columns"]} == {d[2] for d in DEALS}
    cells = sum(c["values"]["count"] for c in body["cells"])
    assert cells == len(DEALS) and body["total"]["count"] == len(DEALS)
    assert body["chart"]["stacked"] and len(body["chart"]["series"]) == len(body["columns"])


def test_the_rep_sees_figures_of_her_own_records_only(deals, client_for, api):
    rep = client_for(deals)
    body = rep.get("/api/v1/reports/win_rate_by_owner").get_json()
    assert len(body["groups"]) == 1
    assert body["groups"][0]["values"] == {"count": 2, "sum:is_won": 1, "win_rate": 0.5}
    admin = api.get("/api/v1/reports/win_rate_by_owner").get_json()
    assert admin["total"] == {"count": 3, "sum:is_won": 2, "win_rate": pytest.approx(2 / 3)}
    listed = [r["name"] for r in rep.get("/api/v1/reports").get_json()["reports"]]
    assert "pipeline_by_stage" in listed


def test_tabular_report_with_totals(api, deals):
    r = api.post("/api/v1/reports/run", json={"object": "opportunity", "columns": ["name", "account.name", "amount"],
                                              "sort": ["-amount"], "limit": 3, "summaries": ["sum:amount"],
                                              "chart": {"type": "metric"}})
    body = r.get_json()
    assert r.status_code == 200, body
    assert [row["name"] for row in body["rows"]] == ["D", "B", "A"] and body["truncated"]
    assert body["columns"][1] == {"name": "account.name", "label": "Account › Account Name"} or \
        body["columns"][1]["name"] == "account.name"
    assert body["total"] == {"sum:amount": _sum([d[1] for d in DEALS])} == {"sum:amount": body["chart"]["value"]}


@pytest.mark.parametrize("definition, status, fragment", [
    ({"object": "opportunity", "format": "summary", "groupings": ["nosuch"]}, 400, "nosuch"),
    ({"object": "opportunity", "format": "summary", "groupings": ["stage"], "summaries": ["sum:name"]}, 400, "sum:name"),
    ({"object": "opportunity", "format": "summary", "groupings": ["stage"], "filter": "amount >"}, 400, "filter"),
    ({"object": "opportunity", "format": "summary", "groupings": ["name:month"]}, 400, "name:month"),
    ({"object": "opportunity", "format": "summary"}, 400, "grouping"),
    ({"object": "opportunity", "format": "summary", "groupings": ["stage"],
      "summaries": [{"name": "x", "formula": "amount / COUNT()"}]}, 400, "amount"),
    ({"object": "nosuch", "columns": ["name"]}, 400, "nosuch"),
    ({"object": "opportunity", "format": "pivot"}, 400, "pivot"),
    ([1, 2], 422, "object"),
])
def test_bad_definitions_are_refused_naming_the_problem(api, deals, definition, status, fragment):
    r = api.post("/api/v1/reports/run", json=definition)
    assert r.status_code == status, r.get_json()
    assert fragment in r.get_json()["error"]["message"]


def test_unknown_report_and_unreadable_object(api, deals, client_for, sales):
    assert api.get("/api/v1/reports/nosuch").status_code == 404
    assert api.get("/api/v1/reports/pipeline_by_stage?nosuch=1").status_code == 400
    assert api.get("/api/v1/reports/pipeline_by_stage?limit=999999").status_code == 200   # capped
    rep = client_for(deals)
    r = rep.post("/api/v1/reports/run", json={"object": "permission_set_assignment", "columns": ["id"]})
    assert r.status_code == 403


def test_hidden_fields_and_unreadable_objects_in_ad_hoc_reports(api, services, client_for):
    """On the test package: tp_rep cannot read company.code; tp_viewer cannot read memos."""
    made = {}
    for name, profile in (("rep", "tp_rep"), ("viewer", "tp_viewer")):
        user, _ = services.identity.create_user(name, password="velvet-orbit-quarry-3", last_name=name.title(),
                                                profile=profile, role="tp_worker")
        made[name] = client_for(user)
    assert api.post("/api/v1/records/company", json={"name": "Acme", "code": "AC-1"}).status_code == 201
    for body in ({"object": "company", "format": "summary", "groupings": ["code"]},
                 {"object": "company", "format": "summary", "groupings": ["name"], "filter": "code == 'AC-1'"},
                 {"object": "company", "format": "summary", "groupings": ["name"], "summaries": ["count_distinct:code"]},
                 {"object": "company", "columns": ["name", "code"]}):
        r = made["rep"].post("/api/v1/reports/run", json=body)
        assert r.status_code == 400 and "code" in r.get_json()["error"]["message"], (body, r.get_json())
        assert api.post("/api/v1/reports/run", json=body).status_code == 200      # the admin may read it
    r = made["viewer"].post("/api/v1/reports/run", json={"object": "memo", "format": "summary", "groupings": ["owner"]})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
    r = made["viewer"].post("/api/v1/reports/run", json={"object": "memo", "columns": ["id"]})
    assert r.status_code == 403


def test_the_sales_dashboard_with_an_owner_filter(api, deals):
    whole = api.get("/api/v1/dashboards/sales_home")
    assert whole.status_code == 200, whole.get_json()
    body = whole.get_json()
    pipeline = next(c for c in body["components"] if c["title"] == "Open Pipeline")
    assert pipeline["value"] == _sum([d[1] for d in DEALS if d[2] not in ("Closed Won", "Closed Lost")])
    mine = api.get("/api/v1/dashboards/sales_home", query_string={"owner": deals["id"]}).get_json()
    pipeline = next(c for c in mine["components"] if c["title"] == "Open Pipeline")
    assert pipeline["value"] == _sum([d[1] for d in DEALS if d[4] and d[2] not in ("Closed Won", "Closed Lost")])
    assert mine["filters"] == [{"name": "owner", "label": "Owner", "field": "owner", "value": deals["id"]}]
    assert api.get("/api/v1/dashboards/sales_home", query_string={"stage": "x"}).status_code == 400
    assert api.get("/api/v1/dashboards/nosuch").status_code == 404
    assert [d["name"] for d in api.get("/api/v1/dashboards").get_json()["dashboards"]] == ["sales_home"]


def test_the_sales_home_page_shows_the_dashboard(deals, sales, app):
    client, base = app.test_client(), "https://localhost"
    login = client.get("/login", base_url=base).get_data(as_text=True)
    token = login.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post("/login", base_url=base, headers={"Referer": f"{base}/login"},
                    data={"username": "admin", "password": "orchid-lantern-42", "csrf_token": token, "next": ""})
    assert r.status_code == 302
    page = client.get("/app/sales", base_url=base).get_data(as_text=True)
    assert 'id="dashboard"' in page and "Open Pipeline" in page and 'id="d-owner"' in page
    assert f'<option value="{deals["id"]}"' in page       # the owner filter offers the rep
