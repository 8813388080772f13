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
