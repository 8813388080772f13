"""The change pipeline end to end, on SQLite (always) and PostgreSQL (TESSERA_TEST_DATABASE_URL)."""
from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest

from tessera.changes import ChangeFailed, ChangeRefused, plan
from tessera.changes.alter_field import AlterField
from tessera.changes.operations import AddField
from tessera.meta.errors import MetadataInvalid

from changes_helpers import ACCOUNT, CONTACT, USER, objects


def base(**changes):
    return objects(USER, ACCOUNT, CONTACT, **changes)


def lines(result_or_plan):
    p = getattr(result_or_plan, "plan", result_or_plan)
    return [op.describe() for op in p]


# --------------------------------------------------------------------------- install & versions

def test_install_creates_tables_and_version(env):
    result = env.install(base())
    assert result.version.number == 1 and result.version.parent is None
    assert result.version.source == "package" and result.version.author == "tester"
    assert {"obj_user", "obj_account", "obj_contact"} <= env.table_names()
    assert "install package crm 1.0.0" in lines(result)
    assert "create object account (3 stored fields)" in lines(result)
    # referenced objects are created first
    order = [d for d in lines(result) if d.startswith("create object")]
    assert order.index("create object account (3 stored fields)") < order.index("create object contact (3 stored fields)")
    assert env.svc.active_number() == 1
    active = env.svc.active()
    assert active.snapshot["packages"][0]["manifest"]["name"] == "crm"
    assert active.content_hash == result.version.content_hash and len(active.content_hash) == 64
    assert env.indexes("obj_user")["uq_obj_user_username"] is True
    assert "ix_obj_contact_account" in env.indexes("obj_contact")


def _forget_platform_schema(conn):
    """The database was brought up to date by older code: the platform schema it records is not
    this code's (storage/platform_schema.py), so the next start checks every table."""
    from sqlalchemy import delete

    from tessera.storage.platform_schema import FINGERPRINT_KEY
    from tessera.storage.platform_tables import settings
    conn.execute(delete(settings).where(settings.c.key == FINGERPRINT_KEY))


def test_a_start_records_the_platform_schema_it_brought_the_database_up_to(env):
    from sqlalchemy import select

    from tessera.changes import ChangeService
    from tessera.storage.platform_schema import FINGERPRINT_KEY, schema_fingerprint
    from tessera.storage.platform_tables import settings
    ChangeService(env.engine)
    with env.engine.connect() as conn:
        stored = conn.execute(select(settings.c.value).where(settings.c.key == FINGERPRINT_KEY)).scalar_one()
    assert stored == schema_fingerprint(env.engine.dialect.name)
    assert schema_fingerprint("sqlite") != schema_fingerprint("postgresql")


def test_platform_indexes_added_since_a_database_was_created_appear_at_startup(env):
    from sqlalchemy import text

    from tessera.changes import ChangeService
    added = "ix_tessera_share_grants" if env.engine.dialect.name == "postgresql" else "ix_tessera_share_record"
    assert added in env.indexes("tessera_share")
    with env.engine.begin() as conn:               # a database from before the index existed
        conn.execute(text(f"DROP INDEX {added}"))
        _forget_platform_schema(conn)
    assert added not in env.indexes("tessera_share")
    ChangeService(env.engine)
    assert added in env.indexes("tessera_share")
    ChangeService(env.engine)                      # and nothing to do (nor fail) the next time
    assert added in env.indexes("tessera_share")
    if env.engine.dialect.name == "sqlite":        # PostgreSQL's index only (security/sharing.py)
        assert "ix_tessera_share_grants" not in env.indexes("tessera_share")


def test_an_older_share_table_gets_the_principal_column_and_loses_its_retired_index(env):
    """A database made before shares had a `principal` column (the sharing predicate then matched
    an expression index on PostgreSQL): opening it adds the column, computed for the shares it
    already holds, creates the new index and drops the retired one."""
    import uuid
    from datetime import datetime, timezone

    from sqlalchemy import Column, Index, MetaData, Table, insert, inspect, select, text

    from tessera.changes import ChangeService
    from tessera.storage.platform_tables import shares
    postgres = env.engine.dialect.name == "postgresql"
    old = MetaData()
    old_shares = Table("tessera_share", old, *[Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
                                                for c in shares.columns if c.name != "principal"])
    Index("ix_tessera_share_record", old_shares.c.object, old_shares.c.record_id)
    share_id = uuid.uuid4()
    with env.engine.begin() as conn:
        conn.execute(text("DROP TABLE tessera_share"))
        old.create_all(conn)
        if postgres:
            conn.execute(text("CREATE INDEX ix_tessera_share_principal ON tessera_share "
                              "(object, (grantee_type || ':' || grantee), access, record_id)"))
        conn.execute(insert(old_shares).values(id=share_id, object="account", record_id=uuid.uuid4(), grantee_type="role",
                                               grantee="sales_rep", access="read", created_at=datetime.now(timezone.utc)))
        _forget_platform_schema(conn)
    with env.engine.connect() as conn:
        assert "principal" not in {c["name"] for c in inspect(conn).get_columns("tessera_share")}

    ChangeService(env.engine)

    with env.engine.connect() as conn:
        assert conn.execute(select(shares.c.principal).where(shares.c.id == share_id)).scalar_one() == "role:sales_rep"
    indexes = env.indexes("tessera_share")
    assert "ix_tessera_share_principal" not in indexes
    assert ("ix_tessera_share_grants" in indexes) is postgres
    ChangeService(env.engine)                      # idempotent
    assert env.indexes("tessera_share") == indexes


