"""The aggregate's `count_not_blank:F` (records/aggregate.py): records whose F is not blank, as
ISBLANK says — '' is blank for text and multi-picklists, 0 and False are not. The list footer's
"Count" figure (web/ui/list_figures.py). Both databases."""
from __future__ import annotations

import pytest

from tessera.records.errors import BadQuery


@pytest.fixture
def admin(services):
    return services.identity.actor_for_user(services.identity.find_user("admin"))


def test_count_not_blank_skips_blank_values_of_every_kind(services, admin):
    rows = [{"name": "A", "website": "https://a.example", "employees": 0, "active": False, "tags": ["partner"],
             "industry": "Energy"},
            {"name": "B", "website": "", "employees": None, "active": True, "tags": [], "industry": "Energy"},
            {"name": "C", "employees": 12, "tags": ["customer", "prospect"]},
            {"name": "D", "website": "https://d.example", "industry": "Retail"}]
    services.records.bulk_create(admin, "company", rows)
    fields = ["website", "employees", "tags", "industry", "parent"]
    result = services.records.aggregate(admin, "company", metrics=["count"] + [f"count_not_blank:{f}" for f in fields]
                                        + ["count_not_blank:active"])
    expected = {f"count_not_blank:{f}": sum(1 for r in rows if r.get(f) not in (None, "", []))
                for f in fields}
    # a boolean is never blank (an unset one is stored as False)
    assert result.groups == [{"key": {}, "values": {"count": 4, **expected, "count_not_blank:active": 4}}]
    assert expected["count_not_blank:employees"] == 2 and expected["count_not_blank:tags"] == 2
    by_industry = services.records.aggregate(admin, "company", group_by="industry", metrics="count_not_blank:website")
    assert {g["key"]["industry"]: g["values"]["count_not_blank:website"] for g in by_industry.groups} == \
        {"Energy": 1, "Retail": 1, None: 0}


def test_count_not_blank_needs_a_readable_field(services, admin):
    with pytest.raises(BadQuery, match="count_not_blank needs one"):
        services.records.aggregate(admin, "company", metrics="count_not_blank")
    with pytest.raises(BadQuery):
        services.records.aggregate(admin, "company", metrics="count_not_blank:nope")
