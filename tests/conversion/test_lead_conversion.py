"""Lead conversion (issue 17), through `GET|POST /api/v1/records/lead/{id}/convert`: the Sales app's
conversion metadata maps the lead into a new or chosen account, a contact and (optionally) an
opportunity in one transaction; activities, attachments and campaign memberships move; the lead
is marked converted, linked and read-only; bad choices and failures change nothing."""
from __future__ import annotations

import io

import pytest


@pytest.fixture
def sales_api(stock_apps, api):
    return api


def create(api, obj, data):
    r = api.post(f"/api/v1/records/{obj}", json=data)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def count(api, obj, filter_=None):
    url = f"/api/v1/records/{obj}?count=true&limit=1" + (f"&filter={filter_}" if filter_ else "")
    return api.get(url).get_json()["total"]


LEAD = {"first_name": "Ada", "last_name": "Lovelace", "company": "Analytical Engines", "email": "ada@engines.example",
        "phone": "+44 20 7946 0000", "city": "London", "country": "UK", "industry": "Technology",
        "lead_source": "Web", "title": "Countess"}


def test_converting_a_lead_creates_account_contact_and_opportunity_and_moves_what_it_had(sales_api):
    api = sales_api
    lead = create(api, "lead", LEAD)
    task = create(api, "task", {"subject": "Call Ada", "related_to": {"object": "lead", "id": lead["id"]}})
    campaign = create(api, "campaign", {"name": "Spring Webinar"})
    member = create(api, "campaign_member", {"campaign": campaign["id"], "lead": lead["id"]})
    r = api.raw.post(f"/api/v1/records/lead/{lead['id']}/attachments",
                     data={"file": [(io.BytesIO(b"%PDF-1.4 brief"), "brief.pdf")]},
                     content_type="multipart/form-data", headers={"Authorization": f"Bearer {api.token}"})
    assert r.status_code == 201, r.get_json()

    preview = api.get(f"/api/v1/records/lead/{lead['id']}/convert").get_json()
    assert preview["convertible"] is True and [t["name"] for t in preview["targets"]] == ["account", "contact", "opportunity"]
    account_preview = preview["targets"][0]
    assert account_preview["values"]["name"] == "Analytical Engines" and account_preview["values"]["billing_city"] == "London"
    assert preview["targets"][2]["required"] is False and preview["targets"][2]["existing"] is False

    done = api.post(f"/api/v1/records/lead/{lead['id']}/convert", json={})
    assert done.status_code == 201, done.get_json()
    body = done.get_json()
    ids = {name: t["id"] for name, t in body["targets"].items()}
    assert all(t["created"] for t in body["targets"].values())
    account = api.get(f"/api/v1/records/account/{ids['account']}").get_json()
    contact = api.get(f"/api/v1/records/contact/{ids['contact']}").get_json()
    opportunity = api.get(f"/api/v1/records/opportunity/{ids['opportunity']}").get_json()
    assert account["name"] == "Analytical Engines" and account["industry"] == "Technology"
    assert contact["last_name"] == "Lovelace" and contact["email"] == "ada@engines.example"
    assert contact["account"] == ids["account"] and contact["title"] == "Countess"
    assert opportunity["name"] == "Analytical Engines - New Business" and opportunity["stage"] == "Prospecting"
    assert opportunity["account"] == ids["account"] and opportunity["primary_contact"] == ids["contact"]
    converted = body["record"]
    assert converted["converted"] is True and converted["status"] == "Qualified" and converted["converted_at"]
    assert (converted["converted_account"], converted["converted_contact"], converted["converted_opportunity"]) == \
        (ids["account"], ids["contact"], ids["opportunity"])
    # what the lead had now belongs to the contact
    moved_task = api.get(f"/api/v1/records/task/{task['id']}").get_json()
    assert moved_task["related_to"]["object"] == "contact" and moved_task["related_to"]["id"] == ids["contact"]
    attached = api.get(f"/api/v1/records/contact/{ids['contact']}/attachments").get_json()["attachments"]
    assert [a["name"] for a in attached] == ["brief.pdf"]
    assert api.get(f"/api/v1/records/lead/{lead['id']}/attachments").get_json()["attachments"] == []
    moved_member = api.get(f"/api/v1/records/campaign_member/{member['id']}").get_json()
    assert moved_member["contact"] == ids["contact"] and moved_member["lead"] is None
    assert body["moved"]["campaign_member.contact"] == 1 and body["moved"]["attachments"] == 1

    # converted: read-only, and not converted twice
    again = api.post(f"/api/v1/records/lead/{lead['id']}/convert", json={})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "not_convertible"
    edit = api.patch(f"/api/v1/records/lead/{lead['id']}", json={"title": "Mathematician"})
    assert edit.status_code == 422 and "read-only" in edit.get_json()["error"]["message"]
    assert api.get(f"/api/v1/records/lead/{lead['id']}/convert").get_json()["convertible"] is False


