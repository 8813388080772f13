"""Helpers for the change-pipeline tests (imported as `changes_helpers`): small packages written to tmp_path as YAML, and direct
row inserts into obj_ tables (acceptable in tests only: the record service owns data writes)."""
from __future__ import annotations

import copy
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml
from sqlalchemy import insert, inspect, select

from tessera.changes import ChangeService
from tessera.meta.merge import build_metadata
from tessera.meta.source import load_org, load_package
from tessera.storage.tables import build_tables

USER = {"name": "user", "fields": {"username": {"type": "text", "max_length": 80, "unique": True}}}
ACCOUNT = {"name": "account", "label": "Account", "fields": {
    "name": {"type": "text", "required": True, "max_length": 120},
    "code": {"type": "text", "max_length": 40},
    "notes": {"type": "textarea"},
}}
CONTACT = {"name": "contact", "fields": {
    "name": {"type": "text"},
    "account": {"type": "lookup", "to": "account", "on_delete": "cascade"},
    "manager": {"type": "lookup", "to": "account"},
}}


def objects(*docs, **changes):
    """Deep copies of object docs; changes: object name -> {field: doc or None (remove)}."""
    out = {d["name"]: copy.deepcopy(d) for d in docs}
    for name, fields in changes.items():
        for fname, fdoc in fields.items():
            if fdoc is None:
                out[name]["fields"].pop(fname, None)
            else:
                out[name]["fields"][fname] = fdoc
    return out


def write_package(root: Path, objs: dict, *, name="crm", version="1.0.0", layouts=None, list_views=None, apps=None,
                  manifest_extra=None) -> Path:
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    manifest = {"name": name, "label": name.title(), "version": version, **(manifest_extra or {})}
    (root / "package.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    for dirname, docs in (("objects", objs), ("layouts", layouts), ("list_views", list_views), ("apps", apps)):
        folder = root / dirname
        if folder.exists():
            for old in folder.glob("*.yaml"):
                old.unlink()
        for doc_name, doc in (docs or {}).items():
            folder.mkdir(exist_ok=True)
            (folder / f"{doc_name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return root


def write_org(root: Path, objs: dict | None = None, **kinds) -> Path:
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for dirname, docs in (("objects", objs), *kinds.items()):
        folder = root / dirname
        if folder.exists():
            for old in folder.glob("*.yaml"):
                old.unlink()
        for doc_name, doc in (docs or {}).items():
            folder.mkdir(exist_ok=True)
            (folder / f"{doc_name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return root


class Env:
    """A ChangeService plus helpers bound to one test database."""

    def __init__(self, engine, tmp_path):
        self.engine = engine
        self.tmp = tmp_path
        self.svc = ChangeService(engine)
        self.n = 0
        self.versions: dict[str, tuple[int, int, int]] = {}   # package -> the last version installed

    def install(self, objs, **kw):
        """Install (or upgrade) a package made of `objs`. Without `version`, each install of a
        package is its next patch release: a package version installs over an earlier one only.
        These tests drive the pipeline's steps, drops included: what an upgrade no longer ships is
        purged (`purge=True`), not kept deprecated as by default (tests/packaging)."""
        self.n += 1
        pkg_kw = {k: kw.pop(k) for k in ("name", "version", "layouts", "list_views", "apps", "manifest_extra") if k in kw}
        name = pkg_kw.get("name", "crm")
        if "version" not in pkg_kw:
            major, minor, patch = self.versions.get(name, (1, 0, -1))
            pkg_kw["version"] = f"{major}.{minor}.{patch + 1}"
        self.versions[name] = tuple(int(n) for n in pkg_kw["version"].split("-")[0].split("."))
        root = write_package(self.tmp / f"pkg{self.n}", objs, **pkg_kw)
        kw.setdefault("purge", True)
        return self.svc.install_packages([load_package(root)], author="tester", **kw)

    def apply_org(self, objs=None, **kw):
        self.n += 1
        kinds = {k: kw.pop(k) for k in ("layouts", "list_views", "apps", "roles", "profiles") if k in kw}
        root = write_org(self.tmp / f"org{self.n}", objs, **kinds)
        return self.svc.apply_org(load_org(root), author="tester", **kw)

    def tables(self):
        active = self.svc.active()
        return build_tables(build_metadata(active.snapshot))[1]

    def insert(self, obj, *rows) -> list[uuid.UUID]:
        """Insert rows (dicts of column values) directly; returns their ids (in order)."""
        table = self.tables()[obj]
        base = datetime(2024, 1, 1, tzinfo=timezone.utc)
        ids, payload = [], []
        for i, row in enumerate(rows):
            rid = row.get("id") or uuid.uuid4()
            ids.append(rid)
            ts = base + timedelta(seconds=len(self.rows(obj)) + i)
            payload.append({"created_at": ts, "updated_at": ts, "row_version": 1, **row, "id": rid})
        keys = {k for row in payload for k in row}
        payload = [{k: row.get(k) for k in keys} for row in payload]
        with self.engine.begin() as conn:
            conn.execute(insert(table), payload)
        return ids

    def rows(self, obj, *cols) -> list[dict]:
        table = self.tables()[obj]
        with self.engine.connect() as conn:
            result = conn.execute(select(*([table.c[c] for c in cols] if cols else [table]))
                                  .order_by(table.c.created_at, table.c.id))
            return [dict(r._mapping) for r in result]

    def raw_rows(self, table_name) -> list[dict]:
        """Rows read without metadata (columns as the database has them)."""
        from sqlalchemy import MetaData, Table
        with self.engine.connect() as conn:
            t = Table(table_name, MetaData(), autoload_with=conn)
            return [dict(r._mapping) for r in conn.execute(select(t))]

    def columns(self, table_name) -> dict[str, object]:
        with self.engine.connect() as conn:
            return {c["name"]: c for c in inspect(conn).get_columns(table_name)}

    def indexes(self, table_name) -> dict[str, bool]:
        with self.engine.connect() as conn:
            insp = inspect(conn)
            out = {ix["name"]: bool(ix["unique"]) for ix in insp.get_indexes(table_name)}
            out.update({uq["name"]: True for uq in insp.get_unique_constraints(table_name) if uq["name"]})
            return out

    def table_names(self) -> set[str]:
        with self.engine.connect() as conn:
            return set(inspect(conn).get_table_names())


