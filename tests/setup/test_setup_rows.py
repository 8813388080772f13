"""Setup pages of objects with rows fields (issue 14 §1): the stock quote (line_items) and its child
open without errors, and an org edit of the quote through setup keeps the rows field."""
from __future__ import annotations

from pathlib import Path

from tessera.meta.merge import build_metadata
from tessera.meta.source import load_package

ROOT = Path(__file__).resolve().parents[2]


def test_setup_pages_of_a_parent_and_its_rows_child(admin, services):
    services.changes.install_packages([load_package(ROOT / "apps" / "sales")], author="test", message="sales")
    for url in ("/setup/objects/quote/", "/setup/objects/quote_line_item/", "/setup/objects/opportunity/",
                "/setup/objects/"):
        r = admin.get(url)
        assert r.status_code == 200, (url, r.status_code, r.get_data(as_text=True)[-1500:])
    admin.change("/setup/objects/quote/fields/new?type=text", {"label": "Reference"})
    md = build_metadata(services.changes.active().snapshot)
    assert "reference" in md.objects["quote"].fields and "line_items" in md.objects["quote"].rows
    assert md.objects["quote_line_item"].row_links == ("quote",)