def test_same_snapshot_is_no_change(env):
    env.install(base(), version="1.0.0")
    again = env.install(base(), version="1.0.0")   # the same release again
    assert again.version is None and not again.plan
    assert [v.number for v in env.svc.versions()] == [1]


def test_versions_listing_and_get(env):
    env.install(base())
    env.install(base(account={"region": {"type": "text"}}), version="1.1.0", message="add region")
    listed = env.svc.versions()
    assert [v.number for v in listed] == [2, 1]
    assert listed[0].snapshot is None and listed[0].active and not listed[1].active
    assert listed[0].parent == 1 and listed[0].message == "add region"
    v1 = env.svc.get(1)
    assert v1.snapshot["packages"][0]["manifest"]["version"] == "1.0.0"
    with pytest.raises(LookupError):
        env.svc.get(99)


def test_invalid_metadata_raises_and_changes_nothing(env):
    env.install(base())
    bad = base(contact={"account": {"type": "lookup", "to": "nowhere"}})
    with pytest.raises(MetadataInvalid) as info:
        env.install(bad)
    assert any("nowhere" in str(e) for e in info.value.errors)
    assert env.svc.active_number() == 1


def test_add_field_and_metadata_only_steps(env):
    env.install(base())
    env.insert("account", {"name": "Acme"})
    changed = base(account={"region": {"type": "picklist", "values": ["EMEA", "AMER"]},
                            "name": {"type": "text", "required": True, "max_length": 120, "label": "Account Name"},
                            "active": {"type": "boolean"}})
    result = env.install(changed, version="1.1.0")
    assert "upgrade package crm 1.0.0 → 1.1.0" in lines(result)
    assert "add field account.region (picklist)" in lines(result)
    assert "change field account.name: label" in lines(result)
    ops = {op.describe(): op for op in result.plan}
    assert ops["add field account.region (picklist)"].safety == "safe"
    assert ops["change field account.name: label"].safety == "safe"
    assert "region" in env.columns("obj_account")
    # a literal default (boolean: false) fills the existing rows
    assert env.rows("account", "name", "region", "active") == [{"name": "Acme", "region": None, "active": False}]


def test_add_required_field_without_default_on_rows_is_refused(env):
    env.install(base())
    env.insert("account", {"name": "Acme"}, {"name": "Globex"})
    with pytest.raises(ChangeRefused) as info:
        env.install(base(account={"tier": {"type": "text", "required": True}}))
    assert "2 rows: would be blank in a required field" in info.value.reasons[0]
    ok = env.install(base(account={"tier": {"type": "text", "required": True, "default": "gold"}}))
    assert ok.version.number == 2
    assert [r["tier"] for r in env.rows("account", "tier")] == ["gold", "gold"]


def test_add_field_fills_existing_rows_from_its_default_expression(env):
    """Existing rows get what a new record would: the default expression, computed in SQL from each
    row's stored fields (through lookups too), rounded and checked as a value of the field."""
    env.install(base())
    acme, globex = env.insert("account", {"name": "Acme", "code": "X-1"}, {"name": "Globex"})
    env.insert("contact", {"name": "Ann", "account": acme}, {"name": "Bob"})
    fields = {"slug": {"type": "text", "max_length": 60, "required": True,
                       "default_expression": "LOWER(name) + '-' + BLANKVALUE(code, 'none')"},
              "review_on": {"type": "date", "required": True, "default_expression": "ADD_DAYS(DATE(2024, 1, 1), 30)"},
              "budget": {"type": "currency", "default_expression": "LEN(name) * 0.1"}}
    preview = env.install(base(account=fields), check_only=True)
    assert "sets 2 existing rows from the default expression" in " ".join(
        note for impact in preview.impacts for note in impact.notes)
    assert env.svc.active_number() == 1 and "slug" not in env.columns("obj_account")
    env.install(base(account=fields))
    assert env.rows("account", "slug", "review_on", "budget") == [
        {"slug": "acme-X-1", "review_on": date(2024, 1, 31), "budget": Decimal("0.40")},
        {"slug": "globex-none", "review_on": date(2024, 1, 31), "budget": Decimal("0.60")}]
    env.install(base(account=fields, contact={"account_name": {"type": "text", "default_expression": "account.name"}}))
    assert [r["account_name"] for r in env.rows("contact", "account_name")] == ["Acme", None]


