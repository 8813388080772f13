"""The OpenAPI document is valid OpenAPI 3.1 and describes every object's endpoints."""
from openapi_spec_validator import validate


def test_openapi_document_is_valid_and_complete(api):
    r = api.get("/api/v1/openapi.json")
    assert r.status_code == 200
    doc = r.get_json()
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    for name in ("company", "deal", "user"):
        assert f"/records/{name}" in doc["paths"]
        assert f"/records/{name}/{{id}}" in doc["paths"]
    company = doc["components"]["schemas"]["Company"]["properties"]
    assert company["industry"]["enum"][:4] == ["Banking", "Energy", "Retail", "Technology"]
    assert company["num_deals"]["readOnly"] is True
    assert "name" in doc["components"]["schemas"]["CompanyInput"]["required"]
    assert "num_deals" not in doc["components"]["schemas"]["CompanyInput"]["properties"]
    # field history: documented where fields are tracked
    assert doc["paths"]["/records/company/{id}/history"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"] == {"$ref": "#/components/schemas/FieldHistory"}
    assert "/records/memo/{id}/history" not in doc["paths"]


def test_unknown_routes_and_methods_are_json(api):
    r = api.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    r = api.raw.put("/api/v1/records/company", headers={"Authorization": f"Bearer {api.token}"})
    assert r.status_code == 405 and r.get_json()["error"]["code"] == "method_not_allowed"


def test_an_object_named_like_a_platform_schema_gets_its_own_schema_names(api):
    """The core user_report object would be UserReport, the name of the saved-report routes' schema."""
    doc = api.get("/api/v1/openapi.json").get_json()
    listing = doc["paths"]["/records/user_report"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listing == {"$ref": "#/components/schemas/UserReportRecordList"}
    assert "records" in doc["components"]["schemas"]["UserReportRecordList"]["properties"]
    assert doc["components"]["schemas"]["UserReportList"]["required"] == ["user_reports"]
