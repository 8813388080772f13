"""Running a conversion (meta/conversions.py): a record becomes others, in ONE transaction.

    preview(actor, object, id)        what each target would get (values mapped from the record)
                                      and the existing records the target object's duplicate
                                      rules match — to choose instead of creating a duplicate
    convert(actor, object, id, body)  for each target in order: use the chosen existing record,
                                      leave it out (when not required) or create it through the
                                      record service (mapped values, links to earlier targets, the
                                      user's own values on top); then move the record's related
                                      activities and attachments to `move_related_to`, point the
                                      `repoint` lookups at their target, and mark the record

Everything goes through the record service on one connection (`on_connection`): its checks,
duplicate rules, automation and history apply to every record written, and any refusal rolls
the whole conversion back. The converted record must be editable by the actor (marking it is an
update); the targets are created with the actor's rights.
"""
from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import delete, insert, select, update

from ..encryption.masking import PERMISSION as ENCRYPTED_PERMISSION, encrypted_paths, mask
from ..expr import compile_expression
from ..meta.conversions import Conversion, conversions_of, converting_lookups
from ..meta.related import column_names
from ..meta.validate import resolver
from ..meta.validate_workflows import value_type
from ..records.errors import Conflict, NotFound, ValidationFailed
from ..records.serialize import to_api
from ..security.actor import SYSTEM
from ..storage.engine import begin_read, begin_write
from ..storage.platform_tables import file_links


class NotConvertible(Conflict):
    """The record's conversion condition does not hold (e.g. it was converted already)."""
    code = "not_convertible"


