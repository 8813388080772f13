"""A bulk create works column by column (records/bulk.py) and a single create row by row; through
the API both must give every row the same outcome: the same 422 errors on the same fields, and
the same stored record. Rows are drawn from values that pass and fail each field's checks, blanks
and absent keys included, over every input type of the test package's company and deal."""
from __future__ import annotations

import random
import uuid

SYSTEM = {"id", "created_at", "updated_at", "created_by", "updated_by", "owner", "row_version"}
ABSENT = object()


def _candidates(parent_id, deal_company):
    company = {
        "name": ["Acme", "  spaced  ", "x" * 80, "x" * 81, "", None, 42, ABSENT],
        "industry": ["Banking", "Retail", "banking", "", None, 7, ABSENT],
        "revenue": [1234.5, 0, -3, 1.005, 1e10, 1e100, "12.5", True, float("inf"), None, ABSENT],
        "employees": [0, 12, -1, 2.0, 2.5, "12", True, 2**63, None, ABSENT],
        "website": ["https://example.com", "not a url", None, ABSENT],
        "email": ["a@example.com", "nope", ABSENT],
        "active": [True, False, "true", 1, None, ABSENT],
        "founded": ["2024-02-29", "2023-02-29", " 2024-01-01", "20240101", 20240101, None, ABSENT],
        "last_contacted": ["2024-05-01T10:00:00Z", "2024-05-01 10:00", "yesterday", ABSENT],
        "opens_at": ["09:30", "25:00", ABSENT],
        "tags": [["partner", "customer"], ["unknown"], "partner", [], ABSENT],
        "notes": ["<b>bold</b><script>x</script>", 5, ABSENT],
        "settings": [{"a": [1, 2]}, [1, "x"], None, ABSENT],
        "parent": [parent_id, parent_id.upper(), str(uuid.UUID(int=1)), "not-an-id", None, ABSENT],
        "owner": [ABSENT, ABSENT, ABSENT, "not-an-id", None],
        "num_deals": [ABSENT] * 12 + [3],          # a roll-up: read-only
        "created_at": [ABSENT] * 12 + ["2024-01-01T00:00:00Z"],
        "nonsense": [ABSENT] * 12 + [1],
    }
    deal = {
        "name": ["Deal", None, ABSENT],
        # (no missing company here: a single create leaves existence to the foreign key and reports
        # a broken rule first, a bulk create reports the missing company first — both refuse)
        "company": [deal_company, None, ABSENT],
        "amount": [100, -5, None, 10.125, ABSENT],
        "probability": [50, 10.5, "x", None, ABSENT],
        "stage": ["New", "Closed", "Working", "Lost", ABSENT],
        "close_date": ["2025-01-31", None, ABSENT],
    }
    return company, deal


def _rows(candidates, n, seed):
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        row = {name: rng.choice(values) for name, values in candidates.items()}
        rows.append({name: value for name, value in row.items() if value is not ABSENT})
    return rows


def _stored(record):
    return {name: value for name, value in record.items() if name not in SYSTEM and name != "number"}


def _check_parity(api, object_name, rows):
    singles = [api.post(f"/api/v1/records/{object_name}", json=row) for row in rows]
    assert all(r.status_code in (201, 422) for r in singles), [r.get_json() for r in singles if r.status_code >= 500]
    failing = {i: r.get_json()["error"] for i, r in enumerate(singles) if r.status_code != 201}
    assert failing, "the draw should hold failing rows"
    # validation rules run once every row's fields pass (a single create: once its fields pass)
    by_fields = {i: e for i, e in failing.items() if "rules" not in e}
    by_rules = {i: e for i, e in failing.items() if "rules" in e}
    for expected, batch in ((by_fields, list(range(len(rows)))),
                            (by_rules, [i for i in range(len(rows)) if i not in by_fields])):
        if not expected:
            continue
        bulk = api.post(f"/api/v1/records/{object_name}/bulk", json=[rows[i] for i in batch])
        assert bulk.status_code == 422, bulk.get_json()
        got = {batch[e["index"]]: e for e in bulk.get_json()["error"]["rows"]}
        assert sorted(got) == sorted(expected), [(i, rows[i], got.get(i), expected.get(i)) for i in set(got) ^ set(expected)]
        for i, error in expected.items():
            assert got[i]["fields"] == error.get("fields", {}), (rows[i], got[i], error)
            assert got[i].get("rules") == error.get("rules"), (rows[i], got[i], error)
    good = [rows[i] for i in range(len(rows)) if i not in failing]
    created = api.post(f"/api/v1/records/{object_name}/bulk", json=good)
    assert created.status_code == 201, created.get_json()
    single_records = [singles[i].get_json() for i in range(len(rows)) if i not in failing]
    for rid, single in zip(created.get_json()["ids"], single_records):
        from_bulk = api.get(f"/api/v1/records/{object_name}/{rid}").get_json()
        from_single = api.get(f"/api/v1/records/{object_name}/{single['id']}").get_json()
        assert _stored(from_bulk) == _stored(from_single)
        assert from_bulk["owner"] == from_single["owner"]
    return len(good)


def test_bulk_create_gives_each_row_what_a_single_create_gives(api):
    parent = api.post("/api/v1/records/company", json={"name": "Parent", "industry": "Energy"}).get_json()
    target = api.post("/api/v1/records/company", json={"name": "Deal target"}).get_json()
    company, deal = _candidates(parent["id"], target["id"])
    saved = 0
    for seed in range(3):
        saved += _check_parity(api, "company", _rows(company, 60, seed))
        saved += _check_parity(api, "deal", _rows(deal, 40, seed))
    assert saved >= 10        # the comparison of stored records did compare something


def test_bulk_ids_are_time_ordered(api, services):
    """Record ids are UUID version 7: the creation time in their first 48 bits, so new rows go to
    the end of the primary key index (records/ids.py)."""
    created = api.post("/api/v1/records/company/bulk", json=[{"name": f"C{i}"} for i in range(3)]).get_json()
    single = api.post("/api/v1/records/company", json={"name": "One"}).get_json()
    for rid in [*created["ids"], single["id"]]:
        parsed = uuid.UUID(rid)
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
        record = api.get(f"/api/v1/records/company/{rid}").get_json()
        from datetime import datetime
        created_ms = datetime.fromisoformat(record["created_at"].replace("Z", "+00:00")).timestamp() * 1000
        assert abs((parsed.int >> 80) - created_ms) < 2000
    assert len(set(created["ids"])) == 3


def test_bulk_create_reports_the_rows_checked_so_far(services):
    """`progress` gets a running count (the CLI import's bar sets its position from it, so a run
    retried after a stale statement does not count rows twice)."""
    from tessera.security.actor import SYSTEM as SYSTEM_ACTOR
    seen = []
    ids = services.records.bulk_create(SYSTEM_ACTOR, "company", [{"name": f"C{i}"} for i in range(25_000)],
                                       progress=seen.append)
    assert len(ids) == 25_000 and seen == [10_000, 20_000, 25_000]


def test_a_row_names_every_lookup_whose_target_is_missing(api):
    row = {"name": "Orphan", "parent": str(uuid.uuid4()), "owner": str(uuid.uuid4())}
    single = api.post("/api/v1/records/company", json=row)
    bulk = api.post("/api/v1/records/company/bulk", json=[{"name": "Fine"}, row])
    assert single.status_code == bulk.status_code == 422
    [failure] = bulk.get_json()["error"]["rows"]
    assert failure["index"] == 1 and sorted(failure["fields"]) == ["owner", "parent"]
    assert failure["fields"] == single.get_json()["error"]["fields"]
