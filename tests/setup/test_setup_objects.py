"""Object manager: every save is a NEW metadata version through the change pipeline (source ui)."""
from __future__ import annotations

import json

from tessera.security.actor import SYSTEM


def active(services):
    return services.changes.active()


def org_doc(services, dirname, name):
    item = active(services).snapshot["org"]["components"][dirname].get(name)
    return item["doc"] if item else None


def test_create_a_custom_object_shows_the_plan_then_saves_a_ui_version(admin, services):
    before = active(services).number
    data = {"label": "Invoice", "plural_label": "Invoices", "name_type": "text", "sharing_model": "private",
            "app": "testapp"}
    html = admin.post("/setup/objects/new", data).get_data(as_text=True)
    assert "create object invoice" in html and "Confirm and save" in html
    assert active(services).number == before          # the review changed nothing
    review, done = admin.change("/setup/objects/new", data)
    assert done.status_code == 302 and done.headers["Location"].endswith("/setup/objects/invoice/")
    version = active(services)
    assert version.number == before + 1 and version.source == "ui" and version.author == "admin"
    md = services.runtimes.current().metadata
    assert md.objects["invoice"].label == "Invoice" and "name" in md.objects["invoice"].fields
    assert md.layouts["invoice"]["object"] == "invoice"                 # a default layout ...
    assert md.list_views["all_invoice"]["object"] == "invoice"          # ... and list view come along
    assert "invoice" in md.apps["testapp"]["tabs"]
    assert org_doc(services, "objects", "invoice")["name"] == "invoice"
    from tessera.security import audit
    assert any(e["action"] == "metadata.change" and e["subject"] == f"version {version.number}"
               for e in audit.entries(services.engine))


def test_object_api_name_is_validated(admin, services):
    before = active(services).number
    r = admin.post("/setup/objects/new", {"label": "Thing", "name": "Bad Name!"})
    assert r.status_code == 422 and "lower-case letters" in r.get_data(as_text=True)
    r = admin.post("/setup/objects/new", {"label": "Thing", "name": "company"})
    assert r.status_code == 422 and "already used" in r.get_data(as_text=True)
    r = admin.post("/setup/objects/new", {"label": "Thing", "name": "x" * 41})
    assert r.status_code == 422 and "at most 40" in r.get_data(as_text=True)
    assert active(services).number == before


def _new_object(admin, label="Invoice"):
    admin.change("/setup/objects/new", {"label": label, "name_type": "text", "sharing_model": "private"})


def test_fields_of_several_types_each_save_a_version(admin, services):
    _new_object(admin)
    n = active(services).number
    fields = [
        ("text", {"label": "Reference", "required": "1", "max_length": "30", "add_to_layout": "invoice"}),
        ("picklist", {"label": "Status", "pv_value": ["Draft", "Sent", "Paid"], "pv_label": ["", "Sent out", ""],
                      "restricted": "1", "default": "Draft"}),
        ("currency", {"label": "Total", "precision": "12", "scale": "2", "min": "0"}),
        ("date", {"label": "Due Date", "default_expression": "ADD_DAYS(TODAY(), 30)"}),
        ("boolean", {"label": "Paid Online", "default_checked": "1"}),
        ("lookup", {"label": "Company", "to": "company", "on_delete": "restrict"}),
        ("formula", {"label": "Total With Tax", "returns": "currency", "expression": "total * 1.2"}),
        ("autonumber", {"label": "Number", "format": "INV-{00000}"}),
    ]
    for ftype, data in fields:
        review, done = admin.change(f"/setup/objects/invoice/fields/new?type={ftype}", data)
        assert done.status_code == 302, (ftype, done.get_data(as_text=True)[:2000])
        n += 1
        assert active(services).number == n and active(services).source == "ui"
    obj = services.runtimes.current().metadata.objects["invoice"]
    assert obj.fields["reference"].required and obj.fields["reference"].options["max_length"] == 30
    assert obj.fields["status"].options["values"] == ["Draft", {"value": "Sent", "label": "Sent out"}, "Paid"]
    assert obj.fields["status"].default == "Draft"
    assert obj.fields["total"].type == "currency" and obj.fields["total"].options["precision"] == 12
    assert obj.fields["paid_online"].default is True
    assert obj.fields["company"].target == "company" and obj.fields["company"].options["on_delete"] == "restrict"
    assert obj.fields["total_with_tax"].options["expression"] == "total * 1.2"
    layout = services.runtimes.current().metadata.layouts["invoice"]
    assert "reference" in layout["sections"][0]["fields"]
    # the running record service uses it at once
    rec = services.records.create(SYSTEM, "invoice", {"name": "I-1", "reference": "R1", "total": 10})
    assert rec["status"] == "Draft" and rec["number"] == "INV-00001" and float(rec["total_with_tax"]) == 12.0