def test_an_existing_account_is_proposed_and_can_be_chosen_and_the_opportunity_left_out(sales_api):
    api = sales_api
    existing = create(api, "account", {"name": "Analytical Engines Ltd"})
    lead = create(api, "lead", LEAD)
    preview = api.get(f"/api/v1/records/lead/{lead['id']}/convert").get_json()
    proposed = preview["targets"][0]["duplicates"]
    assert any(m["id"] == existing["id"] for finding in proposed for m in finding["matches"]), proposed
    accounts_before = count(api, "account")
    done = api.post(f"/api/v1/records/lead/{lead['id']}/convert",
                    json={"targets": {"account": {"id": existing["id"]}, "opportunity": {"skip": True},
                                      "contact": {"values": {"department": "Research"}}}})
    assert done.status_code == 201, done.get_json()
    body = done.get_json()
    assert body["targets"]["account"] == {"id": existing["id"], "created": False}
    assert body["targets"]["opportunity"] is None and body["record"]["converted_opportunity"] is None
    contact = api.get(f"/api/v1/records/contact/{body['targets']['contact']['id']}").get_json()
    assert contact["account"] == existing["id"] and contact["department"] == "Research"
    assert count(api, "account") == accounts_before


def test_bad_choices_and_failures_change_nothing(sales_api):
    api = sales_api
    lead = create(api, "lead", LEAD)
    before = {obj: count(api, obj) for obj in ("account", "contact", "opportunity")}
    cases = [
        ({"targets": {"account": {"skip": True}}}, 422, "cannot be left out"),
        ({"targets": {"invoice": {}}}, 422, "unknown target"),
        ({"targets": {"opportunity": {"id": lead["id"]}}}, 422, "always created"),
        ({"targets": {"contact": {"values": {"email": "not an email"}}}}, 422, "email"),
        ({"conversion": "nothing_like_it"}, 404, "no conversion"),
        ({"targets": {"account": {"id": "5c7d1c9e-2b8a-4d53-a9a4-9b8c0c6f1a11"}}}, 404, "not found"),
    ]
    for body, status, words in cases:
        r = api.post(f"/api/v1/records/lead/{lead['id']}/convert", json=body)
        assert r.status_code == status, (body, r.get_json())
        assert words in r.get_json()["error"]["message"] + str(r.get_json()["error"].get("fields", "")), r.get_json()
    # the contact failed after the account was created: that account was rolled back with it
    assert {obj: count(api, obj) for obj in before} == before
    unchanged = api.get(f"/api/v1/records/lead/{lead['id']}").get_json()
    assert unchanged["converted"] is False and unchanged["converted_account"] is None
    assert api.post("/api/v1/records/account/5c7d1c9e-2b8a-4d53-a9a4-9b8c0c6f1a11/convert", json={}).status_code == 404


def test_a_user_who_cannot_see_the_lead_cannot_convert_it(sales_api, services):
    api = sales_api
    lead = create(api, "lead", LEAD)
    services.identity.create_user("rep2", password="quartz-meadow-81", last_name="Rep", profile="sales_rep")
    import uuid
    from tessera.web.app import create_app
    user = services.identity.find_user("rep2")
    _id, token = services.identity.tokens.create(uuid.UUID(user["id"]), name="t")
    client = create_app(services=services).test_client()
    r = client.post(f"/api/v1/records/lead/{lead['id']}/convert", json={}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 404
    assert api.get(f"/api/v1/records/lead/{lead['id']}").get_json()["converted"] is False


def test_the_openapi_document_describes_conversions(sales_api):
    from openapi_spec_validator import validate
    doc = sales_api.get("/api/v1/openapi.json").get_json()
    validate(doc)
    path = doc["paths"]["/records/lead/{id}/convert"]
    assert path["post"]["operationId"] == "convert_lead" and "201" in path["post"]["responses"]
    assert path["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("ConversionPreview")
    assert "/records/account/{id}/convert" not in doc["paths"]
