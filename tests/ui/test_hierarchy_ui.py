"""Hierarchies in the end-user UI (issue 14 §1): the tree display of a list (top records, toggles with
aria-expanded, children fetched on expand, paged), a list view whose filter uses UNDER, and sharing:
a user sees only the records she may see, in the tree as in the filter."""
from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest

from tessera.meta.source import load_package
from tessera.security.actor import SYSTEM

ROOT = Path(__file__).resolve().parents[2]
USER_PASSWORD = "harbor-violet-ledger-5"


def names_in(html: str) -> list[str]:
    table = html.split("<tbody>")[1].split("</tbody>")[0]
    return [unescape(n) for n in re.findall(r'<td class="[^"]*name-cell[^"]*">(?:(?!</td>).)*?class="record-link">([^<]*)</a>',
                                             table, re.S)]


@pytest.fixture
def accounts(services):
    services.changes.install_packages([load_package(ROOT / "apps" / "sales")], author="test", message="sales")
    rep, _ = services.identity.create_user("rita", password=USER_PASSWORD, profile="sales_rep", role="sales_rep",
                                           last_name="Rep")
    ids = {}

    def make(name, parent=None, owner=None):
        data = {"name": name, **({"parent": ids[parent]} if parent else {}), **({"owner": owner} if owner else {})}
        ids[name] = services.records.create(SYSTEM, "account", data)["id"]
    make("EMEA")
    make("France", "EMEA", rep["id"])
    make("Paris", "France")
    make("Lyon", "France", rep["id"])
    make("Germany", "EMEA", rep["id"])
    make("US")
    return ids


def test_the_account_hierarchy_view_shows_top_records_with_toggles(admin, accounts):
    html = admin.html("/app/sales/account?view=account_hierarchy")
    assert names_in(html) == ["EMEA", "US"]
    assert "2 items at the top level" in html and "Shown as a tree by Parent Account" in html
    toggles = re.findall(r'<tr data-id="([^"]+)" class="tree-row" data-depth="0".*?</tr>', html, re.S)
    assert toggles == [accounts["EMEA"], accounts["US"]]
    emea_row = html.split(f'data-id="{accounts["EMEA"]}"')[1].split("</tr>")[0]
    assert 'class="tree-toggle" aria-expanded="false"' in emea_row
    assert 'aria-label="Show the accounts under EMEA"' in emea_row
    us_row = html.split(f'<tr data-id="{accounts["US"]}"')[1].split("</tr>")[0]
    assert "tree-toggle" not in us_row and "tree-leaf" in us_row     # no children: nothing to expand
    url = unescape(re.search(r'data-url="([^"]+)"', emea_row).group(1))
    assert f"parent={accounts['EMEA']}" in url and "depth=1" in url
    children = admin.get(url + "&ancestors=&selectable=1").get_json()
    assert names_in("<tbody>" + children["rows"] + "</tbody>") == ["France", "Germany"]
    assert f'data-ancestors="{accounts["EMEA"]}"' in children["rows"] and 'style="--depth: 1"' in children["rows"]
    assert "Paris" not in children["rows"] and "France" in children["items"]   # phones get list items
    france = children["rows"].split(f'data-id="{accounts["France"]}"')[1].split("</tr>")[0]
    grandchildren_url = unescape(re.search(r'data-url="([^"]+)"', france).group(1))
    deeper = admin.get(grandchildren_url + "&ancestors=" + accounts["EMEA"]).get_json()
    assert names_in("<tbody>" + deeper["rows"] + "</tbody>") == ["Lyon", "Paris"]
    assert f'data-ancestors="{accounts["EMEA"]} {accounts["France"]}"' in deeper["rows"]


def test_the_toggle_turns_the_tree_on_and_off(admin, accounts):
    flat = admin.html("/app/sales/account")
    assert sorted(names_in(flat)) == ["EMEA", "France", "Germany", "Lyon", "Paris", "US"]
    assert 'id="tree-link"' in flat and "tree-toggle" not in flat
    tree = admin.html("/app/sales/account?tree=1")
    assert names_in(tree) == ["EMEA", "US"]
    assert names_in(admin.html("/app/sales/account?view=account_hierarchy&tree=0"))[:2] == ["EMEA", "France"]
    # sorted by another column or searched: flat again, wherever the matches are in the tree
    assert "tree-toggle" not in admin.html("/app/sales/account?view=account_hierarchy&sort=-name")
    assert names_in(admin.html("/app/sales/account?view=account_hierarchy&q=Par")) == ["Paris"]


def test_children_are_paged(admin, services, accounts):
    from tessera.web.ui.views_tree import CHILD_PAGE
    services.records.bulk_create(SYSTEM, "account", [{"name": f"City {n:03}", "parent": accounts["Germany"]}
                                                      for n in range(CHILD_PAGE + 3)])
    html = admin.html("/app/sales/account?view=account_hierarchy")
    emea = admin.get(unescape(re.search(r'data-url="([^"]+)"', html).group(1))).get_json()
    germany = emea["rows"].split(f'data-id="{accounts["Germany"]}"')[1].split("</tr>")[0]
    first = admin.get(unescape(re.search(r'data-url="([^"]+)"', germany).group(1))).get_json()
    assert len(names_in("<tbody>" + first["rows"] + "</tbody>")) == CHILD_PAGE
    more = unescape(re.search(r'class="btn btn-link btn-sm tree-more" data-url="([^"]+)"', first["rows"]).group(1))
    rest = admin.get(more).get_json()
    assert names_in("<tbody>" + rest["rows"] + "</tbody>") == [f"City {n:03}" for n in range(CHILD_PAGE, CHILD_PAGE + 3)]
    assert "tree-more" not in rest["rows"]


def test_bad_children_requests_are_clear_4xx(admin, accounts):
    r = admin.get("/app/sales/account/children?parent=nope")
    assert r.status_code == 400 and "parent" in r.get_data(as_text=True)
    r = admin.get("/app/sales/contact/children?parent=" + accounts["EMEA"])
    assert r.status_code == 400 and "no hierarchy" in r.get_data(as_text=True)


def test_a_rep_sees_only_her_records_in_the_tree_and_in_an_under_list_view(app, services, accounts):
    from ui_helpers import UiClient
    services.changes.apply_org({"manifest": None, "components": {"list_views": {"emea_accounts": {
        "source": "list_views/emea_accounts.yaml", "doc": {
            "name": "emea_accounts", "object": "account", "label": "EMEA Accounts", "columns": ["name"],
            "filter": "UNDER(parent, 'EMEA')", "sort": ["name"]}}}}}, author="test", message="EMEA view")
    admin = UiClient(app).login("admin", "orchid-lantern-42")
    assert names_in(admin.html("/app/sales/account?view=emea_accounts")) == ["EMEA", "France", "Germany", "Lyon", "Paris"]
    rep = UiClient(app).login("rita", USER_PASSWORD)
    assert names_in(rep.html("/app/sales/account?view=emea_accounts")) == ["France", "Germany", "Lyon"]
    # her tree starts at what she can see: France and Germany (their parent EMEA is hidden from her)
    tree = rep.html("/app/sales/account?view=account_hierarchy")
    assert names_in(tree) == ["France", "Germany"]
    children = rep.get(f"/app/sales/account/children?parent={accounts['France']}").get_json()
    assert names_in("<tbody>" + children["rows"] + "</tbody>") == ["Lyon"]   # Paris is the admin's
