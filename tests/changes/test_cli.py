"""The metadata commands of the `tessera` CLI: output and exit codes."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from changes_helpers import ACCOUNT, CONTACT, USER, objects, write_org, write_package
from tessera.cli import _register, cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def run(db_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TESSERA_USER", "alice")
    _register()
    runner = CliRunner()

    def invoke(*args):
        result = runner.invoke(cli, [*args[:1], "--database", db_url, *args[1:]], catch_exceptions=False)
        return result
    return invoke


def base(**changes):
    return objects(USER, ACCOUNT, CONTACT, **changes)


def test_install_packages_versions(run, tmp_path):
    pkg = write_package(tmp_path / "crm", base(), layouts={
        "account": {"name": "account", "object": "account", "sections": [{"label": "Main", "fields": ["name", "code"]}]}})
    result = run("install", str(pkg), "-m", "first install")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Plan (" in out
    assert "  [safe]          install package crm 1.0.0" in out
    assert "  [safe]          create object account (3 stored fields)" in out
    assert "  [safe]          add layout account" in out
    assert "Version 1 is active." in out

    result = run("packages")
    assert result.exit_code == 0 and result.output.split() == ["crm", "1.0.0", "Crm"]

    result = run("install", str(pkg))
    assert result.exit_code == 0 and "No changes." in result.output

    result = run("versions")
    assert result.exit_code == 0
    line = result.output.strip().splitlines()[0]
    assert line.startswith("*    1  ") and "package" in line and "alice" in line and "first install" in line


def test_refused_change_prints_plan_reasons_and_hint(run, tmp_path):
    run("install", str(write_package(tmp_path / "v1", base())))
    # no rows: the type change passes its check, but dropping a field (what the upgrade no longer
    # ships, purged rather than deprecated) needs --allow-destructive
    result = run("install", str(write_package(tmp_path / "v2", base(account={"code": {"type": "integer"}, "notes": None}),
                                              version="1.1.0")), "--purge-deprecated")
    assert result.exit_code == 1
    assert "[destructive]   drop field account.notes (textarea)" in result.output
    assert "--allow-destructive" in result.stderr
    assert "Refused:" in result.stderr and "nothing was changed" in result.stderr

    result = run("install", str(tmp_path / "v2"), "--purge-deprecated", "--allow-destructive", "--check-only")
    assert result.exit_code == 0, result.output
    assert "Check only: every step passed; nothing was changed." in result.output
    assert "[data-checked]  alter field account.code: type text → integer" in result.output
    assert run("versions").output.count("\n") == 1


def test_data_check_impact_is_indented_under_step(run, tmp_path, db_url):
    run("install", str(write_package(tmp_path / "v1", base())))
    from tessera.storage.engine import make_engine
    from changes_helpers import Env
    engine = make_engine(db_url)
    try:
        env = Env(engine, tmp_path)
        ids = env.insert("account", {"name": "A", "code": "abc"}, {"name": "B", "code": "12"})
    finally:
        engine.dispose()
    result = run("install", str(write_package(tmp_path / "v2", base(account={"code": {"type": "integer"}}), version="2.0.0")))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    step = lines.index("  [data-checked]  alter field account.code: type text → integer")
    assert lines[step + 1] == f'      would fail: 1 row: not an integer, e.g. {ids[0]}: "abc"'
    assert "--allow-destructive" not in result.stderr


def test_invalid_metadata_prints_file_path_message(run, tmp_path):
    pkg = write_package(tmp_path / "bad", base(account={"amount": {"type": "curency"}}))
    result = run("install", str(pkg))
    assert result.exit_code == 1
    first = result.stderr.splitlines()[0]
    assert first.startswith(str(Path("bad/objects/account.yaml")) + ": fields.amount.type: ")
    assert "error: the metadata is invalid (1 problem); nothing was changed" in result.stderr
    assert run("versions").output.strip() == "No versions yet."


def test_export_apply_diff_rollback(run, tmp_path):
    run("install", str(write_package(tmp_path / "pkg", base())))
    org = write_org(tmp_path / "org", {"account": {"extends": "account", "fields": {"region": {"type": "text"}}}})
    result = run("apply", str(org), "--check-only")
    assert result.exit_code == 0 and "  [safe]          add field account.region (text)" in result.output
    result = run("apply", str(org), "-m", "region")
    assert result.exit_code == 0 and "Version 2 is active." in result.output

    result = run("export", str(tmp_path / "out"))
    assert result.exit_code == 0 and "Wrote 2 files." in result.output
    lock = yaml.safe_load((tmp_path / "out" / "packages.lock.yaml").read_text())
    assert lock == {"packages": {"crm": "1.0.0"}}
    assert run("apply", str(tmp_path / "out")).output.strip() == "No changes."

    result = run("diff", "1")
    assert result.exit_code == 0
    assert result.output.splitlines()[1] == "  [safe]          add field account.region (text)"
    result = run("diff", "2", "1")
    assert "  [destructive]   drop field account.region (text)" in result.output

    result = run("rollback", "1")
    assert result.exit_code == 1 and "--allow-destructive" in result.stderr
    result = run("rollback", "1", "--allow-destructive")
    assert result.exit_code == 0 and "Version 3 is active." in result.output
    assert "rollback" in run("versions").output.splitlines()[0]

    result = run("diff", "42")
    assert result.exit_code == 1 and "error: there is no metadata version 42" in result.stderr


def test_apply_checks_the_exported_package_lock(run, tmp_path):
    """Sandbox → production: an export is applied only where its packages are installed at the
    versions it was made against."""
    run("install", str(write_package(tmp_path / "pkg", base())))
    org = write_org(tmp_path / "org", {"account": {"extends": "account", "fields": {"region": {"type": "text"}}}})
    run("apply", str(org), "-m", "region")
    run("export", str(tmp_path / "out"))
    lock_file = tmp_path / "out" / "packages.lock.yaml"
    lock_file.write_text("packages: {crm: 1.1.0, billing: 2.0.0}\n")
    result = run("apply", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "packages.lock.yaml: packages.billing: made against billing 2.0.0, but this database has no package billing" in result.stderr
    assert ("packages.lock.yaml: packages.crm: made against crm 1.1.0, but this database has crm 1.0.0: upgrade crm "
            "to 1.1.0 first (or remove packages.lock.yaml to apply anyway)") in result.stderr
    # a stale export (the database's package moved on since): export again, never "install the older one"
    lock_file.write_text("packages: {crm: 0.9.0}\n")
    result = run("apply", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert ("made against crm 0.9.0, but this database has crm 1.0.0, newer: export the org layer again from a "
            "database on crm 1.0.0 (tessera export) and apply that (or remove packages.lock.yaml to apply anyway)"
            ) in result.stderr
    lock_file.write_text("packages: [crm]\n")
    result = run("apply", str(tmp_path / "out"))
    assert result.exit_code == 1 and "packages: must map package names to versions" in result.stderr
    lock_file.unlink()                                  # no lock: applied as it is
    assert run("apply", str(tmp_path / "out")).output.strip() == "No changes."
    assert run("versions").output.splitlines()[0].startswith("*    2")


def test_cli_py_subprocess(db_url, tmp_path):
    pkg = write_package(tmp_path / "pkg", base())
    env = {**os.environ, "TESSERA_DATABASE_URL": db_url, "TESSERA_USER": "bob"}
    done = subprocess.run([sys.executable, str(ROOT / "cli.py"), "install", str(pkg)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Version 1 is active." in done.stdout
    done = subprocess.run([sys.executable, str(ROOT / "cli.py"), "versions"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert "bob" in done.stdout


def test_failing_step_is_an_error_not_a_traceback(run, tmp_path, monkeypatch):
    from tessera.changes.operations import AddField
    run("install", str(write_package(tmp_path / "v1", base())))

    def boom(self, ops, ctx):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(AddField, "apply", boom)
    result = run("install", str(write_package(tmp_path / "v2", base(account={"region": {"type": "text"}}), version="1.1.0")))
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == ("error: step 'add field account.region (text)' failed, everything "
                                                      "was rolled back: RuntimeError: disk on fire")


def test_uninstall_a_package(run, tmp_path, db_url):
    """`tessera uninstall NAME`: refused while another package depends on it or the org layer
    uses its components (each reference named), destructive when its objects hold data, and
    then one version that drops its tables; the package it extended keeps its data."""
    run("install", str(write_package(tmp_path / "crm", base())))
    invoice = {"name": "invoice", "label": "Invoice", "fields": {
        "number": {"type": "text"}, "account": {"type": "lookup", "to": "account", "on_delete": "set_null"}}}
    ext = write_package(tmp_path / "billing", {"invoice": invoice}, name="billing",
                        manifest_extra={"dependencies": {"crm": ">=1.0"}})
    assert run("install", str(ext)).exit_code == 0
    from tessera.storage.engine import make_engine
    from changes_helpers import Env
    engine = make_engine(db_url)
    try:
        env = Env(engine, tmp_path)
        [account] = env.insert("account", {"name": "Acme"})
        env.insert("invoice", {"number": "I-1", "account": account})
    finally:
        engine.dispose()

    result = run("uninstall", "nope")
    assert result.exit_code == 1 and "no package named 'nope' is installed (installed: billing, crm)" in result.stderr
    result = run("uninstall", "crm")
    assert result.exit_code == 1
    assert "package billing: dependencies.crm: depends on crm: uninstall billing first, or both together" in result.stderr
    org = write_org(tmp_path / "org", {
        "invoice": {"extends": "invoice", "fields": {"memo": {"type": "text"}}},
        "account": {"extends": "account", "fields": {"last_invoice": {"type": "lookup", "to": "invoice"}}}},
        list_views={"open_invoices": {"name": "open_invoices", "object": "invoice", "label": "Open", "columns": ["number"]}})
    assert run("apply", str(org)).exit_code == 0
    result = run("uninstall", "billing", "--allow-destructive")
    assert result.exit_code == 1
    # every reference named, not "the metadata is invalid"
    assert result.stderr.splitlines() == [
        "org/list_views/open_invoices.yaml: object: is on billing's object 'invoice'",
        "org/objects/account.yaml: fields.last_invoice.to: a lookup to billing's object 'invoice'",
        "org/objects/invoice.yaml: extends: extends billing's object 'invoice'",
        "error: billing cannot be uninstalled: 3 references to it remain (listed above): change or remove them "
        "first; nothing was changed"]

    assert run("apply", str(write_org(tmp_path / "org", {}, list_views={})), "--allow-destructive").exit_code == 0
    result = run("uninstall", "billing")
    assert result.exit_code == 1 and "--allow-destructive" in result.stderr
    assert "[safe]          remove package billing 1.0.0" in result.output
    assert "[destructive]   drop object invoice" in result.output
    result = run("uninstall", "billing", "--allow-destructive", "--check-only")
    assert result.exit_code == 0 and "nothing was changed" in result.output
    assert run("packages").output.split()[0] == "billing"
    result = run("uninstall", "billing", "--allow-destructive")
    assert result.exit_code == 0 and "is active." in result.output
    assert run("packages").output.split() == ["crm", "1.0.0", "Crm"]
    assert "uninstall billing 1.0.0" in run("versions").output.splitlines()[0]
    engine = make_engine(db_url)
    try:
        from sqlalchemy import inspect
        tables = set(inspect(engine).get_table_names())
        assert "obj_invoice" not in tables and "obj_account" in tables
        assert [r["name"] for r in Env(engine, tmp_path).rows("account")] == ["Acme"]
    finally:
        engine.dispose()
