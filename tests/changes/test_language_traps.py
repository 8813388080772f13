"""Traps of the metadata language that used to pass validation and fail later (issue 14, §3)."""
from __future__ import annotations

import copy

import pytest

from tessera.meta.errors import MetadataInvalid

from changes_helpers import ACCOUNT, CONTACT, USER, objects


def refusal(env, objs) -> list[str]:
    with pytest.raises(MetadataInvalid) as info:
        env.install(objs)
    return [str(e) for e in info.value.errors]


@pytest.mark.parametrize("word", ["from", "class", "import", "not", "lambda"])
def test_a_field_named_with_a_reserved_word_is_refused(env, word):
    account = copy.deepcopy(ACCOUNT)
    account["fields"][word] = {"type": "text"}
    [error] = refusal(env, objects(USER, account))
    assert error.endswith(f"account.yaml: fields.{word}: '{word}' is a reserved word of the expression language and "
                          f"cannot name a field (reserved: and, as, assert, async, await, break, class, continue, def, "
                          f"del, elif, else, except, finally, for, from, global, if, import, in, is, lambda, nonlocal, "
                          f"not, or, pass, raise, return, try, while, with, yield); choose another name, e.g. "
                          f"'{word}_value'")
    assert env.svc.active_number() is None   # nothing applied


def test_an_object_named_with_a_reserved_word_is_refused(env):
    account = copy.deepcopy(ACCOUNT)
    account["name"] = "class"
    [error] = refusal(env, {"user": USER, "class": account})
    assert "class.yaml: name: 'class' is a reserved word of the expression language and cannot name an object" in error


def test_system_names_are_refused_with_the_reserved_list(env):
    account = copy.deepcopy(ACCOUNT)
    account["fields"]["created_at"] = {"type": "text"}
    errors = refusal(env, objects(USER, account))
    assert any("fields.created_at" in e and "id, owner, created_at, created_by, updated_at, updated_by, row_version" in e
               for e in errors), errors


def test_a_lookup_cannot_title_records(env):
    contact = copy.deepcopy(CONTACT)
    contact["name_field"] = "account"
    [error] = refusal(env, objects(USER, ACCOUNT, contact))
    assert error.endswith("contact.yaml: name_field: 'account' is a lookup: a record's title would be the id of "
                          "another record; choose a text, number, date or autonumber field (or a formula that reads "
                          "the name through the lookup, e.g. account.name)")


def test_a_lookup_compared_with_a_name_is_a_type_error_naming_the_field(env):
    contact = copy.deepcopy(CONTACT)
    contact["validation_rules"] = [{"name": "no_new", "condition": "account == 'New'", "message": "no"}]
    [error] = refusal(env, objects(USER, ACCOUNT, contact))
    assert "validation_rules.0.condition: 'account' is a record id and 'New' is not one" in error
    assert "account.name == 'New'" in error
    # comparing with a real id, or through the lookup, is fine
    contact["validation_rules"] = [
        {"name": "by_id", "condition": "account == '6f1c1a52-5d1e-4c43-9a0e-0d6b8f1b7c10'", "message": "no"},
        {"name": "by_name", "condition": "account.name == 'New'", "message": "no"}]
    assert env.install(objects(USER, ACCOUNT, contact)).version.number == 1


def test_a_rollup_of_a_field_it_cannot_summarize_lists_the_types_it_takes(env):
    account = copy.deepcopy(ACCOUNT)
    contact = copy.deepcopy(CONTACT)
    contact["fields"]["mail"] = {"type": "email"}
    account["fields"]["top_mail"] = {"type": "rollup", "object": "contact", "relationship": "account",
                                     "function": "max", "field": "mail"}
    account["fields"]["mail_sum"] = {"type": "rollup", "object": "contact", "relationship": "account",
                                     "function": "sum", "field": "mail"}
    errors = refusal(env, objects(USER, account, contact))
    assert any(e.endswith("fields.top_mail.field: max cannot summarize an email field ('contact.mail'); max takes "
                          "currency, date, datetime, duration, integer, number, percent fields (count takes any)") for e in errors), errors
    assert any(e.endswith("fields.mail_sum.field: sum cannot summarize an email field ('contact.mail'); sum takes "
                          "currency, duration, integer, number, percent fields (count takes any)") for e in errors), errors


def test_a_package_that_extends_an_object_is_told_it_must_depend_on_its_package(env):
    env.install(objects(USER, ACCOUNT))
    with pytest.raises(MetadataInvalid) as info:
        env.install({"account": {"extends": "account", "fields": {"tier": {"type": "text"}}}}, name="addon")
    [error] = [str(e) for e in info.value.errors]
    assert error.endswith("account.yaml: extends: object 'account' belongs to package 'crm': a package may extend "
                          "only objects of the packages it depends on (add 'crm' to its dependencies)")


def test_a_plan_counts_in_words(env):
    one = {"name": "tag", "fields": {"label": {"type": "text"}}}
    result = env.install(objects(USER, ACCOUNT, one))
    described = [op.describe() for op in result.plan]
    assert "create object tag (1 stored field)" in described and "create object account (3 stored fields)" in described
