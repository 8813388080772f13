"""Renaming a field inside expression text (used by the setup UI's field rename)."""
from __future__ import annotations

import pytest

from tessera.expr.rename import rename_field_in, rename_field_in_path


@pytest.mark.parametrize("text, expected", [
    ("ISBLANK(ref)", "ISBLANK(new_ref)"),
    ("ref.name == 'ref' and other.ref > 1", "new_ref.name == 'ref' and other.ref > 1"),   # strings, lookup targets kept
    ("PRIORVALUE(ref) != ref", "PRIORVALUE(new_ref) != new_ref"),
    ("ref\n  + reference", "new_ref\n  + reference"),                                     # whole names only, lines kept
    ("refs == 1", "refs == 1"),
    ("ref ==", "new_ref =="),
    ("'unclosed", "'unclosed"),                                                             # does not tokenize: unchanged
])
def test_rename_field_in(text, expected):
    assert rename_field_in(text, "ref", "new_ref") == expected


def _through(*lookups):
    """reaches(path): the path is exactly one of `lookups` (tuples of field names)."""
    return lambda path: path in lookups


@pytest.mark.parametrize("text, expected", [
    # `account` leads to the renamed field's object; `ref` of the own object is another field
    ("account.ref == ref", "account.new_ref == ref"),
    ("UPPER(account.ref) + account . ref", "UPPER(account.new_ref) + account . new_ref"),
    ("parent.account.ref > 1 or account.owner.ref", "parent.account.new_ref > 1 or account.owner.ref"),
    ("'x'.ref", "'x'.ref"),                                   # not a reference: left alone
    ("account.ref.name", "account.new_ref.name"),             # the renamed field is a lookup itself
])
def test_rename_field_in_follows_lookup_paths(text, expected):
    assert rename_field_in(text, "ref", "new_ref", _through(("account",), ("parent", "account"))) == expected


@pytest.mark.parametrize("path, expected", [
    ("account.ref", "account.new_ref"), ("-account.ref", "-account.new_ref"), ("ref", "ref"),
    ("account.name", "account.name"), ("parent.account.ref", "parent.account.new_ref"),
])
def test_rename_field_in_path(path, expected):
    assert rename_field_in_path(path, "ref", "new_ref", _through(("account",), ("parent", "account"))) == expected
