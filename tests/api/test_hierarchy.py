"""Hierarchies (issue 14 §1): the stock account's `parent` is a hierarchy — cycles and too-deep
trees are refused on every write path, UNDER(parent, node) filters a subtree in the API filter,
list views and validation rules, within what sharing lets the actor see; describe and OpenAPI say so;
two concurrent moves cannot close a cycle together (PostgreSQL)."""
from __future__ import annotations

import threading

import pytest
from click.testing import CliRunner

from tessera.expr.hierarchy import MAX_DEPTH
from tessera.records.errors import ValidationFailed
from tessera.security.actor import SYSTEM

REP_PASSWORD = "harbor-violet-ledger-5"


@pytest.fixture
def tree(sales):
    """EMEA > France > Paris, EMEA > Germany, and US: ids by name."""
    make = lambda name, parent=None: sales.records.create(  # noqa: E731
        SYSTEM, "account", {"name": name, **({"parent": parent} if parent else {})})["id"]
    ids = {"EMEA": make("EMEA")}
    ids["France"] = make("France", ids["EMEA"])
    ids["Paris"] = make("Paris", ids["France"])
    ids["Germany"] = make("Germany", ids["EMEA"])
    ids["US"] = make("US")
    return ids


def _names(r):
    assert r.status_code == 200, r.json
    return sorted(rec["name"] for rec in r.json["records"])


def _fields(r, status=422):
    assert r.status_code == status, r.json
    return r.json["error"]["fields"]


def test_moving_a_record_below_itself_is_refused_naming_the_cycle(api, tree):
    r = api.patch(f"/api/v1/records/account/{tree['EMEA']}", json={"parent": tree["Paris"]})
    assert _fields(r) == {"parent": ["would make a cycle: 'EMEA' → 'Paris' → 'France' → 'EMEA' "
                                     "(a record cannot be below itself)"]}
    assert r.json["error"]["cycle"] == [tree["EMEA"], tree["Paris"], tree["France"], tree["EMEA"]]
    # nothing was saved; a legal move still works
    assert api.get(f"/api/v1/records/account/{tree['EMEA']}").json["parent"] is None
    r = api.patch(f"/api/v1/records/account/{tree['Germany']}", json={"parent": tree["France"]})
    assert r.status_code == 200, r.json
    r = api.patch(f"/api/v1/records/account/{tree['France']}", json={"parent": tree["Germany"]})
    assert "would make a cycle: 'France' → 'Germany' → 'France'" in _fields(r)["parent"][0]


def test_a_record_cannot_be_its_own_parent(api, tree):
    r = api.patch(f"/api/v1/records/account/{tree['US']}", json={"parent": tree["US"]})
    assert _fields(r) == {"parent": ["An account cannot be its own parent."]}   # the stock rule speaks first


def _chain(services, length):
    """A chain of `length` accounts, each the child of the one before: the ids, root first."""
    ids = [services.records.create(SYSTEM, "account", {"name": "L0"})["id"]]
    for level in range(1, length):
        ids.append(services.records.create(SYSTEM, "account", {"name": f"L{level}", "parent": ids[-1]})["id"])
    return ids


