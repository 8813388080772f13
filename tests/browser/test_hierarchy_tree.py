"""The tree display of a list in headless Chromium (issue 14 §1): the stock Account Hierarchy view
shows top accounts; expanding fetches children, indented, with aria-expanded kept right; collapsing
hides the whole subtree; the same works with the keyboard and on a phone."""
from __future__ import annotations

import pytest

from browser_helpers import screenshot, sign_in
from tessera.security.actor import SYSTEM


@pytest.fixture(scope="module")
def regions(live_services):
    records = live_services.records
    ids = {}

    def make(name, parent=None, **extra):
        ids[name] = records.create(SYSTEM, "account", {"name": name, **({"parent": ids[parent]} if parent else {}),
                                                       **extra})["id"]
    make("Tree EMEA", type="Customer", billing_country="Belgium")
    make("Tree France", "Tree EMEA", type="Customer", billing_city="Lyon", billing_country="France")
    make("Tree Paris", "Tree France", type="Partner", billing_city="Paris", billing_country="France")
    make("Tree Germany", "Tree EMEA", type="Prospect", billing_city="Berlin", billing_country="Germany")
    return ids


def _visible_names(page, scope):
    return page.eval_on_selector_all(
        f"{scope} [data-id]:not([hidden]) .record-link, {scope} [data-id]:not([hidden]) .mobile-title",
        "els => els.filter(e => e.offsetParent !== null).map(e => e.textContent.trim())")


def test_expand_and_collapse_at_desktop_size(page, live_server, regions):
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, live_server)
    page.goto(f"{live_server}/app/sales/account?view=account_hierarchy&q=")
    rows = "table.list-table tbody"
    emea = page.locator(f"{rows} tr[data-id='{regions['Tree EMEA']}'] .tree-toggle")
    assert emea.get_attribute("aria-expanded") == "false"
    assert "Tree France" not in _visible_names(page, rows)
    emea.click()
    page.wait_for_selector(f"{rows} tr[data-id='{regions['Tree France']}']")
    assert emea.get_attribute("aria-expanded") == "true"
    france = page.locator(f"{rows} tr[data-id='{regions['Tree France']}'] .tree-toggle")
    france.focus()
    page.keyboard.press("Enter")                    # a real button: the keyboard works
    page.wait_for_selector(f"{rows} tr[data-id='{regions['Tree Paris']}']")
    names = [n for n in _visible_names(page, rows) if n.startswith("Tree ")]
    assert names == ["Tree EMEA", "Tree France", "Tree Paris", "Tree Germany"]
    # indented by depth
    x = {name: page.locator(f"{rows} tr[data-id='{regions[name]}'] .record-link").first.bounding_box()["x"]
         for name in ("Tree EMEA", "Tree France", "Tree Paris")}
    assert x["Tree EMEA"] < x["Tree France"] < x["Tree Paris"]
    screenshot(page, "account_tree_desktop")
    emea.click()                                    # collapse: the whole subtree goes
    assert emea.get_attribute("aria-expanded") == "false"
    assert not [n for n in _visible_names(page, rows) if n in ("Tree France", "Tree Paris", "Tree Germany")]
    emea.click()                                    # expand again: children only (no second fetch)
    names = [n for n in _visible_names(page, rows) if n.startswith("Tree ")]
    assert names == ["Tree EMEA", "Tree France", "Tree Germany"]
    assert france.get_attribute("aria-expanded") == "false"


def test_expand_on_a_phone(page, live_server, regions):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server)
    page.goto(f"{live_server}/app/sales/account?view=account_hierarchy")
    items = "ul.mobile-list"
    toggle = page.locator(f"{items} li[data-id='{regions['Tree EMEA']}'] .tree-toggle")
    toggle.click()
    page.wait_for_selector(f"{items} li[data-id='{regions['Tree Germany']}']")
    assert toggle.get_attribute("aria-expanded") == "true"
    names = [n for n in _visible_names(page, items) if n.startswith("Tree ")]
    assert names == ["Tree EMEA", "Tree France", "Tree Germany"]
    x = {name: page.locator(f"{items} li[data-id='{regions[name]}'] .mobile-title").bounding_box()["x"]
         for name in ("Tree EMEA", "Tree France")}
    assert x["Tree EMEA"] < x["Tree France"]
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways ({width}px)"
    screenshot(page, "account_tree_phone")
