"""The org's power over package components (issue 14, §2), through the change pipeline: validation
rules added to a package object, layouts patched by operations (so the package's later layout
changes still arrive), and a package extending the objects of a package it depends on."""
from __future__ import annotations

import copy

import pytest

from tessera.changes import ChangeRefused
from tessera.meta.errors import MetadataInvalid
from tessera.meta.merge import build_metadata

from changes_helpers import ACCOUNT, CONTACT, USER, objects

LAYOUT = {"name": "account", "object": "account", "label": "Account Layout", "sections": [
    {"label": "Main", "columns": 2, "fields": ["name", "code"]},
    {"label": "Notes", "columns": 1, "fields": ["notes"]}]}


def crm(env, *, version="1.0.0", layout=LAYOUT, account=ACCOUNT):
    return env.install(objects(USER, account, CONTACT), name="crm", version=version, layouts={"account": layout})


def org(env, objs=None, **kinds):
    return env.apply_org(objs or {}, **kinds)


def effective(env):
    return build_metadata(env.svc.active().snapshot)


def errors_of(info) -> list[str]:
    return [str(e) for e in info.value.errors]


# -- validation rules on a package object -----------------------------------------------------------

def test_the_org_adds_validation_rules_to_a_package_object(env):
    crm(env)
    org(env, {"account": {"extends": "account", "fields": {"region": {"type": "text"}}, "validation_rules": [
        {"name": "code_needs_region", "condition": "not ISBLANK(code) and ISBLANK(region)",
         "message": "A coded account needs a region.", "field": "region"}]}})
    rules = effective(env).objects["account"].validation_rules
    assert [r.name for r in rules] == ["code_needs_region"]
    # an upgrade of the package keeps them, as it keeps added fields
    grown = copy.deepcopy(ACCOUNT)
    grown["fields"]["tier"] = {"type": "text"}
    crm(env, version="1.1.0", account=grown)
    md = effective(env)
    assert [r.name for r in md.objects["account"].validation_rules] == ["code_needs_region"]
    assert {"tier", "region"} <= set(md.objects["account"].fields)


def test_a_rule_named_like_the_packages_own_is_refused(env):
    ruled = copy.deepcopy(ACCOUNT)
    ruled["validation_rules"] = [{"name": "named", "condition": "ISBLANK(name)", "message": "Name it."}]
    crm(env, account=ruled)
    with pytest.raises(MetadataInvalid) as info:
        org(env, {"account": {"extends": "account", "validation_rules": [
            {"name": "named", "condition": "ISBLANK(code)", "message": "Code it."}]}})
    assert any(e.endswith("validation_rules.0.name: 'account' already has a validation rule named 'named'")
               for e in errors_of(info)), errors_of(info)


def test_the_org_adds_a_list_view_to_a_package_object(env):
    crm(env)
    org(env, list_views={"coded": {"name": "coded", "object": "account", "label": "Coded", "columns": ["name", "code"],
                                   "filter": "not ISBLANK(code)"}})
    assert effective(env).list_views["coded"]["object"] == "account"


# -- layout patches ---------------------------------------------------------------------------------

PATCH = {"patches": "account", "hide_fields": ["notes"],
         "add_fields": [{"field": "region", "section": "Main", "after": "name"}],
         "add_sections": [{"label": "Regional", "columns": 1, "fields": ["tier"], "after": "Main"}],
         "add_related_lists": [{"object": "contact", "field": "account", "label": "People", "columns": ["name"]}]}


def test_a_patched_layout_keeps_the_packages_later_changes(env):
    crm(env)
    org(env, {"account": {"extends": "account", "fields": {"region": {"type": "text"}, "tier": {"type": "text"}}}},
        layouts={"account": PATCH})
    layout = effective(env).layouts["account"]
    assert layout.doc["sections"] == [{"label": "Main", "columns": 2, "fields": ["name", "region", "code"]},
                                      {"label": "Regional", "columns": 1, "fields": ["tier"]}]
    assert layout.doc["related_lists"] == [{"object": "contact", "field": "account", "label": "People",
                                           "columns": ["name"]}]
    assert layout.package == "crm" and layout.source.endswith("layouts/account.yaml")
    # the package's next version adds a field and a section to its layout: both arrive, the patch stays
    grown = copy.deepcopy(ACCOUNT)
    grown["fields"]["phone"] = {"type": "phone"}
    newer = copy.deepcopy(LAYOUT)
    newer["sections"][0]["fields"].append("phone")
    newer["sections"].append({"label": "System", "columns": 2, "fields": ["created_at"]})
    crm(env, version="1.1.0", account=grown, layout=newer)
    sections = effective(env).layouts["account"].doc["sections"]
    assert sections == [{"label": "Main", "columns": 2, "fields": ["name", "region", "code", "phone"]},
                        {"label": "Regional", "columns": 1, "fields": ["tier"]},
                        {"label": "System", "columns": 2, "fields": ["created_at"]}]


