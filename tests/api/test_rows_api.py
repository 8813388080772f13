"""Child rows edited with their parent (issue 14 §1): the stock quote's line items are `rows` of the
quote. GET returns them in order; POST and PATCH take them nested; a PATCH replaces the set in one
transaction (update by id, create without, delete what is left out, order = list order); per-row
errors name `line_items[i].field` and write nothing; the quote's ETag covers the whole edit; only
rows the viewer may see appear, and rows of a quote the viewer cannot see cannot be reached through
another one."""
from __future__ import annotations


import pytest

from tessera.security.actor import SYSTEM

REP_PASSWORD = "harbor-violet-ledger-5"


@pytest.fixture
def catalog(sales):
    return {name: sales.records.create(SYSTEM, "product", {"name": name})["id"] for name in ("Widget", "Gadget", "Gizmo")}


def _quote(api, catalog, *items):
    r = api.post("/api/v1/records/quote", json={"name": "Q", "line_items": [
        {"product": catalog[name], "quantity": qty, "unit_price": price} for name, qty, price in items]})
    assert r.status_code == 201, r.json
    return {**r.json, "_etag": r.headers["ETag"]}


def _lines(record):
    return [(row["position"], row["name"], row["quantity"]) for row in record["line_items"]]


def test_create_returns_the_rows_in_order_with_the_rollup(api, catalog):
    quote = _quote(api, catalog, ("Widget", 2, 10), ("Gadget", 1, 5))
    assert _lines(quote) == [(1, "Widget", 2.0), (2, "Gadget", 1.0)]
    assert quote["subtotal"] == 25.0
    row = quote["line_items"][0]
    assert set(row) >= {"id", "position", "product", "quantity", "unit_price", "line_total"}
    assert "quote" not in row and "owner" not in row   # the parent is implied; system columns left out
    got = api.get(f"/api/v1/records/quote/{quote['id']}").json
    assert got["line_items"] == quote["line_items"] and got["subtotal"] == 25.0


def test_patch_reorders_deletes_and_adds_in_one_call(api, catalog, sales):
    quote = _quote(api, catalog, ("Widget", 1, 10), ("Gadget", 2, 5), ("Gizmo", 3, 1))
    widget, gadget, gizmo = (row["id"] for row in quote["line_items"])
    r = api.patch(f"/api/v1/records/quote/{quote['id']}", headers={"If-Match": quote["_etag"]},
                  json={"line_items": [{"id": gizmo, "quantity": 4},
                                       {"product": catalog["Widget"], "quantity": 5, "unit_price": 2},
                                       {"id": widget}]})
    assert r.status_code == 200, r.json
    assert _lines(r.json) == [(1, "Gizmo", 4.0), (2, "Widget", 5.0), (3, "Widget", 1.0)]
    assert r.json["line_items"][0]["id"] == gizmo and r.json["line_items"][2]["id"] == widget
    assert r.json["subtotal"] == 4 * 1 + 5 * 2 + 10
    assert r.headers["ETag"] == '"2"' and quote["_etag"] == '"1"'   # the rows edit moves the quote's version
    gone = api.get(f"/api/v1/records/quote_line_item/{gadget}")
    assert gone.status_code == 404
    # the child API still works, and keeps positions 1..n
    assert api.delete(f"/api/v1/records/quote_line_item/{gizmo}").status_code == 204
    assert _lines(api.get(f"/api/v1/records/quote/{quote['id']}").json) == [(1, "Widget", 5.0), (2, "Widget", 1.0)]
    r = api.post("/api/v1/records/quote_line_item", json={"quote": quote["id"], "product": catalog["Gadget"],
                                                          "unit_price": 3})
    assert r.status_code == 201, r.json
    assert _lines(api.get(f"/api/v1/records/quote/{quote['id']}").json)[-1] == (3, "Gadget", 1.0)


