"""The JSON Schemas of the metadata format, the stock packages against them, and the error messages."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from tessera.meta.source import COMPONENT_DIRS, component_key, document_kind
from tessera.meta.errors import MetaError
from tessera.meta.schema import KINDS, schema_dir, schema_for, validate_document

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "metadata" / "schemas"
STOCK_PACKAGES = [ROOT / "metadata" / "core", ROOT / "apps" / "sales", ROOT / "apps" / "marketing",
                  ROOT / "apps" / "service"]
KIND_OF_DIR = COMPONENT_DIRS
FIELD_TYPES = ("text, textarea, rich_text, email, phone, url, integer, duration, geolocation, number, currency, "
               "percent, boolean, date, datetime, time, picklist, multi_picklist, lookup, master_detail, file, image, related_to, formula, "
               "rollup, autonumber, json, rows")
SYSTEM = "id, owner, created_at, created_by, updated_at, updated_by, row_version"
NAME_RULE = "is not a valid name (lower-case letters, digits and _, starting with a letter)"


def stock_documents() -> list[tuple[Path, str]]:
    docs = []
    for package in STOCK_PACKAGES:
        for path in sorted(package.rglob("*")):
            if path.suffix in (".yaml", ".yml"):
                kind = "package" if path.name == "package.yaml" else KIND_OF_DIR[path.parent.name]
                docs.append((path, kind))
    return docs


def errors(kind: str, text: str) -> list[tuple[str, str]]:
    found = validate_document(kind, yaml.safe_load(textwrap.dedent(text)), "t.yaml")
    assert all(isinstance(e, MetaError) and e.source == "t.yaml" for e in found)
    return [(e.path, e.message) for e in found]


# --------------------------------------------------------------------------- the schema files

SCHEMA_FILES = sorted(SCHEMAS.glob("*.schema.json"))


def test_there_is_a_schema_per_kind():
    assert schema_dir().resolve() == SCHEMAS.resolve()
    assert {f"{kind}.schema.json" for kind in KINDS} <= {p.name for p in SCHEMA_FILES}


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_schema_file_is_a_valid_2020_12_schema(path):
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == f"https://tessera.dev/schemas/{path.name}"
    assert schema["title"] and schema["description"]


def _subschemas(node, where=""):
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from _subschemas(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _subschemas(value, f"{where}/{i}")


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_schema_is_closed_and_documented(path):
    """Every object with properties refuses unknown ones, and every property is described for editors."""
    schema = json.loads(path.read_text(encoding="utf-8"))
    for where, node in _subschemas(schema):
        if node.get("type") != "object" or "properties" not in node:
            continue  # not an object schema (a conditional branch applies to the same object)
        if where.endswith("/if") or "/if/" in where:
            continue  # conditions only test a value; they describe nothing
        if any("if" in branch for branch in node.get("allOf", ())):
            continue  # a dispatcher (the field by `type`): each branch it selects is closed
        assert node.get("additionalProperties") is False, f"{path.name}{where}: additionalProperties"
        for name, prop in node["properties"].items():
            assert isinstance(prop, dict) and prop.get("description"), f"{path.name}{where}/{name}: description"


def test_schema_for_returns_the_loaded_schema():
    assert schema_for("object")["$id"] == "https://tessera.dev/schemas/object.schema.json"
    with pytest.raises(ValueError, match="unknown metadata kind 'widget'"):
        schema_for("widget")


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown metadata kind"):
        validate_document("widget", {}, "t.yaml")


def test_schema_dir_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TESSERA_SCHEMA_DIR", str(tmp_path))
    assert schema_dir() == tmp_path
    with pytest.raises(RuntimeError, match="missing schema"):
        validate_document("app", {"name": "x", "tabs": ["y"]}, "t.yaml")
    for path in SCHEMA_FILES:
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    assert validate_document("app", {"name": "x", "tabs": ["y"]}, "t.yaml") == []


def test_schemas_from_another_folder_are_checked_as_schemas(tmp_path, monkeypatch):
    """Tessera's own schemas are checked by the tests above, not on every start; another folder's are."""
    from jsonschema.exceptions import SchemaError
    monkeypatch.setenv("TESSERA_SCHEMA_DIR", str(tmp_path))
    for path in SCHEMA_FILES:
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    broken = json.loads((tmp_path / "app.schema.json").read_text(encoding="utf-8"))
    broken["type"] = "no-such-type"
    (tmp_path / "app.schema.json").write_text(json.dumps(broken), encoding="utf-8")
    with pytest.raises(SchemaError):
        validate_document("app", {"name": "x", "tabs": ["y"]}, "t.yaml")


# --------------------------------------------------------------------------- the stock packages

STOCK = stock_documents()


def test_stock_packages_are_all_there():
    kinds = {kind for _, kind in STOCK}
    assert {"package", "object", "layout", "list_view", "app", "profile", "permission_set", "role"} <= kinds
    for package in STOCK_PACKAGES:
        assert (package / "package.yaml").is_file()
        assert any((package / "objects").glob("*.yaml"))
    assert len(STOCK) > 100


@pytest.mark.parametrize("path,kind", STOCK, ids=[str(p.relative_to(ROOT)) for p, _ in STOCK])
def test_stock_document_is_valid(path, kind):
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    kind = document_kind(kind, doc)          # an `extends:` document (Marketing's fields on opportunity)
    assert validate_document(kind, doc, str(path.relative_to(ROOT))) == []
    if kind != "package":
        assert component_key(kind, doc)[0] == path.stem, "a component is named after its file"


def test_stock_package_manifests():
    manifests = {p.parent.name: yaml.safe_load(p.read_text()) for p, k in STOCK if k == "package"}
    assert {m["name"]: m["version"] for m in manifests.values()} == {
        "core": "1.1.0", "sales": "1.3.0", "marketing": "1.2.0", "service": "1.1.0"}
    assert set(manifests["sales"]["dependencies"]) == {"core"}
    assert set(manifests["marketing"]["dependencies"]) == {"core", "sales"}
    assert set(manifests["service"]["dependencies"]) == {"core", "sales", "marketing"}  # read_only profile


# --------------------------------------------------------------------------- error messages

def test_misspelled_field_type():
    assert errors("object", """
        name: opportunity
        fields:
          amount: {type: curency}
    """) == [("fields.amount.type", f"'curency' is not a field type (expected one of: {FIELD_TYPES})")]


def test_picklist_without_values():
    assert errors("object", """
        name: opportunity
        fields:
          stage: {type: picklist, label: Stage}
    """) == [("fields.stage.values", "required for picklist fields")]


def test_bad_name():
    assert errors("object", """
        name: Bad Name
        fields:
          name: {type: text}
    """) == [("name", f"'Bad Name' {NAME_RULE}")]


def test_unknown_property():
    assert errors("object", """
        name: thing
        fields:
          x: {type: text, colour: red}
    """) == [("fields.x.colour", "unknown property 'colour'")]


def test_unknown_property_suggests_a_close_one():
    assert errors("object", """
        name: thing
        fields:
          x: {type: text, lable: X}
    """) == [("fields.x.lable", "unknown property 'lable' (did you mean 'label'?)")]


def test_bad_semver():
    assert errors("package", """
        name: sales
        label: Sales
        version: "1.0"
    """) == [("version", "'1.0' is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.0.0)")]


def test_unquoted_version_is_a_number():
    assert errors("package", "name: sales\nlabel: Sales\nversion: 1.0\n") == [
        ("version", 'expected a semantic version such as "1.0.0" (a quoted string), got 1.0')]


def test_semver_with_prerelease_and_build_is_fine():
    assert errors("package", "name: sales\nlabel: Sales\nversion: 2.1.0-rc.1+build.5\n") == []


def test_system_field_name():
    assert errors("object", """
        name: thing
        fields:
          name: {type: text}
          created_at: {type: datetime}
    """) == [("fields.created_at", f"'created_at' is a system field name (reserved: {SYSTEM})")]


def test_rollup_sum_without_field():
    assert errors("object", """
        name: account
        fields:
          total: {type: rollup, object: opportunity, relationship: account, function: sum}
    """) == [("fields.total.field", "required when function is sum, min or max")]


def test_rollup_count_takes_no_field():
    assert errors("object", """
        name: account
        fields:
          n: {type: rollup, object: opportunity, relationship: account, function: count, field: amount}
    """) == [("fields.n.field", "count rollups take no field")]


def test_autonumber_format_without_number_group():
    assert errors("object", """
        name: case
        fields:
          number: {type: autonumber, format: CASE-0000}
    """) == [("fields.number.format", "'CASE-0000' needs exactly one {0...} group for the number, e.g. 'CASE-{00000}'")]


def test_autonumber_format_with_two_groups():
    assert errors("object", """
        name: case
        fields:
          number: {type: autonumber, format: "{00}-{0000}"}
    """) == [("fields.number.format", "'{00}-{0000}' needs exactly one {0...} group for the number, e.g. 'CASE-{00000}'")]


def test_type_specific_requirements():
    assert errors("object", """
        name: thing
        fields:
          a: {type: lookup}
          b: {type: formula, returns: text}
          c: {type: rollup, function: count}
          d: {type: autonumber}
          e: {type: multi_picklist}
    """) == [
        ("fields.a.to", "required for lookup fields"),
        ("fields.b.expression", "required for formula fields"),
        ("fields.c.object", "required for rollup fields"),
        ("fields.c.relationship", "required for rollup fields"),
        ("fields.d.format", "required for autonumber fields"),
        ("fields.e.values", "required for multi_picklist fields"),
    ]


def test_property_that_does_not_apply_to_the_type():
    assert errors("object", """
        name: thing
        fields:
          total: {type: formula, returns: number, expression: "1 + 1", required: true}
          parent: {type: master_detail, to: thing, required: false}
    """) == [
        ("fields.total.required", "does not apply to formula fields (they are computed)"),
        ("fields.parent.required", "master_detail fields are always required"),
    ]


def test_numeric_bounds():
    assert errors("object", """
        name: thing
        fields:
          a: {type: number, precision: 39}
          b: {type: currency, precision: 10, scale: 12}
          c: {type: percent, scale: 6}
          d: {type: text, max_length: 5000}
          e: {type: number, precision: 0}
    """) == [
        ("fields.a.precision", "39 is too large (the maximum is 38)"),
        ("fields.b.scale", "12 is more than the precision (10)"),
        ("fields.c.scale", "6 is more than the precision (percent fields default to 5 digits)"),
        ("fields.d.max_length", "5000 is too large (the maximum is 4000)"),
        ("fields.e.precision", "0 is too small (the minimum is 1)"),
    ]


def test_yaml_pitfalls_are_explained():
    assert errors("object", """
        name: thing
        fields:
          answer: {type: picklist, values: [Yes, No, Maybe]}
          due: {type: date, default: 2024-01-31}
          amount: currency
    """) == [
        ("fields.answer.values.0", "expected a string, got true (quote it in YAML)"),
        ("fields.answer.values.1", "expected a string, got false (quote it in YAML)"),
        ("fields.due.default", "expected a string, got 2024-01-31 (quote it in YAML)"),
        ("fields.amount", "expected a mapping, got 'currency'"),
    ]


def test_picklist_entries():
    assert errors("object", """
        name: thing
        fields:
          a: {type: picklist, values: [x, {value: y}, x]}
          b: {type: multi_picklist, values: ["p;q"]}
    """) == [
        ("fields.a.values", "'x' listed more than once"),
        ("fields.a.values.1.label", "required"),
        ("fields.b.values.0", "'p;q' contains ';', which separates multi_picklist values"),
    ]


def test_names():
    long = "a" * 41
    assert errors("object", f"""
        name: {long}
        fields:
          acme__region: {{type: text}}
          Region: {{type: text}}
          ok: {{type: text, renamed_from: owner}}
    """) == [
        ("name", f"'{long}' is too long (a name has at most 40 characters)"),
        ("fields.Region", f"'Region' {NAME_RULE}"),
        ("fields.ok.renamed_from", f"'owner' is a system field name (reserved: {SYSTEM})"),
    ]
    assert errors("app", 'name: "sales\\n"\ntabs: [account]\n') == [("name", f"'sales\\n' {NAME_RULE}")]
    assert errors("object", "name: acme__invoice\nfields: {acme__total: {type: currency}}\n") == []


def test_object_level_problems_in_document_order():
    assert errors("object", """
        name: thing
        colour: red
        fields: {}
        validation_rules:
          - name: r
            condition: "x < 0"
    """) == [
        ("colour", "unknown property 'colour'"),
        ("fields", "must not be empty"),
        ("validation_rules.0.message", "required"),
    ]


def test_root_must_be_a_mapping():
    assert errors("layout", "- a\n- b\n") == [("", "expected a mapping, got a list")]
    assert str(validate_document("layout", [], "x.yaml")[0]) == "x.yaml: expected a mapping, got a list"


def test_layout_paths_use_list_indexes():
    assert errors("layout", """
        name: account
        object: account
        sections:
          - fields: [name, Phone]
            columns: 3
          - fields: []
        related_lists:
          - object: contact
            columns: [account.name, "x..y"]
    """) == [
        ("sections.0.fields.1", f"'Phone' {NAME_RULE}"),
        ("sections.0.columns", "3 is not a number of columns (1 or 2)"),
        ("sections.1.fields", "must not be empty"),
        ("related_lists.0.columns.1", "'x..y' is not a field name or a path through lookups (like account.name)"),
        ("related_lists.0.field", "required"),
    ]


def test_list_view():
    assert errors("list_view", """
        name: open_things
        object: thing
        columns: [name, name]
        sort: [--name]
        filter: ""
    """) == [
        ("columns", "'name' listed more than once"),
        ("sort.0", "'--name' is not a sort key (a field or path, '-' in front for descending)"),
        ("filter", "must not be empty"),
    ]


def test_package_manifest():
    assert errors("package", """
        name: acme_billing
        label: Billing
        version: 1.2.3
        namespace: acme__x
        dependencies: {core: "1.0", sales: ">=1.0,<2"}
        customizable: {object: [label, fields]}
    """) == [
        ("namespace", "'acme__x' is not a valid namespace (lower-case letters and digits, single _ between them)"),
        ("dependencies.core", "'1.0' is not a version range (PEP 440, e.g. \">=1.0,<2\")"),
        ("customizable.object.1", "'fields' is not a customizable object property (expected one of: "
                                  "label, plural_label, description, name_field, track_history, "
                                  "sharing_model, hierarchy_access, multi_currency, conversion_date, activities)"),
    ]


def test_object_extension():
    assert errors("object_extension", """
        extends: account
        label: Customer
        fields:
          region: {type: picklist, values: [EMEA, AMER, APAC]}
          name: {label: Customer Name}
    """) == []
    problems = errors("object_extension", """
        extends: account
        fields:
          name: {to: contact}
          region: {type: picklist}
    """)
    assert problems[0][0] == "fields.name.to"
    assert problems[0][1].startswith("'to' cannot be changed by an extension (it can change: label, help, ")
    assert problems[1:] == [("fields.region.values", "required for picklist fields")]


def test_object_sharing_settings():
    assert errors("object", """
        name: quote_line_item
        sharing_model: controlled_by_parent
        hierarchy_access: false
        fields: {quote: {type: master_detail, to: quote}}
    """) == []
    assert errors("object", "name: x\nsharing_model: public\nfields: {a: {type: text}}\n") == [
        ("sharing_model", "'public' is not a sharing model (expected one of: private, read, read_write, "
                          "controlled_by_parent)")]


def test_security_metadata():
    assert errors("profile", """
        name: sales_rep
        label: Sales Representative
        system_permissions: [api_access]
        objects: {account: [create, read, edit], product: [read]}
        fields: {account: {annual_revenue: [read], credit_score: []}}
    """) == []
    assert errors("permission_set", """
        name: p
        system_permissions: [fly]
        objects: {account: [read, write]}
        fields: {account: {x: [delete]}}
    """) == [
        ("system_permissions.0", "'fly' is not a system permission (expected one of: customize_metadata, "
                                 "manage_users, api_access, export_data, transfer_records, view_all_data, "
                                 "modify_all_data, view_encrypted_data)"),
        ("objects.account.1", "'write' is not an object action (expected one of: create, read, edit, delete, "
                              "view_all, modify_all)"),
        ("fields.account.x.0", "'delete' is not a field action (expected one of: read, edit)"),
    ]
    assert errors("permission_set_group", "name: ops\npermission_sets: []\n") == [
        ("permission_sets", "must not be empty")]
    assert errors("role", "name: sales_manager\nlabel: Sales Manager\nparent: vp_sales\n") == []
    assert errors("sharing_rule", """
        name: big_deals
        object: opportunity
        access: read
        criteria: "amount >= 1000000"
        share_with: {role: vp_sales, include_subordinates: true}
    """) == []
    assert errors("sharing_rule", """
        name: r
        object: opportunity
        access: write
        criteria: "amount > 0"
        owned_by: {group: g}
        share_with: {role: a, group: b}
    """) == [
        ("access", "'write' is not a sharing access (expected one of: read, read_write)"),
        ("owned_by", "a sharing rule shares by criteria or by owner, not both"),
        ("share_with.group", "give a role or a group, not both"),
    ]
    assert errors("sharing_rule", "name: r\nobject: o\nshare_with: {}\n") == [
        ("share_with.group", "required when there is no role (give a role or a group)"),
        ("owned_by", "required when there is no criteria (share by criteria or by owner)"),
    ]


def test_message_format():
    (error,) = validate_document("object", {"name": "opportunity", "fields": {"amount": {"type": "curency"}}},
                                 "apps/sales/objects/opportunity.yaml")
    assert str(error).startswith("apps/sales/objects/opportunity.yaml: fields.amount.type: 'curency' is not a field type")


def test_minimal_documents_of_every_kind_are_valid():
    assert errors("package", "name: p\nlabel: P\nversion: 0.1.0\n") == []
    assert errors("object", "name: thing\nfields: {name: {type: text}}\n") == []
    assert errors("object_extension", "extends: thing\n") == []
    assert errors("layout", "name: thing\nobject: thing\nsections: [{fields: [name]}]\n") == []
    assert errors("list_view", "name: things\nobject: thing\ncolumns: [name]\n") == []
    assert errors("app", "name: things\ntabs: [thing]\n") == []


def test_field_history_settings():
    from tessera.meta.model import ObjectDef
    doc = yaml.safe_load(textwrap.dedent("""
        name: ticket
        track_history: true
        fields:
          subject: {type: text}
          body: {type: textarea, track_history: false}
          number: {type: autonumber, format: "T-{000}"}
          total: {type: formula, returns: number, expression: "1 + 1"}
    """))
    assert validate_document("object", doc, "t.yaml") == []
    assert ObjectDef.from_doc(doc, package=None, source="t.yaml").history_fields == ("owner", "subject")
    doc["track_history"] = False
    doc["fields"]["body"]["track_history"] = True   # a field may opt in on its own
    assert ObjectDef.from_doc(doc, package=None, source="t.yaml").history_fields == ("body",)
    assert errors("object", """
        name: ticket
        fields:
          total: {type: formula, returns: number, expression: "1 + 1", track_history: true}
    """) == [("fields.total.track_history", "does not apply to formula fields (they are computed)")]