@pytest.mark.parametrize("field, reason", [
    ({"type": "text", "required": True, "default_expression": "code"},
     "1 row: would be blank in a required field (the default expression gives no value for them)"),
    ({"type": "text", "unique": True, "default_expression": "'same'"},
     "2 rows: would get the same value from the default expression in a unique field"),
    ({"type": "text", "max_length": 3, "default_expression": "name"},
     "2 rows: the default expression gives a value longer than 3 characters"),
    ({"type": "picklist", "values": ["Acme"], "default_expression": "name"},
     "1 row: the default expression gives a value not one of the picklist values"),
])
def test_add_field_refused_when_its_default_expression_gives_bad_values(env, field, reason):
    env.install(base())
    env.insert("account", {"name": "Acme", "code": "X-1"}, {"name": "Globex"})
    with pytest.raises(ChangeRefused) as info:
        env.install(base(account={"extra": field}))
    assert info.value.reasons[0].startswith(f"add field account.extra ({field['type']}): {reason}")
    assert env.svc.active_number() == 1 and "extra" not in env.columns("obj_account")


def test_a_required_field_whose_default_expression_reads_a_new_field_is_refused(env):
    env.install(base())
    env.insert("account", {"name": "Acme"})
    with pytest.raises(ChangeRefused) as info:
        env.install(base(account={"tier": {"type": "text"},
                                  "label2": {"type": "text", "required": True, "default_expression": "BLANKVALUE(tier, name)"}}))
    assert "its default expression reads a formula, a roll-up or a field added by this change" in info.value.reasons[0]


def test_rename_keeps_data(env):
    env.install(base())
    ids = env.insert("account", {"name": "Acme", "code": "A-1"})
    result = env.install(base(account={"code": None, "reference": {"type": "text", "max_length": 40, "renamed_from": "code"}}))
    assert "rename field account.code → reference" in lines(result)
    assert [op.safety for op in result.plan if "rename" in op.describe()] == ["safe"]
    cols = env.columns("obj_account")
    assert "reference" in cols and "code" not in cols
    assert env.rows("account", "id", "reference") == [{"id": ids[0], "reference": "A-1"}]


def test_rename_with_index_and_type_change(env):
    env.install(base(account={"code": {"type": "text", "max_length": 40, "unique": True}}))
    env.insert("account", {"name": "Acme", "code": "12"}, {"name": "Globex", "code": "7"})
    result = env.install(base(account={"code": None, "number": {"type": "integer", "unique": True, "renamed_from": "code"}}))
    described = lines(result)
    assert "rename field account.code → number" in described
    assert any(d.startswith("alter field account.number: type text → integer") for d in described)
    assert [r["number"] for r in env.rows("account", "number")] == [12, 7]
    ix = env.indexes("obj_account")
    assert ix.get("uq_obj_account_number") is True and "uq_obj_account_code" not in ix


# --------------------------------------------------------------------------- data-checked steps

def test_required_refused_with_counts_and_examples(env):
    env.install(base())
    ids = env.insert("account", {"name": "A", "code": None}, {"name": "B", "code": ""}, {"name": "C", "code": "x"})
    with pytest.raises(ChangeRefused) as info:
        env.install(base(account={"code": {"type": "text", "max_length": 40, "required": True}}))
    refused = info.value
    assert len(refused.reasons) == 1
    reason = refused.reasons[0]
    assert reason.startswith("alter field account.code: required: 2 rows: blank")
    # full ids (rows made in the same minute share an 8-character prefix) and values as written
    assert f"{ids[0]}: (blank)" in reason and f"{ids[1]}: (blank)" in reason and str(ids[2]) not in reason
    step = [i for op, i in zip(refused.plan, refused.impacts) if isinstance(op, AlterField)][0]
    assert step.failing == 2 and step.rows == 3
    assert env.svc.active_number() == 1


def test_unique_refused_on_duplicates_then_accepted(env):
    env.install(base())
    env.insert("account", {"name": "A", "code": "X"}, {"name": "B", "code": "X"}, {"name": "C", "code": "Y"},
               {"name": "D", "code": None}, {"name": "E", "code": None})
    target = base(account={"code": {"type": "text", "max_length": 40, "unique": True}})
    with pytest.raises(ChangeRefused) as info:
        env.install(target)
    assert "2 rows: duplicate value" in info.value.reasons[0]
    assert '"X"' in info.value.reasons[0]
    assert "uq_obj_account_code" not in env.indexes("obj_account")
    # fix the data, then it goes through (NULLs never collide)
    table = env.tables()["account"]
    with env.engine.begin() as conn:
        conn.execute(table.update().where(table.c.name == "B").values(code="Z"))
    assert env.install(target).version.number == 2
    assert env.indexes("obj_account")["uq_obj_account_code"] is True


def test_narrowing_length_refused(env):
    env.install(base())
    env.insert("account", {"name": "A", "code": "short"}, {"name": "B", "code": "much too long"})
    with pytest.raises(ChangeRefused) as info:
        env.install(base(account={"code": {"type": "text", "max_length": 8}}))
    assert "1 row: longer than 8 characters" in info.value.reasons[0]
    assert '"much too long"' in info.value.reasons[0]
    ok = env.install(base(account={"code": {"type": "text", "max_length": 20}}))
    assert ok.version is not None


