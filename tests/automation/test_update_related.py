"""The update_related action: a company's change reaches its deals (through the record service:
their rules run, a failure rolls the company's write back); metadata mistakes name the path."""
from __future__ import annotations

import pytest
from test_workflows import apply, runs

from tessera.meta.errors import MetadataInvalid


def test_company_change_updates_its_open_deals_only(services, api):
    apply(services, {
        "company_industry_to_deals": {
            "object": "company", "trigger": {"event": "update", "condition": "ISCHANGED(industry)"},
            "actions": [{"type": "update_related", "object": "deal", "lookup": "company",
                         "filter": "stage != 'Closed'",
                         "values": {"probability": "IF(industry == 'Banking', 50, 20)"}}]},
    })
    company = api.post("/api/v1/records/company", json={"name": "Initech"}).json
    other = api.post("/api/v1/records/company", json={"name": "Globex"}).json
    open_deal = api.post("/api/v1/records/deal", json={"name": "Open", "company": company["id"]}).json
    closed = api.post("/api/v1/records/deal", json={"name": "Done", "company": company["id"], "stage": "Closed",
                                                       "amount": 5}).json
    elsewhere = api.post("/api/v1/records/deal", json={"name": "Else", "company": other["id"]}).json

    changed = api.patch(f"/api/v1/records/company/{company['id']}", json={"industry": "Banking"})
    assert changed.status_code == 200, changed.json
    assert api.get(f"/api/v1/records/deal/{open_deal['id']}").json["probability"] == 50
    assert api.get(f"/api/v1/records/deal/{closed['id']}").json["probability"] == 10
    assert api.get(f"/api/v1/records/deal/{elsewhere['id']}").json["probability"] == 10
    [entry] = runs(api, workflow="company_industry_to_deals")
    step = entry["steps"][0]
    assert step["status"] == "done" and step["detail"]["updated"] == 1
    assert step["detail"]["record_ids"] == [open_deal["id"]]

    api.patch(f"/api/v1/records/company/{other['id']}", json={"industry": "Retail"})
    assert api.get(f"/api/v1/records/deal/{elsewhere['id']}").json["probability"] == 20

    # a company without matching deals: the step is skipped, noted
    lonely = api.post("/api/v1/records/company", json={"name": "Hooli"}).json
    assert api.patch(f"/api/v1/records/company/{lonely['id']}", json={"industry": "Retail"}).status_code == 200
    [skipped] = [e for e in runs(api, workflow="company_industry_to_deals") if e["record_id"] == lonely["id"]]
    assert skipped["steps"][0]["status"] == "skipped" and "no deal records match" in str(skipped["steps"][0])


def test_a_related_record_refused_by_its_rules_rolls_the_whole_write_back(services, api):
    apply(services, {
        "company_zeroes_deals": {
            "object": "company", "trigger": {"event": "update", "condition": "ISCHANGED(industry)"},
            "actions": [{"type": "update_related", "object": "deal", "lookup": "company", "values": {"amount": "-1"}}]},
    })
    company = api.post("/api/v1/records/company", json={"name": "Initech"}).json
    deal = api.post("/api/v1/records/deal", json={"name": "D", "company": company["id"], "amount": 10}).json
    refused = api.patch(f"/api/v1/records/company/{company['id']}", json={"industry": "Banking"})
    assert refused.status_code == 422
    error = refused.json["error"]
    assert error["code"] == "workflow_failed" and error["step"] == "actions.0"
    assert error["cause"]["rules"][0]["name"] == "amount_not_negative"
    assert api.get(f"/api/v1/records/company/{company['id']}").json["industry"] is None
    assert api.get(f"/api/v1/records/deal/{deal['id']}").json["amount"] == 10


@pytest.mark.parametrize("action, path, words", [
    ({"type": "update_related", "object": "nothing", "lookup": "company", "values": {"name": "'x'"}},
     "actions.0.object", "there is no object 'nothing'"),
    ({"type": "update_related", "object": "deal", "lookup": "name", "values": {"name": "'x'"}},
     "actions.0.lookup", "'deal.name' is not a lookup field"),
    ({"type": "update_related", "object": "deal", "lookup": "company", "values": {"amount": "'x'"}},
     "actions.0.values.amount", ""),
    ({"type": "update_related", "object": "deal", "lookup": "company", "filter": "amount + 1",
      "values": {"name": "'x'"}}, "actions.0.filter", ""),
])
def test_invalid_update_related_is_refused_naming_the_path(services, action, path, words):
    with pytest.raises(MetadataInvalid) as caught:
        apply(services, {"bad": {"object": "company", "trigger": {"event": "update"}, "actions": [action]}})
    errors = [e for e in caught.value.errors if e.path == path]
    assert errors, [str(e) for e in caught.value.errors]
    assert words in errors[0].message
    assert errors[0].source == "workflows/bad.yaml"


def test_update_related_lookup_must_point_at_the_triggering_object(services):
    with pytest.raises(MetadataInvalid) as caught:
        apply(services, {"bad": {"object": "deal", "trigger": {"event": "update"},
                                 "actions": [{"type": "update_related", "object": "deal", "lookup": "company",
                                              "values": {"name": "'x'"}}]}})
    assert any(e.path == "actions.0.lookup" and "points at 'company', not at 'deal'" in e.message
               for e in caught.value.errors)