class ConversionService:
    def __init__(self, records):
        self.records = records

    # -- choosing ------------------------------------------------------------------------------
    def conversion(self, object_name: str, name: str | None = None) -> Conversion:
        found = conversions_of(self.records.runtime().metadata, object_name)
        if name is not None:
            found = [c for c in found if c.name == name]
        if not found:
            raise NotFound(f"{object_name} has no conversion" + (f" named '{name}'" if name else ""))
        if len(found) > 1:
            raise ValidationFailed(f"{object_name} has several conversions: name one "
                                   f"({', '.join(c.name for c in found)})", fields={"conversion": ["name one"]})
        return found[0]

    def available(self, actor, object_name: str, record_id) -> Conversion | None:
        """The object's conversion when the record may be converted now (its condition holds), for
        a record page's button: read without locking anything; None otherwise."""
        md = self.records.runtime().metadata
        found = conversions_of(md, object_name)
        if len(found) != 1:
            return None
        conv, records = found[0], self.records
        cobj = records.runtime().objects[object_name]
        with begin_read(records.engine) as conn, records.on_connection(conn):
            row = conn.execute(select(cobj.table).where(cobj.table.c.id == uuid.UUID(str(record_id)))).mappings().first()
            if row is None:
                return None
            allowed, _why = self._allowed(conv, records.automation_context(conn, object_name, actor), dict(row))
        return conv if allowed else None

    # -- preview -------------------------------------------------------------------------------
    def preview(self, actor, object_name: str, record_id, name: str | None = None) -> dict:
        conv = self.conversion(object_name, name)
        records = self.records
        record = records.get(actor, object_name, record_id)      # 404 when the actor cannot see it
        # a write transaction although nothing is written: the row is read as a conversion reads
        # it (locked), so the preview shows what converting now would do
        with begin_write(records.engine) as conn, records.on_connection(conn):
            row = records.stored_row(conn, object_name, record["id"])
            ctx = records.automation_context(conn, object_name, actor)
            allowed, why = self._allowed(conv, ctx, row)
            targets = []
            hide = self._hidden_values(actor, conv)
            for target in conv.targets:
                values = self._values(conv, ctx, row, target)
                shown = {k: mask(v) if (target.name, k) in hide else v for k, v in values.items()}
                matches = records.duplicates_of_values(actor, target.object, values) if target.existing else []
                targets.append({"name": target.name, "object": target.object, "label": target.label,
                                "required": target.required, "existing": target.existing,
                                "values": {k: to_api(v) if not isinstance(v, Decimal) else v for k, v in shown.items()},
                                "links": dict(target.links), "duplicates": matches})
        return {"conversion": conv.name, "label": conv.label, "object": object_name, "record": record,
                "convertible": allowed, "reason": why, "targets": targets}

    def _hidden_values(self, actor, conv) -> set[tuple[str, str]]:
        """(target, field) of preview values a reader without view_encrypted_data sees masked: the
        target field is encrypted, or its expression reads an encrypted field of the record."""
        rt = self.records.runtime()
        if rt.security.access_for(actor).system(ENCRYPTED_PERMISSION):
            return set()
        md, source = rt.metadata, rt.metadata.objects[conv.object]
        hidden = set()
        for target in conv.targets:
            obj = md.objects[target.object]
            for name, text in target.values.items():
                f = obj.fields.get(name)
                paths = compile_expression(text, resolver(md, source), context="write").paths
                if (f is not None and f.encrypted) or encrypted_paths(md, source, [".".join(p) for p in paths]):
                    hidden.add((target.name, name))
        return hidden

    # -- convert -------------------------------------------------------------------------------
    def convert(self, actor, object_name: str, record_id, body: dict | None) -> dict:
        body = body or {}
        if not isinstance(body, dict):
            raise ValidationFailed("expected a JSON object", fields={"body": ["expected a JSON object"]})
        conv = self.conversion(object_name, body.get("conversion"))
        choices = body.get("targets") or {}
        if not isinstance(choices, dict):
            raise ValidationFailed("targets: a JSON object of target → choice", fields={"targets": ["expected an object"]})
        unknown = sorted(set(choices) - {t.name for t in conv.targets})
        if unknown:
            raise ValidationFailed(f"unknown target{'s' if len(unknown) != 1 else ''}: {', '.join(unknown)}",
                                   fields={f"targets.{u}": ["not a target of this conversion"] for u in unknown})
        allow_duplicates = body.get("allow_duplicates") is True
        records = self.records
        record = records.get(actor, object_name, record_id)
        rid = uuid.UUID(record["id"])
        made: dict[str, dict] = {}
        with begin_write(records.engine) as conn, records.on_connection(conn):
            row = records.stored_row(conn, object_name, rid)     # locked for the conversion
            ctx = records.automation_context(conn, object_name, actor)
            allowed, why = self._allowed(conv, ctx, row)
            if not allowed:
                raise NotConvertible(why)
            for target in conv.targets:
                made[target.name] = self._target(actor, conv, ctx, row, target, choices.get(target.name), made,
                                                 allow_duplicates)
            ids = {name: uuid.UUID(t["id"]) for name, t in made.items() if t is not None}
            moved = {}
            if conv.move_related_to and conv.move_related_to in ids:
                destination = conv.target(conv.move_related_to)
                moved.update(self._move_related(conn, object_name, rid, destination.object, ids[destination.name]))
            repoint = list(conv.repoint)
            for child, from_field, to_field in converting_lookups(ctx.runtime.metadata, object_name):
                wanted = ctx.runtime.metadata.objects[child].fields[to_field].target
                target = next((t for t in conv.targets if t.object == wanted), None)
                if target is not None:
                    repoint.append({"object": child, "from": from_field, "to": to_field, "target": target.name})
            for item in repoint:
                if item["target"] in ids:
                    moved.update(self._repoint(conn, item, rid, ids[item["target"]]))
            mark = {name: self._evaluate(ctx, conv.object, name, text, row) for name, text in conv.mark_values.items()}
            mark.update({name: ids.get(target) for name, target in conv.mark_links.items()})
            converted = records.update(actor, object_name, rid, {}, platform_values=mark)
        return {"conversion": conv.name, "record": converted,
                "targets": {name: (None if t is None else {"id": t["id"], "created": t["_created"]})
                            for name, t in made.items()},
                "moved": moved}

    def _target(self, actor, conv, ctx, row, target, choice, made, allow_duplicates) -> dict | None:
        records = self.records
        where = f"targets.{target.name}"
        if choice is None:
            choice = {}
        if not isinstance(choice, dict):
            raise ValidationFailed(f"{where}: an object (id, values or skip)", fields={where: ["expected an object"]})
        if choice.get("skip") is True:
            if target.required:
                raise ValidationFailed(f"{where}: the {target.label.lower()} cannot be left out",
                                       fields={where: ["required"]})
            return None
        if choice.get("id") is not None:
            if not target.existing:
                raise ValidationFailed(f"{where}: a new {target.label.lower()} is always created",
                                       fields={f"{where}.id": ["an existing record cannot be chosen"]})
            existing = records.get(actor, target.object, choice["id"])   # 404 when it cannot be seen
            return {**existing, "_created": False}
        extra = choice.get("values") or {}
        if not isinstance(extra, dict):
            raise ValidationFailed(f"{where}.values: a JSON object of field values",
                                   fields={f"{where}.values": ["expected an object"]})
        data = {}
        for name, value in self._values(conv, ctx, row, target).items():
            if value is not None:
                f = ctx.runtime.metadata.objects[target.object].fields.get(name)
                data[name] = value if isinstance(value, Decimal) else to_api(value, f.type if f else None)
        for field_name, earlier in target.links.items():
            if made.get(earlier) is not None:
                data[field_name] = made[earlier]["id"]
        data.update(extra)
        created = records.create(actor, target.object, data, allow_duplicates=allow_duplicates)
        return {**created, "_created": True}

    # -- pieces --------------------------------------------------------------------------------
    def _allowed(self, conv, ctx, row) -> tuple[bool, str | None]:
        if not conv.condition:
            return True, None
        compiled = compile_expression(conv.condition, resolver(ctx.runtime.metadata, ctx.runtime.metadata.objects[conv.object]),
                                      context="write", expected="boolean")
        if ctx.evaluate(compiled, row, None) is True:
            return True, None
        return False, f"this {conv.object} cannot be converted: {conv.condition} does not hold (converted already?)"

    def _values(self, conv, ctx, row, target) -> dict:
        return {name: self._evaluate(ctx, target.object, name, text, row) for name, text in target.values.items()}

    @staticmethod
    def _evaluate(ctx, object_name, field_name, text, row):
        md = ctx.runtime.metadata
        compiled = compile_expression(text, resolver(md, md.objects[ctx.object_name]), context="write",
                                      expected=value_type(md.objects[object_name], field_name))
        return ctx.evaluate(compiled, row, None)

    def _move_related(self, conn, object_name, rid, to_object, to_id) -> dict:
        """Activities and other related_to records of the converted record, and its attachments,
        move to the target record (where the related_to field may point to the target's object)."""
        rt = self.records.runtime()
        moved = {}
        allowed = {(child, field) for child, field, _a in rt.related_referrers.get(to_object, ())}
        for child_name, field, _action in rt.related_referrers.get(object_name, ()):
            if (child_name, field) not in allowed:
                continue
            t = rt.objects[child_name].table
            object_column, id_column = column_names(field)
            result = conn.execute(update(t).where(t.c[object_column] == object_name, t.c[id_column] == rid)
                                  .values({object_column: to_object, id_column: to_id}))
            if result.rowcount:
                moved[f"{child_name}.{field}"] = result.rowcount
        links = file_links
        theirs = conn.execute(select(links).where(links.c.object == object_name, links.c.record_id == rid)).mappings().all()
        mine = set(conn.execute(select(links.c.file_id).where(links.c.object == to_object,
                                                               links.c.record_id == to_id)).scalars())
        new_links = [{**r, "object": to_object, "record_id": to_id} for r in theirs if r["file_id"] not in mine]
        if new_links:
            conn.execute(insert(links), new_links)
            moved["attachments"] = len(new_links)
        conn.execute(delete(links).where(links.c.object == object_name, links.c.record_id == rid))
        return moved

    def _repoint(self, conn, item, rid, to_id) -> dict:
        """Records of another object pointing at the converted record point at the target's
        instead — through the record service (their rules, history and automation), as the
        system: the conversion moves them whoever may edit each."""
        rt = self.records.runtime()
        t = rt.objects[item["object"]].table
        ids = conn.execute(select(t.c.id).where(t.c[item["from"]] == rid)).scalars().all()
        for child_id in ids:
            self.records.update(SYSTEM, item["object"], child_id, {item["from"]: None, item["to"]: str(to_id)})
        return {f"{item['object']}.{item['to']}": len(ids)} if ids else {}
