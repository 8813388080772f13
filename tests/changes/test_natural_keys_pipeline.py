"""Natural keys through the change pipeline: `external_id` adds (and drops) a unique index after a
data check that names the duplicates; only text and email fields may be external ids; autonumber
formats take date tokens, checked at load. Both databases."""
from __future__ import annotations

import pytest

from tessera.changes import ChangeRefused
from tessera.meta.errors import MetadataInvalid

from changes_helpers import ACCOUNT, CONTACT, USER, objects

EXTERNAL = {"type": "text", "max_length": 40, "external_id": True}


def base(**changes):
    return objects(USER, ACCOUNT, CONTACT, **changes)


def test_external_id_refused_on_duplicates_naming_them_then_added_and_dropped(env):
    env.install(base())
    ids = env.insert("account", {"name": "A", "code": "A-17"}, {"name": "B", "code": "A-17"},
                     {"name": "C", "code": "C-1"}, {"name": "D", "code": None}, {"name": "E", "code": None})
    with pytest.raises(ChangeRefused) as info:
        env.install(base(account={"code": EXTERNAL}))
    reason = info.value.reasons[0]
    assert reason.startswith("alter field account.code")
    assert "2 rows: duplicate value" in reason and '"A-17"' in reason
    assert str(ids[0]) in reason or str(ids[1]) in reason   # the records are named, in full
    assert "uq_obj_account_code" not in env.indexes("obj_account")
    assert env.svc.active_number() == 1

    table = env.tables()["account"]
    with env.engine.begin() as conn:
        conn.execute(table.update().where(table.c.name == "B").values(code="B-2"))
    result = env.install(base(account={"code": EXTERNAL}))   # blanks (NULL) may repeat
    assert result.version.number == 2
    assert env.indexes("obj_account")["uq_obj_account_code"] is True

    dropped = env.install(base())
    assert any("unique" in op.describe() for op in dropped.plan)
    assert "uq_obj_account_code" not in env.indexes("obj_account")


@pytest.mark.parametrize("field", [{"type": "integer", "external_id": True},
                                   {"type": "textarea", "external_id": True},
                                   {"type": "autonumber", "format": "A-{000}", "external_id": True}])
def test_external_id_only_on_text_and_email(env, field):
    with pytest.raises(MetadataInvalid) as info:
        env.install(base(account={"ref": field}))
    errors = [e for e in info.value.errors if e.path.startswith("fields.ref")]
    assert errors and "external ids are text or email fields" in str(errors[0])
    assert f"(not {field['type']})" in str(errors[0])


def test_email_external_id_accepted(env):
    env.install(base(account={"mail": {"type": "email", "external_id": True}}))
    assert env.indexes("obj_account")["uq_obj_account_mail"] is True


@pytest.mark.parametrize("fmt, message", [
    ("L-{YYYY}-{Q}-{000}", "{Q} is not an autonumber token"),
    ("L-{yyyy}-{000}", "{yyyy} is not an autonumber token"),
    ("L-{YYYY}", "needs exactly one {0"),
    ("L-{00}-{000}", "needs exactly one {0"),
])
def test_autonumber_formats_checked_at_load_naming_the_field(env, fmt, message):
    with pytest.raises(MetadataInvalid) as info:
        env.install(base(account={"number": {"type": "autonumber", "format": fmt}}))
    assert any(e.path == "fields.number.format" and message in str(e) for e in info.value.errors), \
        [str(e) for e in info.value.errors]


def test_autonumber_added_to_existing_rows_takes_their_creation_dates(env):
    env.install(base())
    env.insert("account", {"name": "A"}, {"name": "B"})   # created 2024-01-01 (changes_helpers)
    env.install(base(account={"number": {"type": "autonumber", "format": "L-{YYYY}{MM}{DD}-{YY}-{000}"}}))
    assert [r["number"] for r in env.rows("account", "number")] == ["L-20240101-24-001", "L-20240101-24-002"]
