"""A database made before search (issue 16 §3): objects whose index tables do not exist. Record
writes must not fail on it, and the next change through the pipeline — any change, or the same
metadata applied again — builds every missing index from the rows, in that change's transaction.
Simulated by dropping an object's index tables directly. Runs on SQLite and PostgreSQL alike."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect

from tessera.cli import _register, cli
from tessera.meta.source import empty_org
from tessera.search import storage
from tessera.security.actor import SYSTEM
from tessera.services import Services
from tessera.storage.engine import begin_write

ROOT = Path(__file__).resolve().parents[2]
VENDOR = {"name": "vendor", "fields": {"name": {"type": "text", "required": True},
                                      "city": {"type": "text"}}}   # searchable: the name field only


def _org(label="Vendor"):
    org = empty_org()
    doc = copy.deepcopy(VENDOR)
    doc["label"] = label
    org["components"]["objects"]["vendor"] = {"source": "org/objects/vendor.yaml", "doc": doc}
    return org


def _drop_indexes(engine, *names):
    """What a database made before search looks like: the objects' tables, no index tables."""
    with begin_write(engine) as conn:
        for name in names:
            storage.drop_index(conn, name)
        left = set(inspect(conn).get_table_names())
    assert not any(t in left for n in names for t in storage.table_names(engine.dialect.name, n))


def _ids(groups, object_name):
    return {hit["id"] for g in groups if g["object"] == object_name for hit in g["hits"]}


@pytest.fixture
def old_database(services, db_url):
    """A database with vendors (an org object) and companies (a package's) whose indexes are gone,
    opened afresh as a process started on it would."""
    services.changes.apply_org(_org(), author="test", message="vendors")
    before = services.records.create(SYSTEM, "vendor", {"name": "Harbor Freight Lines"})
    services.records.create(SYSTEM, "company", {"name": "Quillon Banking"})
    _drop_indexes(services.engine, "vendor", "company")
    services.engine.dispose()
    reopened = Services.open(db_url, poll_seconds=0)
    yield reopened, before
    reopened.engine.dispose()


def test_writes_work_without_the_index_and_any_change_builds_it(old_database):
    svc, before = old_database
    records = svc.records
    # no "no such table": writes and search work, the unindexed object is simply not searched
    during = records.create(SYSTEM, "vendor", {"name": "Harbor Mills"})
    records.update(SYSTEM, "vendor", during["id"], {"name": "Harbor Mills & Co"})
    gone = records.create(SYSTEM, "vendor", {"name": "Harbor Gone"})
    records.delete(SYSTEM, "vendor", gone["id"])
    bulk = records.bulk_create(SYSTEM, "vendor", [{"name": "Harbor Bulk"}])
    assert _ids(records.search(SYSTEM, "harbor"), "vendor") == set()

    # any change: here a label; its plan builds the missing indexes (vendor's and company's)
    result = svc.changes.apply_org(_org(label="Supplier"), author="test", message="relabel")
    steps = [op.describe() for op in result.plan]
    assert "build missing search index of vendor (name)" in steps
    assert "build missing search index of company (name)" in steps

    # every row as it is now: written before, while unindexed (updated, bulk), not the deleted one
    assert _ids(records.search(SYSTEM, "harbor"), "vendor") == {before["id"], during["id"], *bulk}
    after = records.create(SYSTEM, "vendor", {"name": "Harbor Newcomer"})
    assert after["id"] in _ids(records.search(SYSTEM, "newcomer"), "vendor")
    assert _ids(records.search(SYSTEM, "quillon"), "company")   # indexed from the existing rows

    # the next change has nothing left to build
    result = svc.changes.apply_org(_org(label="Vendor"), author="test", message="relabel back")
    assert not any("search index" in op.describe() for op in result.plan)


def test_the_same_metadata_applied_again_builds_the_missing_index(old_database):
    svc, before = old_database
    result = svc.changes.apply_org(_org(), author="test", message="again")
    assert sorted(op.describe() for op in result.plan) == ["build missing search index of company (name)",
                                                          "build missing search index of vendor (name)"]
    assert result.version is not None
    assert _ids(svc.records.search(SYSTEM, "harbor freight"), "vendor") == {before["id"]}
    # and now it is a no-op again
    again = svc.changes.apply_org(_org(), author="test", message="again")
    assert len(again.plan) == 0 and again.version is None


def test_check_only_builds_nothing(old_database):
    svc, _before = old_database
    result = svc.changes.apply_org(_org(), author="test", check_only=True)
    assert {op.name for op in result.plan} == {"vendor", "company"}
    with svc.engine.connect() as conn:
        assert not {"vendor", "company"} & storage.indexed_objects(conn, svc.runtimes.current().metadata)


def test_cli_install_of_the_same_packages_repairs(services, db_url, tmp_path, monkeypatch):
    """`tessera install` of the packages already installed, on a database whose index is gone."""
    services.records.create(SYSTEM, "company", {"name": "Quillon Banking"})
    _drop_indexes(services.engine, "company")
    services.engine.dispose()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TESSERA_USER", "alice")
    _register()
    result = CliRunner().invoke(cli, ["install", "--database", db_url, str(ROOT / "metadata" / "core"),
                                      str(ROOT / "tests" / "fixtures" / "testpkg")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "build missing search index of company (name)" in result.output
    svc = Services.open(db_url, poll_seconds=0)
    try:
        assert _ids(svc.records.search(SYSTEM, "quillon"), "company")
    finally:
        svc.engine.dispose()