def test_narrowing_precision_and_scale(env):
    env.install(base(account={"revenue": {"type": "number", "precision": 12, "scale": 3}}))
    env.insert("account", {"name": "A", "revenue": Decimal("1.5")}, {"name": "B", "revenue": Decimal("2.125")},
               {"name": "C", "revenue": Decimal("123456.5")})
    with pytest.raises(ChangeRefused) as info:
        env.install(base(account={"revenue": {"type": "number", "precision": 7, "scale": 2}}))
    text = "\n".join(info.value.reasons)
    assert "1 row: more than 2 decimal places" in text
    assert "1 row: more than 5 digits before the decimal point" in text
    with pytest.raises(ChangeRefused) as info:   # scale 1 would still round 2.125
        env.install(base(account={"revenue": {"type": "number", "precision": 9, "scale": 1}}))
    assert "1 row: more than 1 decimal places" in info.value.reasons[0]
    assert env.install(base(account={"revenue": {"type": "number", "precision": 10, "scale": 3}})).version is not None
    assert [r["revenue"] for r in env.rows("account", "revenue")] == [Decimal("1.5"), Decimal("2.125"), Decimal("123456.5")]


@pytest.mark.parametrize("old, new, bad, good, converted", [
    ({"type": "text"}, {"type": "integer"}, ["abc", "1.5"], ["42", " 7 ", None], [42, 7, None]),
    ({"type": "text"}, {"type": "date"}, ["2024-13-01", "tomorrow"], ["2024-01-05", "1999-12-31"],
     ["2024-01-05", "1999-12-31"]),
    ({"type": "number", "precision": 18, "scale": 2}, {"type": "integer"}, [Decimal("1.5")],
     [Decimal("3"), Decimal("-10.00")], [3, -10]),
    ({"type": "text"}, {"type": "picklist", "values": ["EMEA", "AMER"]}, ["APAC"], ["EMEA", "AMER"], ["EMEA", "AMER"]),
    ({"type": "integer"}, {"type": "text", "max_length": 3}, [12345], [42, 7], ["42", "7"]),
    ({"type": "text"}, {"type": "boolean"}, ["maybe"], ["yes", "false"], [True, False]),
])
def test_type_change_checked_then_converted(env, old, new, bad, good, converted):
    env.install(base(account={"value": old}))
    bad_ids = env.insert("account", *[{"name": f"bad{i}", "value": v} for i, v in enumerate(bad)])
    good_ids = env.insert("account", *[{"name": f"good{i}", "value": v} for i, v in enumerate(good)])
    target = base(account={"value": new})
    with pytest.raises(ChangeRefused) as info:
        env.install(target)
    text = "\n".join(info.value.reasons)
    assert f"{len(bad)} row" in text and str(bad_ids[0]) in text and "Decimal(" not in text
    shown = {str: f'"{bad[0]}"', Decimal: "1.5", int: str(bad[0])}[type(bad[0])]
    assert f"{bad_ids[0]}: {shown}" in text
    assert env.svc.active_number() == 1
    assert [r["value"] for r in env.rows("account", "value")][:len(bad)] == bad   # untouched
    # clean the data: the change goes through and the values are converted, not coerced
    table = env.tables()["account"]
    with env.engine.begin() as conn:
        conn.execute(table.delete().where(table.c.id.in_(bad_ids)))
    result = env.install(target)
    assert result.version.number == 2
    step = [op for op in result.plan if isinstance(op, AlterField)][0]
    assert step.safety == "data-checked"
    values = {r["id"]: r["value"] for r in env.rows("account", "id", "value")}
    got = [values[i] for i in good_ids]
    got = [v.isoformat() if hasattr(v, "isoformat") else v for v in got]
    assert got == converted


def test_picklist_narrowing_refused(env):
    env.install(base(account={"tier": {"type": "picklist", "values": ["gold", "silver", "bronze"]}}))
    env.insert("account", {"name": "A", "tier": "bronze"}, {"name": "B", "tier": "gold"})
    with pytest.raises(ChangeRefused) as info:
        env.install(base(account={"tier": {"type": "picklist", "values": ["gold", "silver"]}}))
    assert "1 row: not one of the picklist values" in info.value.reasons[0]
    # adding values is metadata only
    result = env.install(base(account={"tier": {"type": "picklist", "values": ["gold", "silver", "bronze", "iron"]}}))
    assert lines(result)[-1] == "change field account.tier: values"


def test_lookup_target_change_checked(env):
    env.install(base())
    acc = env.insert("account", {"name": "A"})
    env.insert("contact", {"name": "c1", "manager": acc[0]})
    with pytest.raises(ChangeRefused) as info:
        env.install(base(contact={"manager": {"type": "lookup", "to": "user"}}))
    assert "1 row: points to a record of account, not of user" in info.value.reasons[0]
    table = env.tables()["contact"]
    with env.engine.begin() as conn:
        conn.execute(table.update().values(manager=None))
    assert env.install(base(contact={"manager": {"type": "lookup", "to": "user"}})).version is not None
    user = env.insert("user", {"username": "bob"})
    env.insert("contact", {"name": "c2", "manager": user[0]})


