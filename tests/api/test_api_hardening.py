"""Bad input at the REST API's edges gets a clear 4xx, never a 500, on SQLite and PostgreSQL alike
(issue 11, items 7, 9–13), and the OpenAPI document says what the server enforces."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _error(r, status):
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:300])
    body = r.get_json()
    assert body["error"]["code"] and body["error"]["message"]
    return body["error"]


# -- item 7: the same security headers everywhere -------------------------------------------------
@pytest.mark.parametrize("url", ["/login", "/setup/", "/app/", "/api/v1/objects", "/api/v1/openapi.json"])
def test_security_headers_on_every_part_of_the_app(app, api, url):
    r = api.get(url) if url.startswith("/api/") else app.test_client().get(url)
    csp = r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self';" in csp
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    if r.mimetype in ("text/html", "application/json"):
        assert r.headers["Cache-Control"] == "no-store"


def test_setup_pages_of_a_signed_in_admin_carry_the_headers(app):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0] if 'name="csrf_token" type="hidden"' in page \
        else page.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post("/login", data={"username": "admin", "password": "orchid-lantern-42", "csrf_token": token})
    assert r.status_code == 302
    r = client.get("/setup/users/")
    assert r.status_code == 200 and r.mimetype == "text/html"
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert r.headers["Cache-Control"] == "no-store" and r.headers["X-Frame-Options"] == "DENY"


# -- item 9: an empty bulk create on an object with validation rules ----------------------------
def test_empty_bulk_create_is_a_no_op(api):
    r = api.post("/api/v1/records/deal/bulk", json=[])
    assert r.status_code == 201 and r.get_json() == {"ids": [], "count": 0}


# -- item 10: NUL characters ---------------------------------------------------------------------
def test_nul_in_values_is_refused_on_every_path(api):
    error = _error(api.post("/api/v1/records/company", json={"name": "Ac\u0000me"}), 422)
    assert "NUL" in error["fields"]["name"][0]
    error = _error(api.post("/api/v1/records/company", json={"name": "Acme", "settings": {"a": ["x\u0000"]}}), 422)
    assert "NUL" in error["fields"]["settings"][0]
    _error(api.post("/api/v1/records/company", json={"name": "Acme", "tags": ["partner\u0000"]}), 422)
    rows = [{"name": "ok", "code": "c1"}, {"name": "N\u0000", "code": "c\u0000"}]   # code: the uniqueness pre-check
    error = _error(api.post("/api/v1/records/company/bulk", json=rows), 422)
    assert error["rows"] == [{"index": 1, "fields": {"name": [error["rows"][0]["fields"]["name"][0]],
                                                     "code": [error["rows"][0]["fields"]["code"][0]]}}]
    assert all("NUL" in m[0] for m in error["rows"][0]["fields"].values())
    created = api.post("/api/v1/records/company", json={"name": "Acme"})
    _error(api.patch(f"/api/v1/records/company/{created.get_json()['id']}", json={"name": "A\u0000"}), 422)
    assert api.get("/api/v1/records/company?count=true").get_json()["total"] == 1


def test_nul_in_query_parameters_is_a_400(api):
    for url in ("/api/v1/records/company?filter=name%20%3D%3D%20%27a%00%27",
                "/api/v1/records/company?sort=name%00", "/api/v1/records/company?fields=name%00",
                "/api/v1/audit?action=%00", "/api/v1/records/company?cursor=%00", "/api/v1/records/company?%00=1"):
        assert "NUL" in _error(api.get(url), 400)["message"], url


def test_the_record_service_refuses_a_nul_in_a_filter(services):
    from tessera.records.errors import BadQuery
    from tessera.security.actor import SYSTEM
    with pytest.raises(BadQuery, match="NUL"):
        services.records.query(SYSTEM, "company", filter="name == 'a\x00'")


# -- item 11: bodies and lists the server cannot hold ---------------------------------------------
def test_lone_surrogate_in_a_body_is_a_400(api):
    headers = {"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"}
    for body in ('{"name": "\\ud800"}', '[{"name": "x", "\\udfff": 1}]'):
        url = "/api/v1/records/company" + ("/bulk" if body.startswith("[") else "")
        r = api.raw.post(url, data=body, headers=headers)
        assert "surrogate" in _error(r, 400)["message"]
    r = api.raw.post("/api/v1/records/company", data='{"name": "\\ud83d\\ude00"}', headers=headers)  # a pair: 😀
    assert r.status_code == 201 and r.get_json()["name"] == "\U0001F600"


def test_deeply_nested_json_is_refused(api):
    headers = {"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"}
    r = api.raw.post("/api/v1/records/company", data="[" * 100_000, headers=headers)
    _error(r, 400)
    r = api.raw.post("/api/v1/records/company/bulk", data="[" * 100_000 + "]" * 100_000, headers=headers)
    assert "nested" in _error(r, 400)["message"]
    nested = {"name": "Deep", "settings": json.loads("[" * 500 + "]" * 500)}   # parses; too deep to store
    assert "nested" in _error(api.post("/api/v1/records/company", json=nested), 422)["fields"]["settings"][0]


def test_huge_fields_and_sort_lists_are_a_400(api):
    many = ",".join(["name"] * 2100)
    assert "at most 500" in _error(api.get(f"/api/v1/records/company?fields={many}"), 400)["message"]
    assert "at most 32" in _error(api.get(f"/api/v1/records/company?sort={many}"), 400)["message"]
    r = api.post("/api/v1/records/company", json={"name": "Acme"})
    assert "at most 500" in _error(api.get(f"/api/v1/records/company/{r.get_json()['id']}?fields={many}"), 400)["message"]


# -- item 12: methods, If-Match, and the spec against the server ---------------------------------
def test_405_names_the_allowed_methods_and_bulk_is_its_own_route(api):
    r = api.raw.put("/api/v1/records/company/bulk", headers={"Authorization": f"Bearer {api.token}"})
    _error(r, 405)
    assert set(r.headers["Allow"].replace(" ", "").split(",")) == {"POST", "OPTIONS"}
    r = api.raw.options("/api/v1/records/company/bulk", headers={"Authorization": f"Bearer {api.token}"})
    assert set(r.headers["Allow"].replace(" ", "").split(",")) == {"POST", "OPTIONS"}
    _error(api.get("/api/v1/records/company/bulk"), 405)
    r = api.raw.put("/api/v1/records/company/" + "0" * 32, headers={"Authorization": f"Bearer {api.token}"})
    _error(r, 405)
    assert {"GET", "PATCH", "DELETE"} <= set(r.headers["Allow"].replace(" ", "").split(","))


def test_if_match_is_checked_after_the_record_is_found_and_must_be_well_formed(api):
    missing = "/api/v1/records/company/01890000-0000-7000-8000-000000000000"
    assert _error(api.patch(missing, json={"name": "x"}, headers={"If-Match": '"1"'}), 404)["code"] == "not_found"
    assert _error(api.delete(missing, headers={"If-Match": '"1"'}), 404)["code"] == "not_found"
    created = api.post("/api/v1/records/company", json={"name": "Acme"})
    url = created.headers["Location"]
    for bad in ("", "garbage", '"1", "2"', '"-1"', "W/"):
        assert "If-Match" in _error(api.patch(url, json={"name": "x"}, headers={"If-Match": bad}), 400)["message"]
        assert "If-Match" in _error(api.delete(url, headers={"If-Match": bad}), 400)["message"]
    assert _error(api.patch(url, json={"name": "x"}, headers={"If-Match": '"7"'}), 412)["code"] == "stale_version"
    assert api.patch(url, json={"name": "y"}, headers={"If-Match": created.headers["ETag"]}).status_code == 200
    assert api.patch(url, json={"name": "z"}, headers={"If-Match": "*"}).status_code == 200


def test_the_spec_refuses_what_the_server_refuses(api):
    doc = api.get("/api/v1/openapi.json").get_json()
    schemas = doc["components"]["schemas"]

    def accepts(schema_name, value):
        schema = {"$ref": f"#/components/schemas/{schema_name}", "components": doc["components"]}
        try:
            jsonschema.validate(value, schema)
            return True
        except jsonschema.ValidationError:
            return False

    # required text: "" and null are "no value" to the server
    for value in ("", None):
        assert not accepts("CompanyInput", {"name": value})
        assert _error(api.post("/api/v1/records/company", json={"name": value}), 422)["fields"]["name"] == ["is required"]
    # currency(12, 2): ten digits before the point once rounded to cents; integer min 0
    for value, ok in ((9_999_999_999.99, True), (9_999_999_999.994, True), (9_999_999_999.995, False),
                      (-9_999_999_999.994, True), (-9_999_999_999.995, False), (1e300, False)):
        assert accepts("CompanyInput", {"name": "n", "revenue": value}) is ok, value
        assert (api.post("/api/v1/records/company", json={"name": "n", "revenue": value}).status_code == 201) is ok, value
    for value, ok in ((0, True), (-1, False), (2**63 - 1, True), (2**63, False)):
        assert accepts("CompanyInput", {"name": "n", "employees": value}) is ok, value
        assert (api.post("/api/v1/records/company", json={"name": "n", "employees": value}).status_code == 201) is ok
    assert not accepts("CompanyInput", {"name": "a\u0000b"})
    # filter="" is refused; sort="" and fields="" mean the default
    params = {p["name"]: p["schema"] for p in doc["paths"]["/records/company"]["get"]["parameters"]}
    import re
    assert not re.search(params["filter"]["pattern"], "") and not re.search(params["filter"]["pattern"], "  ")
    _error(api.get("/api/v1/records/company?filter="), 400)
    assert re.search(params["sort"]["pattern"], "") and api.get("/api/v1/records/company?sort=").status_code == 200
    if_match = next(p for p in doc["paths"]["/records/company/{id}"]["patch"]["parameters"] if p["name"] == "If-Match")
    assert re.search(if_match["schema"]["pattern"], '"3"') and not re.search(if_match["schema"]["pattern"], "")
    assert schemas["Company"]["properties"]["num_deals"]["type"] == "integer"


def test_roll_ups_are_typed_by_their_aggregate(services, api):
    from tessera.meta.source import load_package
    services.changes.install_packages([load_package(ROOT / "apps" / "sales")], author="test", message="sales")
    doc = api.get("/api/v1/openapi.json").get_json()
    account = doc["components"]["schemas"]["Account"]["properties"]
    assert account["last_won_date"]["type"] == ["string", "null"] and account["last_won_date"]["format"] == "date"
    acct = api.post("/api/v1/records/account", json={"name": "Globex"}).get_json()
    r = api.post("/api/v1/records/opportunity", json={"name": "Big", "account": acct["id"], "stage": "Closed Won",
                                                       "close_date": "2024-05-01", "amount": 10})
    assert r.status_code == 201, r.get_json()
    record = api.get(f"/api/v1/records/account/{acct['id']}").get_json()
    assert record["last_won_date"] == "2024-05-01"
    jsonschema.validate(record, {"$ref": "#/components/schemas/Account", "components": doc["components"]},
                        format_checker=jsonschema.FormatChecker())


# -- item 13: bulk size cap -----------------------------------------------------------------------
def test_bulk_create_takes_at_most_10000_rows(api):
    r = api.post("/api/v1/records/memo/bulk", json=[{"name": "m"}] * 10_001)
    error = _error(r, 413)
    assert error["max_rows"] == 10_000 and "tessera import memo" in error["message"]
    assert api.get("/api/v1/records/memo?count=true").get_json()["total"] == 0
    doc = api.get("/api/v1/openapi.json").get_json()
    body = doc["paths"]["/records/memo/bulk"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["maxItems"] == 10_000
