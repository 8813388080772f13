"""The plan's lines for deprecated package components (meta/deprecation.py): no DDL — the table or
column stays — but the admin reviewing an upgrade must see what leaves the API and the forms and
how much data is kept behind it. Purging one is the planner's ordinary drop of a storage object or
field (destructive, with its counts)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import MetaData

from ..meta.deprecation import FIELDS, summary
from ..meta.model import Metadata
from ..storage.engine import begin_read
from ..storage.tables import build_table
from .operations import Context, Impact, Operation, _count


class Deprecate(Operation):
    ddl = False

    def __init__(self, package: str | None, obj: str, field: str | None = None):
        self.package, self.obj, self.field = package, obj, field

    @property
    def component(self) -> str:
        return f"{self.obj}.{self.field}" if self.field else self.obj

    def describe(self) -> str:
        what = f"field {self.component}" if self.field else f"object {self.obj}"
        return (f"deprecate {what}: no longer shipped; kept with its data, hidden "
                f"(tessera package purge {self.package or 'PACKAGE'} {self.component} deletes it)")

    def check(self, conn, ctx: Context) -> Impact:
        table = ctx.old_table(self.obj)
        if self.field is None:
            rows = _count(conn, table)
            return Impact(rows=rows, notes=[f"keeps {rows} record{'s' if rows != 1 else ''}"])
        column = table.c.get(self.field)
        if column is None:            # a formula: nothing stored
            return Impact()
        kept = _count(conn, table, column.isnot(None))
        return Impact(rows=kept, notes=[f"keeps {kept} value{'s' if kept != 1 else ''}"])


class Restore(Operation):
    ddl = False

    def __init__(self, obj: str, field: str | None = None):
        self.obj, self.field = obj, field

    def describe(self) -> str:
        what = f"field {self.obj}.{self.field}" if self.field else f"object {self.obj}"
        return f"restore deprecated {what}: shipped again, with the data it kept"


def deprecation_steps(old: Metadata | None, new: Metadata) -> list[Operation]:
    if old is None:
        return []
    steps: list[Operation] = []
    for name, obj in new.deprecated_objects.items():
        if name in old.objects:
            steps.append(Deprecate(obj.package, name))
    for name in old.deprecated_objects:
        if name in new.objects:
            steps.append(Restore(name))
    for name, fields in new.deprecated_fields.items():
        live = old.objects.get(name)
        for fname in fields:
            if live is not None and fname in live.fields:
                steps.append(Deprecate(new.objects[name].package, name, fname))
    for name, fields in old.deprecated_fields.items():
        live = new.objects.get(name)
        steps += [Restore(name, fname) for fname in fields if live is not None and fname in live.fields]
    return steps


@dataclass(frozen=True)
class DeprecatedComponent:
    package: str
    folder: str          # objects, fields, layouts, list_views, …
    name: str            # the object, OBJECT.FIELD, or the component's name
    since: str           # the package version that stopped shipping it
    kept: int | None     # records (an object) or values (a field) still in the database; None: no data

    @property
    def purge_name(self) -> str:
        """What `tessera package purge PACKAGE …` takes."""
        return self.name if self.folder in ("objects", FIELDS) else f"{self.folder}/{self.name}"


def deprecated_components(engine, snapshot: dict | None) -> list[DeprecatedComponent]:
    """Every deprecated component of the installed packages, with the data each keeps."""
    from ..meta.merge import build_metadata
    packages = (snapshot or {}).get("packages") or []
    listed = summary(packages)
    if not listed:
        return []
    storage = build_metadata(snapshot).storage_objects
    out = []
    with begin_read(engine) as conn:
        for package, folder, name, since in listed:
            kept = None
            obj_name, _, fname = name.partition(".")
            obj = storage.get(obj_name) if folder in ("objects", FIELDS) else None
            if obj is not None:
                table = build_table(obj, MetaData())
                if folder == "objects":
                    kept = _count(conn, table)
                elif fname in table.c:
                    kept = _count(conn, table, table.c[fname].isnot(None))
            out.append(DeprecatedComponent(package, folder, name, since, kept))
    return out
