"""The rows grid in the generated form, through Flask's test client on both databases: the quote's
edit form shows its line items as numbered rows; a submitted grid replaces them in the submitted
order (names renumbered by the page's script, here written as the script would); a row's error is
shown in its cell and nothing is saved; a form without the grid leaves the rows alone."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tessera.meta.source import load_package
from tessera.security.actor import SYSTEM

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def quote(services):
    services.changes.install_packages([load_package(ROOT / "apps" / "sales")], author="test", message="sales")
    ids = {n: services.records.create(SYSTEM, "product", {"name": n})["id"] for n in ("Widget", "Gadget", "Gizmo")}
    q = services.records.create(SYSTEM, "quote", {"name": "Q", "line_items": [
        {"product": ids["Widget"], "quantity": 1, "unit_price": 10},
        {"product": ids["Gadget"], "quantity": 2, "unit_price": 5}]})
    return q, ids


def _form(html):
    """The edit form's inputs as (name, value) pairs, in page order (what a browser would send)."""
    pairs = re.findall(r'<input[^>]*?name="([^"]+)"[^>]*?value="([^"]*)"', html)
    selected = re.findall(r'<select[^>]*name="([^"]+)"[^>]*>.*?<option value="([^"]*)" selected', html, re.S)
    return [(n, v) for n, v in pairs + selected if "__i__" not in n and n != "csrf_token"]


def _lines(services, quote_id):
    return [(r["name"], r["quantity"]) for r in services.records.get(SYSTEM, "quote", quote_id)["line_items"]]


def test_the_grid_edits_reorders_adds_and_deletes(admin, services, quote):
    q, ids = quote
    html = admin.html(f"/app/sales/quote/{q['id']}/edit")
    assert 'id="grid-line_items"' in html and 'name="line_items.__present"' in html
    assert html.count('class="rows-row') == 3 and "<template class=\"rows-template\">" in html
    form = dict(_form(html))
    first, second = form["line_items.0.id"], form["line_items.1.id"]
    base = [(k, v) for k, v in _form(html) if not k.startswith("line_items.")] + [("line_items.__present", "1")]
    # a row with an error: shown in its cell, nothing saved
    bad = base + [("line_items.0.id", second), ("line_items.0.product", ids["Gadget"]), ("line_items.0.quantity", "3"),
                  ("line_items.0.unit_price", "5"),
                  ("line_items.1.product", ids["Gizmo"]), ("line_items.1.quantity", "0"), ("line_items.1.unit_price", "1")]
    r = admin.post(f"/app/sales/quote/{q['id']}/edit", data=bad)
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert re.search(r'data-field="line_items\[1\]\.quantity">Quantity must be more than zero\.<', page), page[-4000:]
    assert _lines(services, q["id"]) == [("Widget", 1.0), ("Gadget", 2.0)]
    # fixed: Gadget first (quantity 3), the new Gizmo second, Widget left out (deleted)
    good = [(k, "4" if k == "line_items.1.quantity" else v) for k, v in bad]
    r = admin.post(f"/app/sales/quote/{q['id']}/edit", data=good)
    assert r.status_code == 302, r.get_data(as_text=True)[-3000:]
    assert _lines(services, q["id"]) == [("Gadget", 3.0), ("Gizmo", 4.0)]
    assert services.records.query(SYSTEM, "quote_line_item", filter=f"id == '{first}'").records == []
    # a form without the grid (another layout, a script-less client) leaves the rows alone
    fresh = [(k, v) for k, v in _form(admin.html(f"/app/sales/quote/{q['id']}/edit")) if not k.startswith("line_items.")]
    assert dict(fresh)["_row_version"] == "2"        # the rows edit moved the quote's version
    r = admin.post(f"/app/sales/quote/{q['id']}/edit", data=[(k, "Renamed" if k == "name" else v) for k, v in fresh])
    assert r.status_code == 302
    assert _lines(services, q["id"]) == [("Gadget", 3.0), ("Gizmo", 4.0)]
    assert services.records.get(SYSTEM, "quote", q["id"])["name"] == "Renamed"
