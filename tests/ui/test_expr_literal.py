"""User text enters filter expressions only as literals: expr_literal round-trips every string
through the expression parser, and injection attempts stay one string."""
from __future__ import annotations

import ast
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from tessera.expr.parse import parse
from tessera.expr.nodes import SLiteral
from tessera.web.ui.expr import all_of, check_path, contains_all, expr_literal, value_in

INJECTIONS = [
    "x') or True or ('", "x' or True or '", "') or (True", "\\') or True or (\\'", "x\\", "'", "\"", "\\",
    "a\nb", "\u2028zz", "x'); DROP TABLE obj_company; --", "{0}", "%s", "' + name + '", "é漢字🙂",
]


@pytest.mark.parametrize("text", INJECTIONS)
def test_strings_round_trip_as_one_literal(text):
    lit = expr_literal(text)
    assert ast.literal_eval(lit) == text
    tree = parse(lit)
    assert isinstance(tree, SLiteral) and tree.value == text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=60))
def test_any_text_round_trips(text):
    lit = expr_literal(text)
    tree = parse(lit)
    assert isinstance(tree, SLiteral) and tree.value == text


def test_other_literals():
    assert expr_literal(None) == "None" and expr_literal(True) == "True" and expr_literal(False) == "False"
    assert expr_literal(42) == "42" and expr_literal(Decimal("1.50")) == "1.50" and expr_literal(-3) == "-3"
    assert expr_literal(["a", "b'"]) == "['a', 'b\\'']"
    assert value_in("stage", ["a\x00"]) is None
    assert expr_literal(date(2024, 2, 29)) == "DATE(2024, 2, 29)"
    for bad in (float("nan"), Decimal("Infinity"), object(), "a\x00b", "\ud800"):
        with pytest.raises((TypeError, ValueError)):
            expr_literal(bad)


def test_paths_come_from_metadata_only():
    assert check_path("account.name") == "account.name"
    for bad in ("name) or (True", "name; x", "Name", "a..b", "", "__import__"):
        with pytest.raises(ValueError):
            check_path(bad)


def test_builders():
    assert contains_all("name", "  Acme   CORP ") == "CONTAINS(LOWER(name), 'acme') and CONTAINS(LOWER(name), 'corp')"
    assert contains_all("name", "   ") is None
    assert value_in("stage", ["A", "B"]) == "stage in ['A', 'B']"
    assert value_in("stage", ["A", ""]) == "(stage in ['A'] or ISBLANK(stage))"
    assert all_of("a or b", None, "c") == "(a or b) and (c)"


def test_injection_finds_nothing_through_the_record_service(services, make_record):
    from tessera.security.actor import SYSTEM
    make_record("company", {"name": "Acme"})
    make_record("company", {"name": "Globex"})
    for text in INJECTIONS:
        res = services.records.query(SYSTEM, "company", filter=contains_all("name", text), fields=["name"])
        assert res.records == [], text
    assert len(services.records.query(SYSTEM, "company", filter=contains_all("name", "acm")).records) == 1


def test_search_box_injection_over_http(admin, make_record):
    make_record("company", {"name": "Acme"})
    html = admin.html("/app/testapp/company?q=x%27)%20or%20True%20or%20(%27")
    assert "No companies to show" in html and "Acme</a>" not in html