# --------------------------------------------------------------------------- destructive steps

def test_drop_field_refused_without_flag(env):
    env.install(base())
    env.insert("account", {"name": "A", "code": "x"}, {"name": "B"})
    target = base(account={"code": None})
    with pytest.raises(ChangeRefused) as info:
        env.install(target)
    assert info.value.needs_allow_destructive
    assert "drop field account.code (text): destructive (would delete 1 value in 2 rows)" in info.value.reasons[0]
    assert "code" in env.columns("obj_account")
    result = env.install(target, allow_destructive=True)
    assert result.version.number == 2 and "code" not in env.columns("obj_account")
    assert [r["name"] for r in env.rows("account", "name")] == ["A", "B"]


def test_drop_object_and_lookup_field(env):
    env.install(base())
    acc = env.insert("account", {"name": "A"})
    env.insert("contact", {"name": "c", "account": acc[0]})
    target = objects(USER, CONTACT, contact={"account": None, "manager": None})
    with pytest.raises(ChangeRefused) as info:
        env.install(target)
    text = "\n".join(info.value.reasons)
    assert "drop object account: destructive (would delete 1 record)" in text
    assert "drop field contact.account (lookup)" in text
    env.install(target, allow_destructive=True)
    assert "obj_account" not in env.table_names()
    assert env.rows("contact", "name") == [{"name": "c"}]   # the child row was not cascaded away


# --------------------------------------------------------------------------- check-only, atomicity

def _schema_fingerprint(env):
    return {t: (sorted(env.columns(t)), sorted(env.indexes(t).items())) for t in sorted(env.table_names())}


def test_check_only_changes_nothing(env):
    env.install(base())
    env.insert("account", {"name": "A", "code": "42"})
    before = (_schema_fingerprint(env), env.rows("account"), [v.number for v in env.svc.versions()])
    target = base(account={"code": {"type": "integer"}, "region": {"type": "text"}, "notes": None})
    result = env.install(target, check_only=True, allow_destructive=True)
    assert result.check_only and result.version is None
    assert {"add field account.region (text)", "drop field account.notes (textarea)"} <= set(lines(result))
    assert (_schema_fingerprint(env), env.rows("account"), [v.number for v in env.svc.versions()]) == before
    assert env.svc.active_number() == 1


def test_failure_midway_leaves_everything_untouched(env, monkeypatch):
    env.install(base())
    acc = env.insert("account", {"name": "A", "code": "7"})
    env.insert("contact", {"name": "c", "account": acc[0]})
    before = (_schema_fingerprint(env), env.rows("account"), env.rows("contact"), [v.number for v in env.svc.versions()])
    original = AddField.apply

    def exploding(self, ops, ctx):
        if self.field.name == "zz_boom":
            raise RuntimeError("injected failure")
        return original(self, ops, ctx)

    monkeypatch.setattr(AddField, "apply", exploding)
    target = base(account={"code": {"type": "integer"}, "region": {"type": "text"}, "zz_boom": {"type": "text"}})
    target["lead"] = {"name": "lead", "fields": {"name": {"type": "text"}}}
    with pytest.raises(ChangeFailed, match="step 'add field account.zz_boom \\(text\\)' failed.*injected failure") as info:
        env.install(target)
    assert info.value.step.field.name == "zz_boom"
    after = (_schema_fingerprint(env), env.rows("account"), env.rows("contact"), [v.number for v in env.svc.versions()])
    assert after == before
    assert "obj_lead" not in env.table_names()
    assert env.svc.active_number() == 1
    if env.engine.dialect.name == "sqlite":   # foreign keys are back ON for the pooled connection
        with env.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_sqlite_batch_rewrite_keeps_children(env):
    """A type change rewrites the parent table (batch mode on SQLite): with foreign keys ON the
    DROP of the old table would cascade to the children. It must not."""
    parent = {"type": "lookup", "to": "account", "on_delete": "cascade"}
    env.install(base(account={"parent": parent}))
    acc = env.insert("account", {"name": "A", "code": "1"}, {"name": "B", "code": "2"})
    env.insert("account", {"name": "A1", "parent": acc[0]})
    env.insert("contact", {"name": "c1", "account": acc[0], "manager": acc[1]}, {"name": "c2", "account": acc[1]})
    result = env.install(base(account={"code": {"type": "integer"}, "name": {"type": "text", "max_length": 60},
                                       "parent": parent}))
    assert result.version is not None
    assert [r["parent"] for r in env.rows("account", "parent")] == [None, None, acc[0]]
    assert env.rows("contact", "name", "account", "manager") == [
        {"name": "c1", "account": acc[0], "manager": acc[1]}, {"name": "c2", "account": acc[1], "manager": None}]
    assert [r["code"] for r in env.rows("account", "code")] == [1, 2, None]
    # and foreign keys still work afterwards
    account = env.tables()["account"]
    with env.engine.begin() as conn:
        conn.execute(account.delete().where(account.c.id == acc[1]))
    assert [r["name"] for r in env.rows("contact", "name")] == ["c1"]


