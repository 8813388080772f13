"""`tessera deploy` / `tessera deploys`: a sandbox's changes merged into an org through the change
pipeline — validated first and applied later, recorded in the org's deploy history, undone — with
explicit deletes, stale validations re-checked, refusals recorded, and a deploy killed with SIGKILL
leaving the org on the old or the new version, never between."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect

from tessera.cli import _register, cli
from tessera.services import Services
from tessera.storage.engine import make_engine

ROOT = Path(__file__).resolve().parents[2]
_register() if not cli.commands else None

INVOICE = """name: invoice
label: Invoice
plural_label: Invoices
fields:
  name: {type: text, label: Number, required: true, max_length: 40}
  amount: {type: currency, precision: 12, scale: 2}
"""
TICKET = """name: ticket
label: Ticket
plural_label: Tickets
fields:
  name: {type: text, required: true, max_length: 80}
"""


def run(*args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)


@pytest.fixture
def sandbox(sandbox_org):
    """A second copy of the seeded test org: the sandbox the deploys come from."""
    return sandbox_org


@pytest.fixture
def org(services, db_url):
    """The org deployed into (the seeded test org)."""
    services.engine.dispose()
    return db_url


def write_org(directory: Path, **objects) -> Path:
    (directory / "objects").mkdir(parents=True, exist_ok=True)
    for name, text in objects.items():
        (directory / "objects" / f"{name}.yaml").write_text(text)
    return directory


def customize(url, directory, **objects):
    """Add org-layer objects to the org at `url` (keeping what its org layer has)."""
    assert run("export", directory, "--database", url).exit_code == 0
    write_org(directory, **objects)
    done = run("apply", directory, "--database", url, "-m", "customize")
    assert done.exit_code == 0, done.output


def active_version(url) -> int:
    svc = Services.open(url, poll_seconds=0)
    try:
        return svc.changes.active_number()
    finally:
        svc.engine.dispose()


def objects_of(url) -> set:
    svc = Services.open(url, poll_seconds=0)
    try:
        return set(svc.runtimes.current().metadata.objects)
    finally:
        svc.engine.dispose()


def test_validate_deploy_history_and_undo(org, sandbox, tmp_path):
    customize(org, tmp_path / "org-own", ticket=TICKET)             # the org's own customization
    customize(sandbox, tmp_path / "sandbox-work", invoice=INVOICE)  # the sandbox's new work
    base = active_version(org)

    checked = run("deploy", sandbox, "--to", org, "--check-only", "-m", "invoices")
    assert checked.exit_code == 0, checked.output
    assert "create object invoice" in checked.output and "Validated deploy #1" in checked.output
    assert active_version(org) == base and "invoice" not in objects_of(org)

    done = run("deploy", "--validated", "1", "--to", org)
    assert done.exit_code == 0, done.output
    assert "Deploy #2 succeeded." in done.output and "checked again" not in done.output
    assert {"invoice", "ticket"} <= objects_of(org)                 # merged: the org's own ticket stays
    assert active_version(org) == base + 1

    history = run("deploys", "--database", org)
    lines = history.output.splitlines()
    assert lines[0].startswith("#2") and "succeeded" in lines[0] and f"v{base}→v{base + 1}" in lines[0]
    assert "validated deploy #1" in lines[0] and "invoices" in lines[0]
    assert lines[1].startswith("#1") and "validation" in lines[1] and "validated" in lines[1]
    shown = run("deploy", "show", "2", "--to", org)
    assert "create object invoice" in shown.output and f"version: {base} → {base + 1}" in shown.output

    svc = Services.open(org, poll_seconds=0)
    admin = svc.identity.actor_for_user(svc.identity.find_user("admin"))
    svc.records.create(admin, "invoice", {"name": "INV-1", "amount": 10})
    svc.engine.dispose()
    refused = run("deploy", "undo", "2", "--to", org)
    assert refused.exit_code == 1 and "drop object invoice" in refused.output
    assert "--allow-destructive" in refused.stderr and "invoice" in objects_of(org)
    undone = run("deploy", "undo", "2", "--to", org, "--allow-destructive")
    assert undone.exit_code == 0, undone.output
    assert "invoice" not in objects_of(org) and "ticket" in objects_of(org)
    assert active_version(org) == base + 2
    history = run("deploys", "--database", org).output.splitlines()
    assert "undo" in history[0] and "succeeded" in history[0]
    assert "refused" in history[1]
    assert history[2].startswith("#2") and "undone" in history[2]
    again = run("deploy", "undo", "2", "--to", org, "--allow-destructive")
    assert again.exit_code == 1 and "undone already" in again.stderr


def test_a_validation_is_checked_again_when_the_org_changed_and_undo_names_later_versions(org, sandbox, tmp_path):
    customize(sandbox, tmp_path / "sandbox-work", invoice=INVOICE)
    assert run("deploy", sandbox, "--to", org, "--check-only").exit_code == 0
    customize(org, tmp_path / "org-own", ticket=TICKET)             # the org moves on
    done = run("deploy", "--validated", "1", "--to", org)
    assert done.exit_code == 0, done.output
    assert "checked again" in done.output
    deployed = active_version(org)
    customize(org, tmp_path / "org-more", ticket=TICKET.replace("max_length: 80", "max_length: 90"))
    refused = run("deploy", "undo", "2", "--to", org, "--allow-destructive")
    assert refused.exit_code == 1
    assert f"version {deployed + 1} came after it" in refused.stderr and "--include-later" in refused.stderr
    assert run("deploy", "undo", "2", "--to", org, "--allow-destructive", "--include-later").exit_code == 0
    assert "invoice" not in objects_of(org)


def test_an_export_directory_deploy_with_explicit_deletes(org, tmp_path):
    customize(org, tmp_path / "org-own", ticket=TICKET)
    source = write_org(tmp_path / "release", invoice=INVOICE)
    bad = run("deploy", source, "--to", org, "--delete", "objects/nothing_here")
    assert bad.exit_code == 1 and "objects/nothing_here is not in the target's org layer" in bad.stderr
    worse = run("deploy", source, "--to", org, "--delete", "tickets")
    assert worse.exit_code == 1 and "is not a component" in worse.stderr
    both = run("deploy", source, "--to", org, "--delete", "objects/invoice")
    assert both.exit_code == 1 and "both deployed and deleted" in both.stderr
    done = run("deploy", source, "--to", org, "--delete", "objects/ticket", "--allow-destructive")
    assert done.exit_code == 0, done.output
    assert "drop object ticket" in done.output and "create object invoice" in done.output
    assert "invoice" in objects_of(org) and "ticket" not in objects_of(org)
    shown = run("deploy", "show", "1", "--to", org).output
    assert "deletes: objects/ticket" in shown


def test_refusals_are_recorded_and_bad_sources_named(org, tmp_path):
    source = write_org(tmp_path / "release", invoice=INVOICE)
    (source / "packages.lock.yaml").write_text("packages:\n  core: 99.0.0\n")
    stale = run("deploy", source, "--to", org)
    assert stale.exit_code == 1 and "core 99.0.0" in stale.output + stale.stderr
    assert "failed" in run("deploys", "--database", org).output.splitlines()[0]
    missing = run("deploy", tmp_path / "nowhere", "--to", org)
    assert missing.exit_code == 1 and "neither a database URL nor a directory" in missing.stderr
    nothing = run("deploy", "--validated", "42", "--to", org)
    assert nothing.exit_code == 1 and "there is no validated deploy #42" in nothing.stderr
    import sqlite3
    sqlite3.connect(tmp_path / "empty.db").close()
    empty_db = run("deploy", f"sqlite:///{tmp_path / 'empty.db'}", "--to", org)
    assert empty_db.exit_code == 1 and "has no metadata" in empty_db.stderr
    absent = run("deploy", f"sqlite:///{tmp_path / 'absent.db'}", "--to", org)
    assert absent.exit_code == 1 and "does not exist" in absent.stderr
    assert not (tmp_path / "absent.db").exists()


def test_a_deploy_killed_with_sigkill_leaves_the_old_or_the_new_version(org, tmp_path):
    source = write_org(tmp_path / "release", invoice=INVOICE)
    base = active_version(org)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "platform")}
    outcomes = set()
    for delay in (0.0, 0.5, 1.5, 3.0):
        proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "deploy", str(source), "--to", org],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        version = active_version(org)
        engine = make_engine(org)
        try:
            tables = set(inspect(engine).get_table_names())
        finally:
            engine.dispose()
        if version == base:
            assert "obj_invoice" not in tables and "invoice" not in objects_of(org)
            outcomes.add("old")
        else:
            assert version == base + 1 and "obj_invoice" in tables and "invoice" in objects_of(org)
            outcomes.add("new")
            break
    history = run("deploys", "--database", org).output
    assert "running" not in history        # a killed deploy's row reads as interrupted
    assert outcomes
