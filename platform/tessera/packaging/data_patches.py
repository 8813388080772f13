"""A package's data patches and seed data, run by the change pipeline (issue 19 §2).

What runs, once per org (logged in tessera_package_patch):
  - on a package's first install: its seed data (`data/<object>.csv`, files in name order), and
    its patches are logged as done without running — the seed data of a version is already what
    its patches would have made of older data (Frappe's `bench` marks patches the same way on a
    new site);
  - on an upgrade: the patches it brings that this org has not run, in name order
    (`patches/NNNN_name.yaml`), and the seed data of objects the upgrade adds.
Packages are handled in dependency order, after every schema step of the plan.

How: through the record service as the system (validation, defaults, workflows, history — the
one data path), on the change's connection (`RecordService.on_connection`) and with the new
version's Runtime (`on_runtime`), so they write in the upgrade's own transaction on both
databases: SQLite (the pipeline's BEGIN IMMEDIATE holds schema and data alike) and PostgreSQL.
A failing operation fails its step: the pipeline rolls back the whole upgrade — schema, data,
patch log and version — and names the patch, the operation and the error.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone

from sqlalchemy import insert, select

from ..changes.operations import Context, Operation
from ..meta.merge import dependency_order
from ..meta.package_data import rows
from ..records.reads import MAX_LIMIT
from ..runtime import Runtime
from ..search.storage import indexed_objects
from ..security.actor import SYSTEM
from ..storage.platform_tables import package_patches


class PatchFailed(RuntimeError):
    """One operation of a patch, or one row of seed data, failed; the pipeline names the step
    (the patch) and rolls the whole change back."""


def _done(conn, package: str) -> set[str]:
    return set(conn.execute(select(package_patches.c.name).where(package_patches.c.package == package)).scalars())


def _log(conn, package: str, version: str, name: str, kind: str, outcome: str, count: int) -> None:
    conn.execute(insert(package_patches).values(package=package, name=name, kind=kind, package_version=version,
                                                outcome=outcome, rows=count, applied_at=datetime.now(timezone.utc)))


@contextmanager
def _through_new_version(records, ctx: Context):
    """The record service on the change's connection, with the Runtime of the version being made."""
    runtime = getattr(ctx, "data_runtime", None)
    if runtime is None:
        runtime = ctx.data_runtime = Runtime(ctx.new_md, None,
                                             search_indexed=indexed_objects(ctx.conn, ctx.new_md))
    with records.on_connection(ctx.conn), records.on_runtime(runtime):
        yield


class _PackageData(Operation):
    ddl = False

    def __init__(self, records, package: str, version: str, name: str, item: dict):
        self.records, self.package, self.version, self.name, self.item = records, package, version, name, item

    def _touch(self, ctx: Context, objects) -> None:
        for obj in objects:     # SQLite checks these tables' foreign keys before COMMIT
            if obj in ctx.new_md.objects:
                ctx.check_foreign_keys_of(ctx.new_md.objects[obj].table_name)


class RunPatch(_PackageData):
    def describe(self) -> str:
        n = len(self.item["doc"]["operations"])
        about = f": {self.item['doc']['description']}" if self.item["doc"].get("description") else ""
        return f"run data patch {self.package} {self.name} ({n} operation{'s' if n != 1 else ''}){about}"

    def apply(self, ops, ctx: Context) -> None:
        count = 0
        with _through_new_version(self.records, ctx):
            for i, operation in enumerate(self.item["doc"]["operations"], 1):
                try:
                    count += self._run(operation)
                except Exception as exc:
                    what = f"create {operation['create']}" if "create" in operation else f"update {operation['update']}"
                    raise PatchFailed(f"operation {i} ({what}): {type(exc).__name__}: {exc}") from exc
        self._touch(ctx, [op.get("create") or op.get("update") for op in self.item["doc"]["operations"]])
        _log(ctx.conn, self.package, self.version, self.name, "patch", "ran", count)

    def _run(self, operation: dict) -> int:
        if "create" in operation:
            self.records.create(SYSTEM, operation["create"], dict(operation["values"]))
            return 1
        obj = operation["update"]
        ids, cursor = [], None
        while True:     # every matching id first: the updates may move records in and out of the filter
            page = self.records.query(SYSTEM, obj, filter=operation.get("where"), fields=["id"], limit=MAX_LIMIT,
                                      cursor=cursor)
            ids += [r["id"] for r in page.records]
            cursor = page.next_cursor
            if cursor is None:
                break
        for record_id in ids:
            self.records.update(SYSTEM, obj, record_id, dict(operation["values"]))
        return len(ids)


class LoadSeedData(_PackageData):
    def describe(self) -> str:
        n = len(rows(self.item))
        return f"load seed data {self.package} data/{self.name}.csv ({n} record{'s' if n != 1 else ''})"

    def apply(self, ops, ctx: Context) -> None:
        records = rows(self.item)
        with _through_new_version(self.records, ctx):
            for line, values in enumerate(records, 2):     # line 1 names the fields
                try:
                    self.records.create(SYSTEM, self.name, values, from_text=True)
                except Exception as exc:
                    raise PatchFailed(f"line {line}: {type(exc).__name__}: {exc}") from exc
        self._touch(ctx, [self.name])
        _log(ctx.conn, self.package, self.version, f"data/{self.name}.csv", "data", "ran", len(records))


class SkipPatches(Operation):
    """A first install: its patches are logged as done (its seed data is their result)."""
    ddl = False

    def __init__(self, package: str, version: str, names: list[str]):
        self.package, self.version, self.names = package, version, names

    def describe(self) -> str:
        return (f"mark {len(self.names)} data patch{'es' if len(self.names) != 1 else ''} of {self.package} as run "
                f"(a first install: {', '.join(self.names)})")

    def apply(self, ops, ctx: Context) -> None:
        for name in self.names:
            _log(ctx.conn, self.package, self.version, name, "patch", "skipped", 0)


def data_steps(records):
    """The ChangeService.data_steps hook: the steps of the packages that `new` installs or upgrades."""
    def steps(conn, old: dict | None, new: dict) -> list[Operation]:
        before = {p["manifest"]["name"]: p for p in (old or {}).get("packages") or []}
        out: list[Operation] = []
        for pkg in dependency_order(new.get("packages") or []):
            name, version = pkg["manifest"]["name"], str(pkg["manifest"]["version"])
            was = before.get(name)
            if was is not None and str(was["manifest"]["version"]) == version:
                continue
            done = _done(conn, name)
            patches = [p for p in sorted(pkg.get("patches") or {}) if p not in done]
            # seed data comes with its object: on the first install, or with an object an upgrade adds
            arrived = set((pkg["components"].get("objects") or {})) - set((was or {}).get("components", {}).get("objects") or {})
            data = [d for d in sorted(pkg.get("data") or {}) if f"data/{d}.csv" not in done
                    and (was is None or d in arrived)]
            out += [LoadSeedData(records, name, version, d, pkg["data"][d]) for d in data]
            if was is None and not done:
                out += [SkipPatches(name, version, patches)] if patches else []
            else:
                out += [RunPatch(records, name, version, p, pkg["patches"][p]) for p in patches]
        return out
    return steps
