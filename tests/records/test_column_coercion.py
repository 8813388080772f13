"""Property: a bulk create's column coercion (records/columns.py) gives, for any column of input
values, exactly what the field's per-value coercer gives a single create — the same stored
values, and an error on the same rows — whether or not the column's fast path answers."""
from __future__ import annotations

import uuid
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tessera.meta.model import FieldDef
from tessera.records.coerce import coercer_for
from tessera.records.columns import MISSING, coerce_column, column_coercer_for

FIELDS = [
    FieldDef.from_doc("name", {"type": "text", "max_length": 12}),
    FieldDef.from_doc("notes", {"type": "textarea"}),
    FieldDef.from_doc("stage", {"type": "picklist", "values": ["New", "Won", "Lost"]}),
    FieldDef.from_doc("label", {"type": "picklist", "values": ["a", "b"], "restricted": False, "max_length": 3}),
    FieldDef.from_doc("qty", {"type": "integer", "min": 0, "max": 1000}),
    FieldDef.from_doc("count", {"type": "integer"}),
    FieldDef.from_doc("amount", {"type": "currency", "precision": 8, "scale": 2}),
    FieldDef.from_doc("total", {"type": "currency", "precision": 18, "scale": 2}),
    FieldDef.from_doc("rate", {"type": "number", "precision": 10, "scale": 4, "min": -5}),
    FieldDef.from_doc("share", {"type": "percent"}),
    FieldDef.from_doc("flag", {"type": "boolean"}),
    FieldDef.from_doc("due", {"type": "date"}),
    FieldDef.from_doc("account", {"type": "lookup", "to": "account"}),
]
# numbers typed with at most two decimals, small and near the edge where floats get coarser
CENTS = st.one_of(st.integers(min_value=-10**7, max_value=10**7), st.integers(min_value=10**14, max_value=10**16),
                  st.integers(min_value=-10**16, max_value=-10**14)).map(lambda k: k / 100) | st.just(-0.0)
IDS = [str(uuid.UUID(int=n * 7919 + 1)) for n in range(3)]

# values of every kind a JSON body or a CSV file can carry, with the edges the checks look at
ANY_VALUE = st.one_of(
    st.none(), st.just(""), st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64), st.integers(min_value=-3, max_value=1200),
    st.floats(allow_nan=True, allow_infinity=True), st.floats(min_value=-1e7, max_value=1e7),
    st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-10**6, max_value=10**6),
    st.text(max_size=14), st.sampled_from(["New", "Won", "Lost", "new", "a", "b", "abcd", " New", "Won "]),
    st.sampled_from(["2024-02-29", "2023-02-29", "2025-1-5", " 2025-01-05", "2025-01-05 ", "20250105",
                     "2025-W01-1", "0001-01-01", "9999-12-31"]),
    st.sampled_from([*IDS, IDS[0].upper(), f" {IDS[1]} ", IDS[2].replace("-", ""), "not-an-id"]),
    st.sampled_from(["1", " 42 ", "1_000", "1e3", "12.345", "-0.0", "true", "No", "3.14159"]),
    st.lists(st.integers(), max_size=2),
)


def _one_by_one(coerce, values, from_text):
    """What a single create makes of each value (records/service.py _coerce_input)."""
    out, failed = [], set()
    for index, value in enumerate(values):
        if value is MISSING:
            out.append(MISSING)
        elif value is None or value == "":
            out.append(None)
        else:
            try:
                out.append(coerce(value, from_text))
            except ValueError:
                failed.add(index)
                out.append(None)
    return out, failed


def _same(a, b) -> bool:
    return type(a) is type(b) and (a == b if not isinstance(a, Decimal) else a.as_tuple() == b.as_tuple())


def _column(field, kind):
    """Columns a fast path could take: every value of one plausible type, sometimes with a stray."""
    typical = {
        "text": st.text(max_size=14), "textarea": st.text(max_size=14),
        "picklist": st.sampled_from(["New", "Won", "Lost", "a", "b", "abcd", "Open"]),
        "integer": st.integers(min_value=-3, max_value=1200) | st.integers(min_value=-(2**64), max_value=2**64),
        "currency": st.floats(min_value=-1e6, max_value=1e6) | st.integers(min_value=-10**6, max_value=10**6)
        | CENTS | st.integers(min_value=-10**9, max_value=10**9).map(lambda k: k / 1000),
        "number": st.floats(min_value=-10, max_value=10**6) | st.integers(min_value=-6, max_value=10**6)
        | st.integers(min_value=-10**17, max_value=10**17).map(lambda k: k / 10**4),
        "percent": st.floats(allow_nan=False, width=32) | st.integers(min_value=-100, max_value=100),
        "boolean": st.booleans(), "date": st.dates().map(str) | st.sampled_from(["2023-02-29", "20250105"]),
        "lookup": st.sampled_from(IDS),
    }[field.type]
    return st.lists(typical if kind == "typical" else ANY_VALUE | typical, min_size=1, max_size=30)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), field=st.sampled_from(FIELDS), kind=st.sampled_from(["typical", "mixed"]),
       from_text=st.booleans())
def test_column_coercion_agrees_with_single_values(data, field, kind, from_text):
    values = data.draw(_column(field, kind))
    if data.draw(st.booleans()):      # some rows without the key
        values = [MISSING if data.draw(st.booleans()) else v for v in values]
    coerce = coercer_for(field)
    expected, expected_failed = _one_by_one(coerce, values, from_text)
    got, errors, full = coerce_column(list(values), coerce, column_coercer_for(field), from_text)
    assert set(errors) == expected_failed
    assert len(got) == len(expected) and all(_same(a, b) for a, b in zip(got, expected)), (got, expected)
    if full:
        assert all(v is not None and v is not MISSING for v in got)


def test_fast_paths_answer_for_clean_columns():
    """The point of it all: a clean column of each type is taken by its fast path."""
    columns = {"name": ["Acme", "Globex"], "stage": ["New", "Won"], "qty": [0, 1000], "amount": [1.005, 2],
               "flag": [True, False], "due": ["2024-02-29", "2025-01-05"], "account": IDS[:2]}
    for field in FIELDS:
        if field.name in columns:
            fast = column_coercer_for(field)
            assert fast(list(columns[field.name]), False) is not None, field.name
    amount = column_coercer_for(FIELDS[6])
    assert amount([1.005, 2], False) == [Decimal("1.01"), Decimal("2.00")]    # rounded half up, as typed
    assert [d.as_tuple() for d in amount([-0.0, 0.1], False)] == [Decimal("-0.00").as_tuple(), (0, (1, 0), -2)]