def test_on_delete_change_rebuilds_foreign_key(env):
    env.install(base())
    acc = env.insert("account", {"name": "A"})
    env.insert("contact", {"name": "c1", "account": acc[0]})
    result = env.install(base(contact={"account": {"type": "lookup", "to": "account", "on_delete": "set_null"}}))
    assert "alter field contact.account: on_delete cascade → set_null" in lines(result)
    assert [op.safety for op in result.plan if isinstance(op, AlterField)] == ["safe"]
    with env.engine.begin() as conn:
        conn.execute(env.tables()["account"].delete())
    assert env.rows("contact", "name", "account") == [{"name": "c1", "account": None}]


# --------------------------------------------------------------------------- rollback, diff, org

def test_rollback_restores_metadata_as_new_version(env):
    env.install(base())
    env.insert("account", {"name": "A", "code": "x"})
    env.install(base(account={"region": {"type": "text"}}), version="1.1.0")
    env.insert("account", {"name": "B", "region": "EMEA"})
    with pytest.raises(ChangeRefused):
        env.svc.rollback(1, author="tester")
    result = env.svc.rollback(1, author="tester", allow_destructive=True)
    assert result.version.number == 3 and result.version.source == "rollback" and result.version.parent == 2
    assert result.version.content_hash == env.svc.get(1).content_hash
    assert "downgrade" not in " ".join(lines(result))
    assert "region" not in env.columns("obj_account")
    assert env.rows("account", "name", "code") == [{"name": "A", "code": "x"}, {"name": "B", "code": None}]
    assert env.svc.rollback(3, author="tester").version is None   # already there


def test_rollback_of_a_rename_renames_back(env):
    env.install(base())
    env.insert("account", {"name": "A", "code": "x"})
    env.install(base(account={"code": None, "ref": {"type": "text", "max_length": 40, "renamed_from": "code"}}))
    result = env.svc.rollback(1, author="tester")   # no data loss: not destructive
    assert "rename field account.ref → code" in lines(result)
    assert env.rows("account", "code") == [{"code": "x"}]


def test_diff_between_versions(env):
    env.install(base())
    env.install(base(account={"region": {"type": "text"}}), version="1.1.0")
    assert lines(env.svc.diff(1)) == ["upgrade package crm 1.0.0 → 1.1.0", "add field account.region (text)"]
    assert lines(env.svc.diff(2, 1)) == ["upgrade package crm 1.1.0 → 1.0.0", "drop field account.region (text)"]
    assert [op.safety for op in env.svc.diff(2, 1)] == ["safe", "destructive"]


def test_org_layer_apply_export_roundtrip(env, tmp_path):
    env.install(base())
    ext = {"account": {"extends": "account", "label": "Customer",
                       "fields": {"region": {"type": "picklist", "values": ["EMEA", "AMER"]}}},
           "project": {"name": "project", "fields": {"title": {"type": "text"},
                                                     "account": {"type": "lookup", "to": "account"}}}}
    views = {"big_accounts": {"name": "big_accounts", "object": "account", "columns": ["name", "region"]}}
    result = env.apply_org(ext, list_views=views, message="customize")
    assert result.version.source == "cli"
    assert {"add field account.region (picklist)", "change object account: label, plural_label", "create object project (2 stored fields)",
            "add list view big_accounts"} <= set(lines(result))
    files = env.svc.export_org(tmp_path / "export")
    names = sorted(p.relative_to(tmp_path / "export").as_posix() for p in files)
    assert names == ["list_views/big_accounts.yaml", "objects/account.yaml", "objects/project.yaml", "packages.lock.yaml"]
    from tessera.meta.source import load_org
    again = env.svc.apply_org(load_org(tmp_path / "export"), author="tester")
    assert again.version is None    # exported == active: no change
    # the export mirrors the org layer: a component removed since is removed from the directory too
    env.apply_org({"account": ext["account"]}, message="drop project and view", allow_destructive=True)
    env.svc.export_org(tmp_path / "export")
    assert not (tmp_path / "export" / "objects" / "project.yaml").exists()
    assert not (tmp_path / "export" / "list_views" / "big_accounts.yaml").exists()
    assert env.svc.apply_org(load_org(tmp_path / "export"), author="tester").version is None


def test_security_components_are_steps_of_the_plan(env):
    env.install(base())
    boss = {"name": "boss", "label": "Boss"}
    result = env.apply_org(roles={"boss": boss, "deputy": {"name": "deputy", "label": "Deputy", "parent": "boss"}})
    assert {"add role boss", "add role deputy"} <= set(lines(result))
    result = env.apply_org(roles={"boss": {**boss, "label": "Chief"}}, allow_destructive=True)
    assert {"change role boss", "remove role deputy"} <= set(lines(result))
    assert "change role boss" in [op.describe() for op in env.svc.diff(result.version.number - 1)]