def test_a_patch_that_no_longer_fits_names_what_it_missed(env):
    crm(env)
    bad = {"patches": "account", "add_fields": [{"field": "code", "section": "Details"}],
           "hide_fields": ["nope"], "add_sections": [{"label": "X", "fields": ["notes"], "after": "Nowhere"}]}
    with pytest.raises(MetadataInvalid) as info:
        org(env, layouts={"account": bad})
    found = errors_of(info)
    assert any(e.endswith("layouts/account.yaml: hide_fields.0: layout 'account' does not show 'nope'") for e in found)
    assert any(e.endswith("add_fields.0.section: layout 'account' has no section 'Details' (its sections: 'Main', "
                          "'Notes')") for e in found), found
    assert any("add_sections.0.after: layout 'account' has no section 'Nowhere'" in e for e in found), found
    with pytest.raises(MetadataInvalid) as info:
        org(env, layouts={"nothing": {"patches": "nothing", "hide_fields": ["name"]}})
    assert any("patches: there is no layout 'nothing' to patch" in e for e in errors_of(info))


def test_a_package_patches_a_layout_of_a_package_it_depends_on(env):
    crm(env)
    extension = {"extends": "account", "fields": {"credit_limit": {"type": "currency"}}}
    patch = {"patches": "account", "add_fields": [{"field": "credit_limit", "section": "Main", "after": "name"}]}
    env.install({"account": extension}, name="addon", version="1.0.0", layouts={"account": patch},
                manifest_extra={"dependencies": {"crm": ">=1.0"}})
    layout = effective(env).layouts["account"]
    assert layout["sections"][0]["fields"] == ["name", "credit_limit", "code"]
    # the base package's later layout changes still arrive under the patch
    grown = copy.deepcopy(LAYOUT)
    grown["label"] = "Account Layout 2"
    crm(env, version="1.1.0", layout=grown)
    layout = effective(env).layouts["account"]
    assert layout["label"] == "Account Layout 2" and layout["sections"][0]["fields"] == ["name", "credit_limit", "code"]


def test_a_package_may_not_patch_a_layout_it_does_not_depend_on(env):
    crm(env)
    patch = {"patches": "account", "hide_fields": ["notes"]}
    with pytest.raises(MetadataInvalid) as info:
        env.install({}, name="stranger", version="1.0.0", layouts={"account": patch})
    assert any("a package may patch only layouts of the packages it depends on" in e for e in errors_of(info))


# -- a package extending a package it depends on ----------------------------------------------------

def addon(env, extension, *, depends=True, version="1.0.0"):
    manifest = {"dependencies": {"crm": ">=1.0"}} if depends else {}
    return env.install({"account": extension}, name="addon", version=version, manifest_extra=manifest)


def test_a_package_adds_fields_and_rules_to_an_object_of_its_dependency(env):
    crm(env)
    env.insert("account", {"name": "Acme"})
    addon(env, {"extends": "account", "fields": {"credit_limit": {"type": "currency"}}, "validation_rules": [
        {"name": "credit_not_negative", "condition": "credit_limit < 0", "message": "No negative credit."}]})
    md = effective(env)
    assert md.objects["account"].fields["credit_limit"].type == "currency"
    assert md.objects["account"].package == "crm"
    assert [r.name for r in md.objects["account"].validation_rules] == ["credit_not_negative"]
    assert "credit_limit" in env.columns("obj_account")
    # the org keeps extending it too, and an upgrade of the base package keeps the addon's field
    org(env, {"account": {"extends": "account", "fields": {"region": {"type": "text"}}}})
    grown = copy.deepcopy(ACCOUNT)
    grown["fields"]["tier"] = {"type": "text"}
    crm(env, version="1.1.0", account=grown)
    assert {"credit_limit", "region", "tier"} <= set(effective(env).objects["account"].fields)
    # uninstalling the addon takes its field (destructive: it may hold data)
    env.apply_org({}, allow_destructive=True)
    with pytest.raises(ChangeRefused):
        env.svc.uninstall_packages(["addon"], author="tester")
    env.svc.uninstall_packages(["addon"], author="tester", allow_destructive=True)
    assert "credit_limit" not in env.columns("obj_account")
    assert [r["name"] for r in env.rows("account")] == ["Acme"]


def test_a_package_may_not_extend_what_it_does_not_depend_on_or_change_it(env):
    crm(env)
    with pytest.raises(MetadataInvalid) as info:
        addon(env, {"extends": "account", "fields": {"x": {"type": "text"}}}, depends=False)
    assert any(e.endswith("extends: object 'account' belongs to package 'crm': a package may extend only objects of "
                          "the packages it depends on (add 'crm' to its dependencies)") for e in errors_of(info))
    with pytest.raises(MetadataInvalid) as info:
        addon(env, {"extends": "account", "label": "Client", "fields": {"code": {"type": "text"}}})
    found = errors_of(info)
    assert any("label: a package may add fields and validation rules to 'account', not change its 'label'" in e
               for e in found), found
    assert any("fields.code: 'account' already has a field 'code' (a package adds new fields only)" in e
               for e in found), found