def test_a_per_row_error_names_the_path_and_writes_nothing(api, catalog):
    quote = _quote(api, catalog, ("Widget", 1, 10), ("Gadget", 2, 5))
    widget, gadget = (row["id"] for row in quote["line_items"])
    r = api.patch(f"/api/v1/records/quote/{quote['id']}", json={
        "name": "Renamed",
        "line_items": [{"id": gadget, "quantity": 7}, {"product": catalog["Gizmo"], "unit_price": 1},
                       {"product": catalog["Gizmo"], "quantity": 0, "unit_price": 1},
                       {"product": catalog["Gizmo"], "quantity": "many", "unit_price": 1}]})
    assert r.status_code == 422, r.json
    assert r.json["error"]["fields"] == {"line_items[2].quantity": ["Quantity must be more than zero."],
                                         "line_items[3].quantity": ["must be a number"]}, r.json
    r = api.get(f"/api/v1/records/quote/{quote['id']}")
    after = r.json
    assert after["name"] == "Q" and r.headers["ETag"] == quote["_etag"]
    assert after["line_items"] == quote["line_items"]          # the deletion, update and creates rolled back


def test_bad_shapes_unknown_ids_and_the_limit(api, catalog, sales):
    quote = _quote(api, catalog, ("Widget", 1, 10))
    other = _quote(api, catalog, ("Gadget", 1, 10))
    url = f"/api/v1/records/quote/{quote['id']}"
    r = api.patch(url, json={"line_items": {"product": catalog["Widget"]}})
    assert r.status_code == 422 and r.json["error"]["fields"] == {
        "line_items": ["expected a list of rows (objects of field values)"]}
    r = api.patch(url, json={"line_items": ["x"]})
    assert r.json["error"]["fields"] == {"line_items[0]": ["expected an object of field values"]}
    r = api.patch(url, json={"line_items": [{"id": other["line_items"][0]["id"]}]})
    assert r.json["error"]["fields"] == {"line_items[0].id": ["is not a row of this quote's line_items"]}
    row = quote["line_items"][0]["id"]
    r = api.patch(url, json={"line_items": [{"id": row}, {"id": row}]})
    assert r.json["error"]["fields"] == {"line_items[1].id": ["appears twice"]}
    r = api.patch(url, json={"line_items": [{"id": row, "quote": other["id"]}]})
    assert list(r.json["error"]["fields"]) == ["line_items[0].quote"]
    r = api.patch(url, json={"line_items": [{"product": catalog["Widget"], "unit_price": 1}] * 1001})
    assert r.status_code == 422 and r.json["error"]["fields"] == {"line_items": ["at most 1000 rows (1001 given)"]}
    r = api.patch(url, json={"line_items": [{"id": row, "position": 9, "name": "x"}]})
    assert r.json["error"]["fields"] == {"line_items[0].name": ["is read-only"]}
    assert api.get(url).json["line_items"] == quote["line_items"]


def test_the_parents_etag_covers_the_rows(api, catalog):
    quote = _quote(api, catalog, ("Widget", 1, 10))
    url = f"/api/v1/records/quote/{quote['id']}"
    assert api.patch(url, json={"line_items": []}).status_code == 200
    r = api.patch(url, headers={"If-Match": quote["_etag"]},
                  json={"line_items": [{"product": catalog["Gizmo"], "unit_price": 1}]})
    assert r.status_code == 412, r.json
    assert api.get(url).json["line_items"] == []