def test_org_given_as_data_is_schema_checked(env):
    env.install(base())
    bad = {"manifest": None, "components": {"objects": {"project": {
        "source": "objects/project.yaml", "doc": {"name": "project", "fields": {"title": {"type": "txt"}}}}}}}
    with pytest.raises(MetadataInvalid) as info:
        env.svc.apply_org(bad, author="tester")
    assert any(e.source == "objects/project.yaml" and e.path.startswith("fields.title") for e in info.value.errors)
    misnamed = {"manifest": None, "components": {"roles": {"boss": {"doc": {"name": "chief", "label": "Chief"}}}}}
    with pytest.raises(MetadataInvalid, match="must match the component name 'boss'"):
        env.svc.apply_org(misnamed, author="tester")
    assert env.svc.active_number() == 1


def test_autonumber_added_to_rows_is_filled(env):
    env.install(base())
    env.insert("account", {"name": "A"}, {"name": "B"}, {"name": "C"})
    result = env.install(base(account={"number": {"type": "autonumber", "format": "ACC-{0000}", "start": 10}}))
    assert result.version is not None
    assert [r["number"] for r in env.rows("account", "number")] == ["ACC-0010", "ACC-0011", "ACC-0012"]
    from sqlalchemy import select
    from tessera.storage.platform_tables import autonumbers
    with env.engine.connect() as conn:
        assert conn.execute(select(autonumbers.c.next_value)).scalar() == 13
    assert env.indexes("obj_account")["uq_obj_account_number"] is True


def test_on_activate_hooks(env):
    seen = []
    env.svc.on_activate.append(lambda v: seen.append(v.number))
    env.svc.on_activate.append(lambda v: 1 / 0)    # a failing hook does not undo the change
    env.install(base())
    env.install(base(), check_only=True)
    assert seen == [1] and env.svc.active_number() == 1


def test_plan_function_directly():
    from tessera.meta.merge import build_metadata
    from tessera.meta.source import empty_org

    def snap(objs):
        comps = {"objects": {n: {"source": f"{n}.yaml", "doc": d} for n, d in objs.items()},
                 "layouts": {}, "list_views": {}, "apps": {}}
        return {"packages": [{"manifest": {"name": "p", "label": "P", "version": "1.0.0"}, "components": comps}],
                "org": empty_org()}

    old = build_metadata(snap(base()))
    new = build_metadata(snap(base(account={"code": {"type": "text", "max_length": 10, "indexed": True}})))
    p = plan(old, new)
    assert p.lines() == ["[data-checked]  alter field account.code: max_length 40 → 10; indexed"]
    assert p.safety == "data-checked"
    assert str(plan(old, old)) == "no changes"


# --------------------------------------------------------------------------- relations & DDL shape

def _fks(env, table):
    from sqlalchemy import inspect
    with env.engine.connect() as conn:
        return sorted((fk["constrained_columns"][0], fk["referred_table"], (fk.get("options") or {}).get("ondelete"),
                       fk["name"] if env.engine.dialect.name != "sqlite" else None)
                      for fk in inspect(conn).get_foreign_keys(table))


def test_foreign_keys_follow_renames_and_changes(env):
    env.install(base())
    pg = env.engine.dialect.name != "sqlite"
    assert ("account", "obj_account", "CASCADE", "fk_obj_contact_account" if pg else None) in _fks(env, "obj_contact")
    env.install(base(contact={"account": None, "company": {"type": "lookup", "to": "account", "on_delete": "cascade",
                                                          "renamed_from": "account"}}))
    fks = _fks(env, "obj_contact")
    assert ("company", "obj_account", "CASCADE", "fk_obj_contact_company" if pg else None) in fks
    assert not any(fk[0] == "account" for fk in fks)
    assert "ix_obj_contact_company" in env.indexes("obj_contact")
    env.install(base(contact={"account": None, "company": {"type": "lookup", "to": "account", "on_delete": "restrict",
                                                          "renamed_from": "account"}}))
    fks = _fks(env, "obj_contact")
    assert [fk for fk in fks if fk[0] == "company"] == [("company", "obj_account", "RESTRICT",
                                                         "fk_obj_contact_company" if pg else None)]


def test_cyclic_and_self_references_and_dropping_them(env):
    env.install(base())
    cyc = base()
    cyc["team"] = {"name": "team", "fields": {"lead": {"type": "lookup", "to": "member"},
                                              "parent": {"type": "lookup", "to": "team"}}}
    cyc["member"] = {"name": "member", "fields": {"team": {"type": "lookup", "to": "team", "on_delete": "cascade"}}}
    result = env.install(cyc)
    assert {"create object member (1 stored field)", "create object team (2 stored fields)"} <= set(lines(result))
    assert [fk[:2] for fk in _fks(env, "obj_team") if fk[0] != "owner"] == [("lead", "obj_member"), ("parent", "obj_team")]
    assert [fk[:2] for fk in _fks(env, "obj_member") if fk[0] != "owner"] == [("team", "obj_team")]
    team = env.insert("team", {})
    env.insert("member", {"team": team[0]})
    result = env.install(base(), allow_destructive=True)
    assert "obj_team" not in env.table_names() and "obj_member" not in env.table_names()