def test_depth_limit_on_create_bulk_create_and_import(api, sales, tmp_path, db_url):
    chain = _chain(sales, MAX_DEPTH + 1)          # the deepest has MAX_DEPTH ancestors: allowed
    too_deep = f"more than {MAX_DEPTH} levels deep in the parent account hierarchy (at most {MAX_DEPTH} levels)"
    r = api.post("/api/v1/records/account", json={"name": "Too deep", "parent": chain[-1]})
    assert too_deep in _fields(r)["parent"][0]
    r = api.post("/api/v1/records/account/bulk", json=[{"name": "Fine", "parent": chain[0]},
                                                       {"name": "Too deep", "parent": chain[-1]}])
    assert r.status_code == 422, r.json
    assert [(row["index"], list(row["fields"])) for row in r.json["error"]["rows"]] == [(1, ["parent"])]
    assert too_deep in r.json["error"]["rows"][0]["fields"]["parent"][0]
    assert not api.get("/api/v1/records/account?filter=name == 'Fine'").json["records"]   # all or nothing

    from tessera.cli import _register, cli
    if not cli.commands:
        _register()
    csv_file = tmp_path / "accounts.csv"
    csv_file.write_text(f"name,parent\nOk,{chain[0]}\nDeep,{chain[-1]}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["import", "account", str(csv_file), "--database", db_url],
                                catch_exceptions=False)
    assert result.exit_code == 1
    assert f"row 2 (line 3): parent: would put this account {too_deep}" in result.output
    assert not api.get("/api/v1/records/account?filter=name == 'Ok'").json["records"]
    csv_file.write_text(f"name,parent\nOk,{chain[0]}\nAlso ok,{chain[-2]}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["import", "account", str(csv_file), "--database", db_url],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output


def test_under_in_the_api_filter_by_name_and_by_id(api, tree):
    base = "/api/v1/records/account?fields=name&filter="
    assert _names(api.get(base + "UNDER(parent, 'EMEA')")) == ["EMEA", "France", "Germany", "Paris"]
    assert _names(api.get(base + f"UNDER(parent, '{tree['France']}')")) == ["France", "Paris"]
    assert _names(api.get(base + "not UNDER(parent, 'EMEA')")) == ["US"]
    assert _names(api.get(base + "UNDER(parent, 'Nowhere')")) == []
    assert _names(api.get(base + "UNDER(parent, 'France') and name != 'France'")) == ["Paris"]
    # two subtrees in one query (two recursive CTEs)
    assert _names(api.get(base + "UNDER(parent, 'EMEA') and not UNDER(parent, 'France')")) == ["EMEA", "Germany"]
    # through a lookup: contacts of accounts under EMEA
    paris_contact = api.post("/api/v1/records/contact", json={"last_name": "Dupont", "account": tree["Paris"]})
    assert paris_contact.status_code == 201, paris_contact.json
    api.post("/api/v1/records/contact", json={"last_name": "Smith", "account": tree["US"]})
    r = api.get("/api/v1/records/contact?fields=last_name&filter=UNDER(account.parent, 'EMEA')")
    assert [c["last_name"] for c in r.json["records"]] == ["Dupont"]


def test_under_type_errors_are_400s_naming_the_problem(api, tree):
    def error(expression):
        r = api.get(f"/api/v1/records/account?filter={expression}")
        assert r.status_code == 400, r.json
        return r.json["error"]["message"]
    assert "'owner' is not a hierarchy field" in error("UNDER(owner, 'x')")
    assert "UNDER takes a hierarchy field first" in error("UNDER('EMEA', parent)")
    assert "UNDER takes 2 arguments" in error("UNDER(parent)")
    assert "argument 2 must be the node's id or name, got integer" in error("UNDER(parent, 3)")
    assert "unknown field 'nope'" in error("UNDER(nope, 'EMEA')")


def test_under_respects_sharing(sales, tree, client_for):
    rep, _ = sales.identity.create_user("rita", password=REP_PASSWORD, profile="sales_rep", role="sales_rep",
                                        last_name="Rep")
    for name in ("France", "Germany", "US"):
        sales.records.update(SYSTEM, "account", tree[name], {"owner": rep["id"]})
    client = client_for(rep)
    # the rep sees her own accounts only: EMEA and Paris (the admin's) stay hidden, but the tree is walked
    assert _names(client.get("/api/v1/records/account?filter=UNDER(parent, 'EMEA')")) == ["France", "Germany"]
    assert _names(client.get("/api/v1/records/account")) == ["France", "Germany", "US"]


def test_under_in_a_validation_rule_and_a_list_view_filter(api, sales, tree):
    org = {"manifest": None, "components": {
        "objects": {"account": {"source": "objects/account.yaml", "doc": {"extends": "account", "validation_rules": [{
            "name": "no_us_below_emea", "condition": "UNDER(parent, 'EMEA') and billing_country == 'US'",
            "message": "Accounts under EMEA are not billed in the US.", "field": "billing_country"}]}}},
        "list_views": {"emea_accounts": {"source": "list_views/emea_accounts.yaml", "doc": {
            "name": "emea_accounts", "object": "account", "label": "EMEA", "columns": ["name"],
            "filter": "UNDER(parent, 'EMEA')", "sort": ["name"]}}}}}
    result = sales.changes.apply_org(org, author="test", message="EMEA rules")
    assert result.version is not None
    # evaluated in Python on write (the new parent is not saved yet)
    r = api.post("/api/v1/records/account", json={"name": "Lyon", "parent": tree["France"], "billing_country": "US"})
    assert _fields(r) == {"billing_country": ["Accounts under EMEA are not billed in the US."]}
    r = api.post("/api/v1/records/account", json={"name": "Boston", "parent": tree["US"], "billing_country": "US"})
    assert r.status_code == 201, r.json
    r = api.patch(f"/api/v1/records/account/{r.json['id']}", json={"parent": tree["Germany"]})
    assert _fields(r) == {"billing_country": ["Accounts under EMEA are not billed in the US."]}
    # and in SQL, for a bulk create
    r = api.post("/api/v1/records/account/bulk", json=[{"name": "Nice", "parent": tree["France"]},
                                                       {"name": "Bonn", "parent": tree["Germany"], "billing_country": "US"}])
    assert r.status_code == 422 and [row["index"] for row in r.json["error"]["rows"]] == [1]
    view = sales.runtimes.current().metadata.list_views["emea_accounts"]
    r = api.get("/api/v1/records/account?fields=name&filter=" + view["filter"])
    assert _names(r) == ["EMEA", "France", "Germany", "Paris"]


def test_describe_and_openapi_show_the_hierarchy(api, sales):
    described = api.get("/api/v1/objects/account").json
    assert described["hierarchy_field"] == "parent"
    parent = next(f for f in described["fields"] if f["name"] == "parent")
    assert parent["hierarchy"] is True and parent["to"] == "account"
    spec = api.get("/api/v1/openapi.json").json
    schemas = spec["components"]["schemas"]
    found = [s["properties"]["parent"] for name, s in schemas.items()
             if name.lower().startswith("account") and "parent" in s.get("properties", {})]
    assert len(found) >= 2, found   # the record as returned, and as created or updated
    assert all("'x-tessera-hierarchy': True" in str(p) and "cycles are refused" in str(p) for p in found), found


def test_concurrent_moves_cannot_close_a_cycle(sales, db_url):
    """A → B and B → A at the same moment: at most one succeeds (the advisory lock on PostgreSQL,
    the one writer of SQLite)."""
    a = sales.records.create(SYSTEM, "account", {"name": "A"})["id"]
    b = sales.records.create(SYSTEM, "account", {"name": "B"})["id"]
    for attempt in range(5):
        sales.records.update(SYSTEM, "account", a, {"parent": None})
        sales.records.update(SYSTEM, "account", b, {"parent": None})
        barrier = threading.Barrier(2)
        outcomes = []

        def move(child, parent):
            barrier.wait()
            try:
                sales.records.update(SYSTEM, "account", child, {"parent": parent})
                outcomes.append("ok")
            except ValidationFailed as exc:
                assert "would make a cycle" in exc.message
                outcomes.append("refused")
        threads = [threading.Thread(target=move, args=(a, b)), threading.Thread(target=move, args=(b, a))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["ok", "refused"], outcomes
        parents = {r["id"]: r["parent"] for r in sales.records.query(SYSTEM, "account", fields=["parent"]).records}
        assert not (parents[a] == b and parents[b] == a)


def test_under_in_sharing_rule_criteria(sales, tree, client_for):
    """A sharing rule whose criteria use UNDER shares a whole region with a role."""
    rule = {"name": "emea_to_reps", "object": "account", "label": "EMEA accounts to sales reps", "access": "read",
            "criteria": "UNDER(parent, 'France')", "share_with": {"role": "sales_rep"}}
    sales.changes.apply_org({"manifest": None, "components": {"sharing_rules": {"emea_to_reps": {
        "source": "sharing_rules/emea_to_reps.yaml", "doc": rule}}}}, author="test", message="share France")
    rep, _ = sales.identity.create_user("rita", password=REP_PASSWORD, profile="sales_rep", role="sales_rep",
                                        last_name="Rep")
    client = client_for(rep)
    assert _names(client.get("/api/v1/records/account")) == ["France", "Paris"]
    assert _names(client.get("/api/v1/records/account?filter=UNDER(parent, 'EMEA')")) == ["France", "Paris"]
