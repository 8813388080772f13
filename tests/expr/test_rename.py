"""Renaming a field inside expression text (used by the setup UI's field rename)."""
from __future__ import annotations

import pytest

from tessera.expr.rename import rename_field_in


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
