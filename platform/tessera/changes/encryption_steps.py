"""EncryptField: a stored field's encryption is turned on or off, or its mode switches.

Every row's value is converted in the change's own transaction, so the table is never half
encrypted and a failure leaves it as it was. The conversion is the column types' own work: the
values are read through the table as it was (decrypting when the field was encrypted) and written
through the table as it becomes (encrypting when it will be) — the same TypeDecorator every
record read and write uses (tessera/encryption/column.py).

The column is TEXT while encrypted: on PostgreSQL the type follows (TEXT before ciphertext is
written; VARCHAR(max_length) only after the plaintext is back). SQLite does not enforce lengths,
so its column keeps its declared type and no table rewrite is needed.

The data check refuses what would not fit: a value that does not decrypt (its key is not
configured), a plaintext longer than max_length once decrypted, equal plaintexts when the field
is unique and becomes deterministic under another key's ciphertexts. Examples show lengths and
record ids, never the values: a plan is printed and logged.
"""
from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

from sqlalchemy import Text, and_, bindparam, select, type_coerce, update

from ..encryption.cipher import DecryptionError
from ..meta.model import FieldDef
from .operations import DATA_CHECKED, MAX_EXAMPLES, Context, Impact, Operation, Problem, _ddl_type, _replace_fields

BATCH = 1000


def with_encryption_of(field: FieldDef, source: FieldDef) -> FieldDef:
    """`field` encrypted as `source` is (the AlterField of the other properties runs between)."""
    options = {k: v for k, v in field.options.items() if k not in ("encrypted", "encryption")}
    options.update({k: source.options[k] for k in ("encrypted", "encryption") if k in source.options})
    return replace(field, options=MappingProxyType(options))


class EncryptField(Operation):
    safety = DATA_CHECKED

    def __init__(self, obj_name: str, old: FieldDef, new: FieldDef, column: str | None = None):
        self.obj_name, self.old, self.new = obj_name, old, new   # old.name == new.name (renames come first)
        self.column = column or old.name

    @property
    def verb(self) -> str:
        if not self.old.encrypted:
            return f"encrypt ({self.new.encryption_mode})"
        if not self.new.encrypted:
            return "decrypt"
        return f"re-encrypt ({self.old.encryption_mode} → {self.new.encryption_mode})"

    def describe(self) -> str:
        return f"{self.verb} the values of {self.obj_name}.{self.new.name}"

    @staticmethod
    def _stored(conn, table, column):
        """(id, stored text) of the non-blank values, as the database holds them."""
        raw = type_coerce(table.c[column], Text())
        return conn.execute(select(table.c.id, raw).where(and_(raw.isnot(None), raw != "")).order_by(table.c.id)).all()

    def check(self, conn, ctx: Context) -> Impact:
        table = ctx.old_table(self.obj_name)
        column_type = table.c[self.column].type
        limit = int(self.new.options.get("max_length") or 0) if not self.new.encrypted else 0
        problems: dict[str, Problem] = {}
        seen: dict[str, str] = {}
        unique = self.new.unique and self.new.encrypted

        def fail(reason, rid, shown):
            p = problems.setdefault(reason, Problem(reason, 0))
            p.count += 1
            if len(p.examples) < MAX_EXAMPLES:
                p.examples.append((str(rid), shown))

        stored = self._stored(conn, table, self.column)
        for rid, text in stored:
            try:
                value = column_type.process_result_value(text, conn.dialect) if self.old.encrypted else text
            except DecryptionError as exc:
                fail(f"does not decrypt ({exc})", rid, f"{len(text)} characters")
                continue
            if limit and len(value) > limit:
                fail(f"longer than max_length {limit} once decrypted", rid, f"{len(value)} characters")
            if unique and seen.setdefault(value, rid) != rid:
                fail("equal to another record's value, but the field is unique", rid, f"same as {seen[value]}")
        impact = Impact(rows=len(stored), problems=list(problems.values()))
        if stored and not problems:
            impact.notes.append(f"{self.verb.split(' ')[0]}s {len(stored):,} value{'s' if len(stored) != 1 else ''} "
                                f"of {self.obj_name}.{self.new.name}")
        return impact

    def apply(self, ops, ctx: Context) -> None:
        conn = ctx.conn
        obj = ctx.state[self.obj_name]
        before = ctx.table(self.obj_name)
        after = ctx.build_table(_replace_fields(obj, {**obj.fields, self.new.name: self.new}))
        name = self.new.name
        col = before.c[name]   # read through the old column type: decrypted when it was encrypted
        values = conn.execute(select(before.c.id, col).where(and_(col.isnot(None), col != ""))).all()
        retype = not ctx.sqlite and _ddl_type(self.old, conn.dialect) != _ddl_type(self.new, conn.dialect)
        if retype and self.new.encrypted:    # room for the ciphertext first
            ops.alter_column(before.name, name, type_=after.c[name].type.impl, existing_type=before.c[name].type,
                             existing_nullable=True)
        stmt = update(after).where(after.c.id == bindparam("b_id")).values({name: bindparam("b_value", type_=after.c[name].type)})
        for start in range(0, len(values), BATCH):
            conn.execute(stmt, [{"b_id": rid, "b_value": v} for rid, v in values[start:start + BATCH]])
        if retype and not self.new.encrypted:   # the plaintext is back: the column may narrow
            ops.alter_column(before.name, name, type_=after.c[name].type, existing_type=before.c[name].type.impl,
                             existing_nullable=True)

    def state_forwards(self, ctx: Context) -> None:
        obj = ctx.state[self.obj_name]
        ctx.set_object(_replace_fields(obj, {**obj.fields, self.new.name: self.new}))