def test_field_errors_from_the_pipeline_are_shown_next_to_the_input(admin, services):
    _new_object(admin)
    n = active(services).number
    r = admin.post("/setup/objects/invoice/fields/new?type=formula",
                   {"label": "Broken", "returns": "number", "expression": "nonexistent * 2"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert 'data-error-for="expression"' in html and "nonexistent" in html
    assert 'value="Broken"' in html                                 # nothing typed is lost
    r = admin.post("/setup/objects/invoice/fields/new?type=picklist", {"label": "Stage"})
    assert r.status_code == 422 and 'data-error-for="values"' in r.get_data(as_text=True)
    assert active(services).number == n


def test_field_on_a_package_object_goes_into_the_org_extension(admin, services):
    admin.change("/setup/objects/company/fields/new?type=picklist",
                 {"label": "Region", "pv_value": ["EMEA", "AMER", "APAC"], "pv_label": ["", "", ""], "restricted": "1"})
    ext = org_doc(services, "objects", "company")
    assert ext["extends"] == "company" and ext["fields"]["region"]["type"] == "picklist"
    assert "region" in services.runtimes.current().metadata.objects["company"].fields


def test_only_customizable_properties_of_a_package_field_change(admin, services):
    # testpkg has no `customizable`: label, help and track_history only (the box comes checked, as company tracks)
    admin.change("/setup/objects/company/fields/name/", {"label": "Legal Name", "help": "As registered",
                                                         "max_length": "5", "required": "", "track_history": "1"})
    ext = org_doc(services, "objects", "company")
    assert ext["fields"]["name"] == {"label": "Legal Name", "help": "As registered"}
    f = services.runtimes.current().metadata.objects["company"].fields["name"]
    assert f.label == "Legal Name" and f.required and f.options["max_length"] == 80
    page = admin.get("/setup/objects/company/fields/name/").get_data(as_text=True)
    assert 'id="max_length" name="max_length" value="80" placeholder="default" disabled' in page
    # back to the package's label: the customization disappears from the org layer
    admin.change("/setup/objects/company/fields/name/", {"label": "", "help": "", "track_history": "1"})
    assert org_doc(services, "objects", "company") is None


def test_validation_rule_expression_is_checked_when_saved(admin, services):
    _new_object(admin)
    admin.change("/setup/objects/invoice/fields/new?type=currency", {"label": "Total"})
    n = active(services).number
    r = admin.post("/setup/objects/invoice/rules/new", {"name": "positive", "condition": "total <", "message": "No"})
    assert r.status_code == 422 and 'data-error-for="condition"' in r.get_data(as_text=True)
    r = admin.post("/setup/objects/invoice/rules/new", {"name": "positive", "condition": "total + 1", "message": "No"})
    assert r.status_code == 422 and "boolean" in r.get_data(as_text=True)
    assert active(services).number == n
    admin.change("/setup/objects/invoice/rules/new", {"name": "positive", "condition": "total < 0",
                                                      "message": "Total cannot be negative.", "field": "total"})
    rules = services.runtimes.current().metadata.objects["invoice"].validation_rules
    assert [(r.name, r.condition, r.field) for r in rules] == [("positive", "total < 0", "total")]
    check = admin.client.post("/setup/objects/invoice/check-expression", base_url="https://localhost",
                              headers={"Referer": "https://localhost/setup/", "X-CSRFToken": admin.token},
                              json={"expression": "total >", "kind": "rule"})
    assert check.status_code == 200 and check.get_json()["ok"] is False
    admin.change("/setup/objects/invoice/rules/positive/delete", {})
    assert services.runtimes.current().metadata.objects["invoice"].validation_rules == ()


def test_refused_change_shows_the_reasons_and_changes_nothing(admin, services):
    _new_object(admin)
    admin.change("/setup/objects/invoice/fields/new?type=text", {"label": "Code"})
    services.records.create(SYSTEM, "invoice", {"name": "A", "code": "abc"})
    n = active(services).number
    r = admin.post("/setup/objects/invoice/fields/code/", {"type": "integer", "label": "Code"})
    html = r.get_data(as_text=True)
    assert r.status_code == 409
    assert "refused" in html and "abc" in html and 'id="confirm-change"' not in html
    assert active(services).number == n
    assert services.runtimes.current().metadata.objects["invoice"].fields["code"].type == "text"


def test_destructive_change_needs_the_explicit_allow(admin, services):
    _new_object(admin)
    admin.change("/setup/objects/invoice/fields/new?type=text", {"label": "Note"})
    services.records.create(SYSTEM, "invoice", {"name": "A", "note": "keep me"})
    n = active(services).number
    review = admin.post("/setup/objects/invoice/fields/note/delete", {})
    html = review.get_data(as_text=True)
    assert review.status_code == 200 and "destructive" in html and "allow-destructive" in html
    # confirming without ticking "I understand" is refused by the pipeline
    review, refused = admin.change("/setup/objects/invoice/fields/note/delete", {})
    assert refused.status_code == 409 and "allow destructive" in refused.get_data(as_text=True)
    assert active(services).number == n
    review, done = admin.change("/setup/objects/invoice/fields/note/delete", {}, allow_destructive=True)
    assert done.status_code == 302 and active(services).number == n + 1
    assert "note" not in services.runtimes.current().metadata.objects["invoice"].fields


def test_confirming_a_stale_review_shows_the_plan_again(admin, services):
    _new_object(admin)
    review = admin.post("/setup/objects/invoice/fields/new?type=text", {"label": "Alpha"})
    from setup_helpers import confirm_fields
    fields = confirm_fields(review.get_data(as_text=True))
    admin.change("/setup/objects/invoice/fields/new?type=text", {"label": "Beta"})   # someone else saves first
    n = active(services).number
    from werkzeug.datastructures import MultiDict
    again = admin.client.post("/setup/objects/invoice/fields/new?type=text", base_url="https://localhost",
                              headers={"Referer": "https://localhost/setup/"}, data=MultiDict(fields))
    assert again.status_code == 200 and "review it again" in again.get_data(as_text=True)
    assert active(services).number == n


def test_labels_are_escaped(admin, services):
    admin.change("/setup/objects/new", {"label": "<script>alert(1)</script>", "name": "xss",
                                        "name_type": "text", "sharing_model": "private"})
    for url in ("/setup/objects/", "/setup/objects/xss/", "/setup/layouts/xss/", "/setup/permissions/profile/tp_rep/"):
        html = admin.get(url).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url


def test_delete_a_custom_object(admin, services):
    _new_object(admin)
    review, done = admin.change("/setup/objects/invoice/delete", {}, allow_destructive=True)
    assert "drop object invoice" in review.get_data(as_text=True)
    md = services.runtimes.current().metadata
    assert "invoice" not in md.objects and "invoice" not in md.layouts and "all_invoice" not in md.list_views


def test_object_details_of_a_package_object(admin, services):
    admin.change("/setup/objects/company/details", {"label": "Organisation", "plural_label": "Organisations",
                                                    "sharing_model": "read", "hierarchy_access": "1",
                                                    "track_history": "1"})   # as the package says: not stored
    ext = org_doc(services, "objects", "company")
    assert ext == {"extends": "company", "label": "Organisation", "plural_label": "Organisations", "sharing_model": "read"}
    assert json.dumps(ext)   # plain data in the snapshot


def test_renaming_a_field_keeps_its_data(admin, services):
    """A new API name goes through `renamed_from`: the plan renames the column (no drop, no add),
    the data stays, and the org layer's references (layout, rule, formula) follow."""
    _new_object(admin)
    admin.change("/setup/objects/invoice/fields/new?type=text", {"label": "Reference", "max_length": "30",
                                                                 "add_to_layout": "invoice"})
    admin.change("/setup/objects/invoice/rules/new", {"name": "ref_needed", "condition": "ISBLANK(reference)",
                                                      "message": "Enter a reference.", "field": "reference"})
    admin.change("/setup/objects/invoice/fields/new?type=formula",
                 {"label": "Shown", "returns": "text", "expression": "'#' + reference"})
    rec = services.records.create(SYSTEM, "invoice", {"name": "I-1", "reference": "R-42"})
    page = admin.get("/setup/objects/invoice/fields/reference/").get_data(as_text=True)
    assert 'name="name" value="reference"' in page          # the org's own field: the API name is editable
    n = active(services).number
    data = {"label": "Reference Code", "name": "ref_code", "type": "text", "max_length": "30"}
    html = admin.post("/setup/objects/invoice/fields/reference/", data).get_data(as_text=True)
    assert "rename field invoice.reference → ref_code" in html and "Confirm and save" in html
    assert "drop field" not in html and "add field" not in html and "destructive" not in html.lower()
    assert active(services).number == n                      # the review changed nothing
    review, done = admin.change("/setup/objects/invoice/fields/reference/", data)
    assert done.status_code == 302 and active(services).number == n + 1
    assert active(services).message == "Rename field invoice.reference to ref_code"
    md = services.runtimes.current().metadata
    assert "reference" not in md.objects["invoice"].fields and md.objects["invoice"].fields["ref_code"].label == "Reference Code"
    assert services.records.get(SYSTEM, "invoice", rec["id"])["ref_code"] == "R-42"
    assert "ref_code" in md.layouts["invoice"]["sections"][0]["fields"]
    rule = md.objects["invoice"].validation_rules[0]
    assert rule.field == "ref_code" and rule.condition == "ISBLANK(ref_code)"   # expressions follow
    assert md.objects["invoice"].fields["shown"].options["expression"] == "'#' + ref_code"
    assert services.records.get(SYSTEM, "invoice", rec["id"])["shown"] == "#R-42"
    # renamed back later: the data follows again, and the old `renamed_from` does not get in the way
    admin.change("/setup/objects/invoice/fields/ref_code/", {**data, "name": "reference"})
    assert services.records.get(SYSTEM, "invoice", rec["id"])["reference"] == "R-42"


def test_rename_refuses_a_taken_or_bad_name_and_package_fields_keep_theirs(admin, services):
    _new_object(admin)
    admin.change("/setup/objects/invoice/fields/new?type=text", {"label": "Reference"})
    n = active(services).number
    for name, message in (("name", "already used"), ("owner", "reserved"), ("Bad Name", "lower-case letters")):
        r = admin.post("/setup/objects/invoice/fields/reference/", {"label": "Reference", "name": name, "type": "text"})
        assert r.status_code == 422 and message in r.get_data(as_text=True), name
    assert active(services).number == n
    page = admin.get("/setup/objects/company/fields/industry/").get_data(as_text=True)
    assert 'id="name" value="industry" readonly' in page      # a package's field names are its contract


def test_renaming_an_org_field_of_a_package_object_keeps_its_data(admin, services):
    admin.change("/setup/objects/company/fields/new?type=text", {"label": "Region"})
    c = services.records.create(SYSTEM, "company", {"name": "Acme", "region": "EMEA"})
    admin.change("/setup/objects/company/fields/region/", {"label": "Sales Region", "name": "sales_region",
                                                           "type": "text"})
    ext = org_doc(services, "objects", "company")
    assert ext["fields"]["sales_region"]["renamed_from"] == "region" and "region" not in ext["fields"]
    assert services.records.get(SYSTEM, "company", c["id"])["sales_region"] == "EMEA"


def test_renaming_a_field_follows_paths_from_other_objects(admin, services):
    """`company.region` in an invoice formula, rule and list view (filter, columns, sort) is a path
    to the renamed field through a lookup: it follows the rename; the invoice's own field that
    happens to share the old name does not."""
    import copy
    _new_object(admin)
    admin.change("/setup/objects/invoice/fields/new?type=lookup", {"label": "Company", "to": "company",
                                                                   "on_delete": "set_null"})
    admin.change("/setup/objects/company/fields/new?type=text", {"label": "Region"})
    admin.change("/setup/objects/invoice/fields/new?type=text", {"label": "Region"})       # invoice's own `region`
    admin.change("/setup/objects/invoice/fields/new?type=formula",
                 {"label": "Company Region", "returns": "text", "expression": "company.region + '/' + region"})
    admin.change("/setup/objects/invoice/rules/new", {"name": "no_x_region", "condition": "company.region == 'X'",
                                                   "message": "Not in region X."})
    org = copy.deepcopy(active(services).snapshot["org"])
    org["components"]["list_views"]["invoices_by_region"] = {"source": "list_views/invoices_by_region.yaml", "doc": {
        "name": "invoices_by_region", "object": "invoice", "label": "Invoices by Region",
        "columns": ["name", "company.region", "region"], "filter": "ISBLANK(company.region) == False",
        "sort": ["-company.region", "name"]}}
    services.changes.apply_org(org, author="test", message="a list view through the lookup")
    acme = services.records.create(SYSTEM, "company", {"name": "Acme", "region": "EMEA"})
    invoice = services.records.create(SYSTEM, "invoice", {"name": "D1", "company": acme["id"], "region": "North"})
    assert services.records.get(SYSTEM, "invoice", invoice["id"])["company_region"] == "EMEA/North"

    review, done = admin.change("/setup/objects/company/fields/region/",
                                {"label": "Sales Region", "name": "sales_region", "type": "text"})
    assert done.status_code == 302, review.get_data(as_text=True)[:3000]
    md = services.runtimes.current().metadata
    assert md.objects["invoice"].fields["company_region"].options["expression"] == "company.sales_region + '/' + region"
    rule = next(r for r in md.objects["invoice"].validation_rules if r.name == "no_x_region")
    assert rule.condition == "company.sales_region == 'X'"
    view = md.list_views["invoices_by_region"]
    assert view["columns"] == ["name", "company.sales_region", "region"]
    assert view["filter"] == "ISBLANK(company.sales_region) == False" and view["sort"] == ["-company.sales_region", "name"]
    assert services.records.get(SYSTEM, "invoice", invoice["id"])["company_region"] == "EMEA/North"


def test_activities_are_turned_on_in_setup_for_new_and_package_objects(admin, services):
    admin.change("/setup/objects/new", {"label": "Visit", "plural_label": "Visits", "name_type": "text",
                                         "sharing_model": "private", "activities": "1"})
    assert services.runtimes.current().metadata.objects["visit"].activities is True
    # a package object without activities gets them through the org's extension
    page = admin.get("/setup/objects/memo/details").get_data(as_text=True)
    assert 'id="activities" name="activities" value="1">' in page       # editable, off
    admin.change("/setup/objects/memo/details", {"label": "Memo", "plural_label": "Memos", "activities": "1",
                                                 "sharing_model": "private"})
    assert services.runtimes.current().metadata.objects["memo"].activities is True
    assert org_doc(services, "objects", "memo")["activities"] is True
    # a package's own activities stay on: the box is shown, not editable
    page = admin.get("/setup/objects/company/details").get_data(as_text=True)
    assert 'id="activities" name="activities" value="1" checked disabled' in page