def test_stored_field_becomes_formula_and_back(env):
    env.install(base(account={"score": {"type": "integer"}}))
    env.insert("account", {"name": "A", "score": 3})
    formula = base(account={"score": {"type": "formula", "returns": "text", "expression": "name"}})
    with pytest.raises(ChangeRefused) as info:
        env.install(formula)
    assert "drop field account.score (integer): destructive" in info.value.reasons[0]
    env.install(formula, allow_destructive=True)
    assert "score" not in env.columns("obj_account")
    result = env.install(base(account={"score": {"type": "integer"}}))
    assert "add field account.score (integer)" in lines(result) and "score" in env.columns("obj_account")


def test_more_conversions(env):
    env.install(base(account={"when": {"type": "text"}, "at": {"type": "text"}, "ref": {"type": "lookup", "to": "user"}}))
    user = env.insert("user", {"username": "u"})
    env.insert("account", {"name": "A", "when": "09:30", "at": "2024-05-01T10:00:00+02:00", "ref": user[0]})
    env.install(base(account={"when": {"type": "time"}, "at": {"type": "datetime"}, "ref": {"type": "text", "max_length": 40}}))
    row = env.rows("account", "when", "at", "ref")[0]
    assert row["when"].isoformat() == "09:30:00"
    assert row["at"].replace(tzinfo=None).isoformat() == "2024-05-01T08:00:00"
    assert row["ref"] == str(user[0])
    assert [fk for fk in _fks(env, "obj_account") if fk[0] == "ref"] == []


def test_fixture_uses_requested_database(engine):
    import os
    assert (engine.dialect.name == "postgresql") == bool(os.environ.get("TESSERA_TEST_DATABASE_URL"))


def test_rebuild_that_breaks_a_reference_is_refused(env, monkeypatch):
    """SQLite runs the steps with foreign keys OFF: PRAGMA foreign_key_check on the tables a step
    rebuilt, before COMMIT, catches a dangling reference (PostgreSQL refuses the write at once).
    Either way nothing is changed."""
    from sqlalchemy import event
    env.install(base())
    original = AlterField.apply

    def dangling(self, ops, ctx):   # the rebuild of obj_contact leaves a row pointing nowhere
        original(self, ops, ctx)
        from datetime import datetime, timezone
        from sqlalchemy import insert
        t = ctx.table("contact")
        now = datetime.now(timezone.utc)
        ctx.conn.execute(insert(t).values(id=uuid.uuid4(), created_at=now, updated_at=now, row_version=1,
                                          account=uuid.uuid4()))

    monkeypatch.setattr(AlterField, "apply", dangling)
    statements = []
    capture = lambda conn, cursor, statement, *args: statements.append(statement)  # noqa: E731
    event.listen(env.engine, "before_cursor_execute", capture)
    try:
        with pytest.raises(ChangeFailed) as info:
            env.install(base(contact={"account": {"type": "lookup", "to": "account", "on_delete": "set_null"}}))
    finally:
        event.remove(env.engine, "before_cursor_execute", capture)
    if env.engine.dialect.name == "sqlite":
        assert "would break 1 foreign key reference(s): obj_contact row" in str(info.value)
        assert [s for s in statements if "foreign_key_check" in s] == ['PRAGMA foreign_key_check("obj_contact")']
    assert env.rows("contact") == []
    assert env.svc.active_number() == 1


def test_adding_columns_never_rewrites_the_table(env):
    """ADD COLUMN (with an inline REFERENCES on SQLite) — no batch copy of the table."""
    from sqlalchemy import event
    env.install(base())
    env.insert("account", {"name": "A"})
    statements = []

    def capture(conn, cursor, statement, *args):
        statements.append(" ".join(statement.split()))

    event.listen(env.engine, "before_cursor_execute", capture)
    try:
        env.install(base(contact={"partner": {"type": "lookup", "to": "account"}, "note": {"type": "text"}}))
    finally:
        event.remove(env.engine, "before_cursor_execute", capture)
    ddl = [s for s in statements if s.startswith(("ALTER", "CREATE", "DROP", "INSERT INTO _alembic"))]
    assert not any("_alembic_tmp" in s for s in ddl)
    # nothing rebuilt, no lookup values written: no foreign key check (it would scan the data)
    assert not any("foreign_key_check" in s for s in statements)
    if env.engine.dialect.name == "sqlite":
        assert "ALTER TABLE obj_contact ADD COLUMN partner CHAR(32) REFERENCES obj_account (id) ON DELETE SET NULL" in ddl
    else:
        assert "ALTER TABLE obj_contact ADD COLUMN partner UUID" in ddl
        assert any(s.startswith("ALTER TABLE obj_contact ADD CONSTRAINT fk_obj_contact_partner FOREIGN KEY(partner)")
                   for s in ddl)
    assert "CREATE INDEX ix_obj_contact_partner ON obj_contact (partner)" in ddl