def test_rows_follow_the_parents_sharing_and_field_rights(api, catalog, sales, client_for):
    rep, _ = sales.identity.create_user("rita", password=REP_PASSWORD, profile="sales_rep", role="sales_rep",
                                        first_name="Rita", last_name="Rep", email="rita@example.com")
    client = client_for(rep)
    hidden = _quote(api, catalog, ("Widget", 1, 10))                  # the admin's: private to Rita
    r = client.post("/api/v1/records/quote", json={"name": "Mine", "line_items": [
        {"product": catalog["Gadget"], "unit_price": 5}]})
    assert r.status_code == 201, r.json
    mine = r.json
    assert [row["name"] for row in mine["line_items"]] == ["Gadget"]
    assert client.get(f"/api/v1/records/quote/{hidden['id']}").status_code == 404
    listed = client.get("/api/v1/records/quote_line_item").json["records"]
    assert [row["id"] for row in listed] == [mine["line_items"][0]["id"]]   # the hidden quote's row never appears
    # a row of the hidden quote cannot be pulled in, nor deleted by leaving it out of another quote
    r = client.patch(f"/api/v1/records/quote/{mine['id']}", json={"line_items": [{"id": hidden["line_items"][0]["id"]}]})
    assert r.json["error"]["fields"] == {"line_items[0].id": ["is not a row of this quote's line_items"]}
    # field rights hold per row: a rep reads the discount but cannot set it
    r = client.patch(f"/api/v1/records/quote/{mine['id']}", json={"line_items": [
        {"id": mine["line_items"][0]["id"], "discount": 50}]})
    assert r.status_code == 403 and r.json["error"]["fields"] == {
        "line_items[0].discount": ["you do not have permission to edit this field"]}
    assert api.get(f"/api/v1/records/quote/{hidden['id']}").json["line_items"] == hidden["line_items"]


def test_openapi_describes_the_rows_read_and_write(api, catalog):
    from jsonschema import Draft202012Validator
    from openapi_spec_validator import validate
    doc = api.get("/api/v1/openapi.json").json
    validate(doc)
    schemas = doc["components"]["schemas"]
    rows = schemas["Quote"]["properties"]["line_items"]
    assert rows["type"] == "array" and rows["readOnly"] is True
    assert {"id", "position", "product", "quantity", "line_total"} <= set(rows["items"]["properties"])
    assert "quote" not in rows["items"]["properties"]
    patch = schemas["QuotePatch"]["properties"]["line_items"]
    assert patch["maxItems"] == 1000 and patch["items"]["additionalProperties"] is False
    assert {"id", "product", "quantity"} <= set(patch["items"]["properties"])
    assert "line_total" not in patch["items"]["properties"] and "quote" not in patch["items"]["properties"]
    # what a real PATCH sends validates against the document
    quote = _quote(api, catalog, ("Widget", 1, 10))
    body = {"line_items": [{"id": quote["line_items"][0]["id"], "quantity": 2},
                           {"product": catalog["Gadget"], "unit_price": 3}]}
    schema = schemas["QuotePatch"]
    assert not list(Draft202012Validator(schema).iter_errors(body))
    assert list(Draft202012Validator(schema).iter_errors({"line_items": [{"line_total": 1}]}))
    assert api.patch(f"/api/v1/records/quote/{quote['id']}", json=body).status_code == 200


def test_describe_names_the_rows(api, sales):
    quote = api.get("/api/v1/objects/quote").json
    assert quote["rows"] == [{"name": "line_items", "label": "Line Items", "object": "quote_line_item",
                              "relationship": "quote", "max_rows": 1000}]
    assert api.get("/api/v1/objects/quote_line_item").json["row_of"] == ["quote"]


def test_csv_import_of_line_items_appends_positions(api, catalog, sales, tmp_path, db_url):
    from click.testing import CliRunner
    from tessera.cli import _register, cli
    if not cli.commands:
        _register()
    quote = _quote(api, catalog, ("Widget", 1, 10))
    csv_file = tmp_path / "lines.csv"
    csv_file.write_text(f"quote,product,quantity,unit_price\n{quote['id']},{catalog['Gadget']},2,5\n"
                        f"{quote['id']},{catalog['Gizmo']},3,1\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["import", "quote_line_item", str(csv_file), "--database", db_url],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    got = api.get(f"/api/v1/records/quote/{quote['id']}").json
    assert _lines(got) == [(1, "Widget", 1.0), (2, "Gadget", 2.0), (3, "Gizmo", 3.0)]
