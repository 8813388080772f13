"""Security metadata: the stock profiles, roles, sharing settings and rules, and the semantic checks
(tessera.meta.validate_security) that refuse bad security documents with precise messages."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest
import yaml

from tessera.meta.errors import MetadataInvalid
from tessera.meta.merge import build_metadata
from tessera.meta.source import load_package

ROOT = Path(__file__).resolve().parents[2]
CORE, SALES, MARKETING, SERVICE = (ROOT / "metadata" / "core", ROOT / "apps" / "sales",
                                   ROOT / "apps" / "marketing", ROOT / "apps" / "service")


@lru_cache(maxsize=None)
def stock_sources() -> tuple:
    return tuple(load_package(p) for p in (CORE, SALES, MARKETING, SERVICE))


@lru_cache(maxsize=None)
def stock():
    return build_metadata({"packages": list(stock_sources()), "org": None})


# --------------------------------------------------------------------------- the stock packages

def test_stock_packages_validate_together():
    md = stock()
    assert md.profiles and md.permission_sets and md.permission_set_groups and md.roles and md.sharing_rules


def test_role_tree():
    md = stock()
    assert {name: comp.get("parent") for name, comp in md.roles.items()} == {
        "ceo": None,
        "vp_sales": "ceo", "sales_manager": "vp_sales", "sales_rep": "sales_manager",
        "vp_marketing": "ceo", "marketing_manager": "vp_marketing",
        "vp_service": "ceo", "service_manager": "vp_service", "service_agent": "service_manager",
    }
    assert md.roles["ceo"].package == "core"
    assert {md.roles[r].package for r in ("vp_sales", "sales_manager", "sales_rep")} == {"sales"}


PROFILES = {"system_administrator": "core", "sales_rep": "sales", "sales_manager": "sales",
            "marketing_user": "marketing", "service_agent": "service", "service_manager": "service",
            "read_only": "service"}


@pytest.mark.parametrize("name,package", sorted(PROFILES.items()))
def test_stock_profile(name, package):
    md = stock()
    profile = md.profiles[name]
    assert profile.package == package
    assert "api_access" in profile.get("system_permissions", ())


def test_system_administrator_has_every_system_permission():
    assert set(stock().profiles["system_administrator"]["system_permissions"]) == {
        "customize_metadata", "manage_users", "api_access", "export_data", "transfer_records",
        "view_all_data", "modify_all_data", "view_encrypted_data"}


def test_read_only_reads_every_business_object_and_changes_nothing():
    md = stock()
    rights = md.profiles["read_only"]["objects"]
    # not business objects: permission assignments (admins), saved list views and saved reports (the UI's own, per user)
    assert set(rights) == set(md.objects) - {"permission_set_assignment", "list_view_preference", "user_report"}
    assert all(actions == ["read"] for actions in rights.values())
    assert md.profiles["read_only"]["system_permissions"] == ["api_access"]   # sharing still applies


def test_only_administrators_bypass_sharing_or_manage_access():
    md = stock()
    powerful = {"view_all_data", "modify_all_data", "manage_users", "customize_metadata"}
    for name, comp in [*md.profiles.items(), *md.permission_sets.items()]:
        if name != "system_administrator":
            assert not powerful & set(comp.get("system_permissions", ())), name
            assert "permission_set_assignment" not in (comp.get("objects") or {}), name
            assert (comp.get("objects") or {}).get("user", ["read"]) == ["read"], name   # nobody else edits users


def test_field_level_restrictions():
    md = stock()
    assert md.profiles["sales_rep"]["fields"]["opportunity"]["probability"] == ["read"]
    assert md.profiles["sales_rep"]["fields"]["quote"]["discount"] == ["read"]
    assert "quote" not in (md.profiles["sales_manager"].get("fields") or {})   # managers set discounts
    assert md.profiles["marketing_user"]["fields"]["contact"]["birthdate"] == []
    assert md.profiles["service_agent"]["fields"]["case"]["sla_due_at"] == ["read"]


def test_permission_sets_and_groups():
    md = stock()
    assert md.permission_sets["export_data"]["system_permissions"] == ["export_data"]
    assert set(md.permission_sets["price_book_manager"]["objects"]) == {"product", "price_book", "price_book_entry"}
    assert "create" in md.permission_sets["knowledge_author"]["objects"]["knowledge_article"]
    assert "campaign" in md.permission_sets["campaign_manager"]["objects"]
    assert md.permission_set_groups["sales_operations"]["permission_sets"] == ["price_book_manager", "export_data"]


OWD = {
    "account": "private", "contact": "private", "lead": "private", "opportunity": "private", "case": "private",
    "quote": "private", "task": "private", "event": "private", "note": "private", "file": "private",
    "campaign": "read", "product": "read", "price_book": "read", "user": "read", "group": "read", "queue": "read",
    "knowledge_article": "read", "email_template": "read", "segment": "read", "entitlement": "read",
    "opportunity_line_item": "controlled_by_parent", "quote_line_item": "controlled_by_parent",
    "price_book_entry": "controlled_by_parent", "campaign_member": "controlled_by_parent",
    "case_comment": "controlled_by_parent", "group_member": "controlled_by_parent",
    "queue_member": "controlled_by_parent", "permission_set_assignment": "controlled_by_parent",
    "list_view_preference": "private", "user_report": "private",
}


def test_org_wide_defaults():
    md = stock()
    assert {name: obj.sharing_model for name, obj in md.objects.items()} == OWD
    for name, model in OWD.items():
        if model == "controlled_by_parent":
            assert md.master_of(md.objects[name]) is not None, name


def test_stock_sharing_rules():
    rules = stock().sharing_rules
    assert any(r.get("criteria") for r in rules.values())
    assert any(r.get("owned_by") for r in rules.values())
    urgent = rules["urgent_cases_to_service_team"]
    assert (urgent["object"], urgent["access"]) == ("case", "read_write")
    accounts = rules["sales_accounts_to_marketing"]
    assert accounts["owned_by"] == {"role": "vp_sales", "include_subordinates": True}
    assert accounts["share_with"] == {"role": "marketing_manager", "include_subordinates": True}


def test_permission_set_assignment_object():
    obj = stock().objects["permission_set_assignment"]
    assert obj.package == "core"
    assert obj.fields["user"].target == "user" and obj.fields["user"].required
    assert obj.fields["permission_set"].type == "text" and obj.fields["permission_set"].required
    assert obj.fields["kind"].picklist_values == ["permission_set", "permission_set_group"]
    assert obj.fields["kind"].default == "permission_set"


# --------------------------------------------------------------------------- bad documents

def problems(tmp_path, files: dict[str, dict], *, objects: dict | None = None) -> list[tuple[str, str, str]]:
    """Install core + sales + a package `extra` with the given files; the semantic errors as
    (file relative to the package, path, message)."""
    root = tmp_path / "extra"
    manifest = {"name": "extra", "label": "Extra", "version": "1.0.0",
                "dependencies": {"core": ">=1.0,<2", "sales": ">=1.0,<2"}}
    all_files = {"package.yaml": manifest, **{f"objects/{n}.yaml": d for n, d in (objects or {}).items()}, **files}
    for rel, doc in all_files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(yaml.safe_dump(doc, sort_keys=False))
    packages = [*stock_sources()[:2], load_package(root)]
    with pytest.raises(MetadataInvalid) as info:
        build_metadata({"packages": packages, "org": None})
    return [(e.source.replace("\\", "/").rsplit("extra/", 1)[-1], e.path, e.message) for e in info.value.errors]


def test_profile_naming_an_unknown_object(tmp_path):
    assert problems(tmp_path, {"profiles/p.yaml": {
        "name": "p", "objects": {"account": ["read"], "acount": ["read"]}}}) == [
        ("profiles/p.yaml", "objects.acount", "there is no object 'acount'")]


def test_profile_naming_an_unknown_field(tmp_path):
    assert problems(tmp_path, {"profiles/p.yaml": {
        "name": "p", "objects": {"account": ["read", "edit"]},
        "fields": {"account": {"annual_revenue": ["read"], "credit_score": []}}}}) == [
        ("profiles/p.yaml", "fields.account.credit_score", "'account' has no field 'credit_score'")]


def test_permission_set_field_rights(tmp_path):
    assert problems(tmp_path, {"permission_sets/ps.yaml": {
        "name": "ps", "objects": {"opportunity": ["read", "edit"]},
        "fields": {"opportunity": {"expected_revenue": ["read", "edit"]}, "lead": {"rating": ["read"]},
                   "ghost": {"x": []}}}}) == [
        ("permission_sets/ps.yaml", "fields.opportunity.expected_revenue",
         "'opportunity.expected_revenue' is a formula field: it can only be read"),
        ("permission_sets/ps.yaml", "fields.lead",
         "has no effect: this permission set grants nothing on 'lead' (list it under objects)"),
        ("permission_sets/ps.yaml", "fields.ghost", "there is no object 'ghost'"),
    ]


def test_unknown_permission_set_in_a_group(tmp_path):
    assert problems(tmp_path, {"permission_set_groups/g.yaml": {
        "name": "g", "permission_sets": ["price_book_manager", "price_books"]}}) == [
        ("permission_set_groups/g.yaml", "permission_sets.1", "there is no permission set 'price_books'")]


def test_role_cycle(tmp_path):
    assert problems(tmp_path, {
        "roles/r_a.yaml": {"name": "r_a", "parent": "r_c"},
        "roles/r_b.yaml": {"name": "r_b", "parent": "r_a"},
        "roles/r_c.yaml": {"name": "r_c", "parent": "r_b"},
        "roles/r_d.yaml": {"name": "r_d", "parent": "r_a"},     # hangs off the cycle: not a second report
    }) == [("roles/r_a.yaml", "parent", "role hierarchy cycle: r_a -> r_c -> r_b -> r_a")]


def test_role_parent_must_exist_and_not_be_itself(tmp_path):
    assert sorted(problems(tmp_path, {
        "roles/r_a.yaml": {"name": "r_a", "parent": "r_missing"},
        "roles/r_b.yaml": {"name": "r_b", "parent": "r_b"},
    })) == [("roles/r_a.yaml", "parent", "there is no role 'r_missing'"),
             ("roles/r_b.yaml", "parent", "role 'r_b' cannot be its own parent")]


def test_sharing_rule_criteria_through_a_lookup(tmp_path):
    assert problems(tmp_path, {"sharing_rules/s.yaml": {
        "name": "s", "object": "opportunity", "access": "read",
        "criteria": "account.industry == 'Banking' and amount > 0", "share_with": {"role": "ceo"}}}) == [
        ("sharing_rules/s.yaml", "criteria",
         "'account.industry' goes through a lookup: sharing-rule criteria can use only the fields of 'opportunity' itself")]


def test_sharing_rule_criteria_on_a_formula(tmp_path):
    assert problems(tmp_path, {"sharing_rules/s.yaml": {
        "name": "s", "object": "opportunity", "criteria": "not is_closed", "share_with": {"role": "ceo"}}}) == [
        ("sharing_rules/s.yaml", "criteria",
         "'is_closed' is a formula field: sharing-rule criteria can use only stored fields")]


def test_sharing_rule_criteria_must_compile_to_a_boolean(tmp_path):
    (found,) = problems(tmp_path, {"sharing_rules/s.yaml": {
        "name": "s", "object": "opportunity", "criteria": "amount + 1", "share_with": {"role": "ceo"}}})
    assert found[:2] == ("sharing_rules/s.yaml", "criteria") and "boolean" in found[2]
    (found,) = problems(tmp_path, {"sharing_rules/s.yaml": {
        "name": "s", "object": "opportunity", "criteria": "amout > 5", "share_with": {"role": "ceo"}}})
    assert found[:2] == ("sharing_rules/s.yaml", "criteria") and "amout" in found[2]


def test_sharing_rule_references(tmp_path):
    assert problems(tmp_path, {
        "sharing_rules/s1.yaml": {"name": "s1", "object": "widget", "criteria": "True", "share_with": {"role": "ceo"}},
        "sharing_rules/s2.yaml": {"name": "s2", "object": "account", "owned_by": {"role": "vp_nowhere"},
                                  "share_with": {"role": "sales_boss", "include_subordinates": True}},
        "sharing_rules/s3.yaml": {"name": "s3", "object": "account", "owned_by": {"group": "no such group"},
                                  "share_with": {"group": "Anyone"}},       # groups are data: not checked
    }) == [
        ("sharing_rules/s1.yaml", "object", "there is no object 'widget'"),
        ("sharing_rules/s2.yaml", "owned_by.role", "there is no role 'vp_nowhere'"),
        ("sharing_rules/s2.yaml", "share_with.role", "there is no role 'sales_boss'"),
    ]


def test_sharing_rule_on_an_object_that_is_not_private(tmp_path):
    shared = {"name": "widget", "sharing_model": "read_write", "fields": {"name": {"type": "text"}}}
    readable = {"name": "gadget", "sharing_model": "read", "fields": {"name": {"type": "text"}}}
    child = {"name": "part", "sharing_model": "controlled_by_parent",
             "fields": {"gadget": {"type": "master_detail", "to": "gadget"}}}
    found = problems(tmp_path, {
        "sharing_rules/s1.yaml": {"name": "s1", "object": "widget", "criteria": "True", "share_with": {"role": "ceo"}},
        "sharing_rules/s2.yaml": {"name": "s2", "object": "gadget", "access": "read", "criteria": "True",
                                  "share_with": {"role": "ceo"}},
        "sharing_rules/s3.yaml": {"name": "s3", "object": "gadget", "access": "read_write", "criteria": "True",
                                  "share_with": {"role": "ceo"}},          # fine: read_write widens a read OWD
        "sharing_rules/s4.yaml": {"name": "s4", "object": "part", "access": "read_write", "criteria": "True",
                                  "share_with": {"role": "ceo"}},
    }, objects={"widget": shared, "gadget": readable, "part": child})
    assert found == [
        ("sharing_rules/s1.yaml", "object",
         "'widget' is read_write: everyone already reads and edits every record, so the rule would share nothing"),
        ("sharing_rules/s2.yaml", "access",
         "'gadget' is read: everyone already reads every record, so a rule on it must grant read_write"),
        ("sharing_rules/s4.yaml", "object",
         "'part' is controlled_by_parent: its records follow their master 'gadget'; share the master instead"),
    ]


def test_controlled_by_parent_needs_a_master_detail_field(tmp_path):
    assert problems(tmp_path, {}, objects={"line": {
        "name": "line", "sharing_model": "controlled_by_parent",
        "fields": {"opportunity": {"type": "lookup", "to": "opportunity"}}}}) == [
        ("objects/line.yaml", "sharing_model",
         "'line' has no master_detail field: only a master-detail child can be controlled_by_parent")]


def test_schema_errors_come_first(tmp_path):
    """A document with a shape problem is refused by its JSON Schema before any semantic check."""
    root = tmp_path / "extra"
    (root / "roles").mkdir(parents=True)
    (root / "package.yaml").write_text("name: extra\nlabel: Extra\nversion: 1.0.0\n")
    (root / "roles" / "r.yaml").write_text("name: r\nparent: Not A Role\n")
    with pytest.raises(MetadataInvalid) as info:
        load_package(root)
    (error,) = info.value.errors
    assert error.path == "parent" and "is not a valid name" in error.message
