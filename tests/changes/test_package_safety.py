"""Hostile package and org directories through `tessera install DIR` / `tessera apply DIR`:
YAML bombs, deep nesting, links and paths leading out of the directory, oversized files, and
error messages that must not paste file content back (security hardening, issue 11 item 8)."""
from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from changes_helpers import ACCOUNT, USER, objects, write_org, write_package
from tessera.cli import _register, cli

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cr3t-marker-root:x:0:0:root:/root:/bin/bash"


@pytest.fixture
def run(db_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TESSERA_USER", "alice")
    _register()

    def invoke(*args):
        return CliRunner().invoke(cli, [args[0], "--database", db_url, *args[1:]], catch_exceptions=False)
    return invoke


def _package(tmp_path, name="crm") -> Path:
    return write_package(tmp_path / name, objects(USER, ACCOUNT))


def _secret_file(tmp_path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir(exist_ok=True)
    secret = outside / "secret.yaml"
    secret.write_text(SECRET + "\n")
    return secret


def _bomb() -> str:
    """Billion laughs in a picklist's values: 10^9 strings once the aliases are expanded."""
    text = "name: thing\nfields:\n  title:\n    type: picklist\n    values:\n"
    text += "      - a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    for i in range(1, 9):
        text += f"      - a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]\n"
    return text + "      - *a8\n"


def _limited_memory():
    # 1 GiB of address space: the expanded bomb needs far more, the CLI far less.
    resource.setrlimit(resource.RLIMIT_AS, (1024 ** 3, 1024 ** 3))


@pytest.mark.parametrize("command", ["install", "apply"])
def test_alias_bomb_is_refused_before_it_expands(db_url, tmp_path, command):
    directory = _package(tmp_path) if command == "install" else write_org(tmp_path / "org", {})
    (directory / "objects").mkdir(exist_ok=True)
    (directory / "objects" / "thing.yaml").write_text(_bomb())
    env = {**os.environ, "TESSERA_DATABASE_URL": db_url, "TESSERA_USER": "bob",
           "PYTHONPATH": str(ROOT / "platform")}
    done = subprocess.run([sys.executable, str(ROOT / "cli.py"), command, str(directory), "--check-only"],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          preexec_fn=_limited_memory)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "objects/thing.yaml: invalid YAML at line 6, column 13: anchors (&name) are not allowed in metadata" \
        in done.stderr
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr
    assert "the metadata is invalid" in done.stderr


def test_alias_without_anchor_use_is_refused_too(run, tmp_path):
    pkg = _package(tmp_path)
    (pkg / "layouts").mkdir()
    (pkg / "layouts" / "account.yaml").write_text(
        "name: account\nobject: account\nsections:\n  - label: Main\n    fields: [name]\n  - *nowhere\n")
    result = run("install", str(pkg))
    assert result.exit_code == 1
    assert "layouts/account.yaml: invalid YAML at line 6, column 5:" in result.stderr


def test_deep_nesting_is_refused_without_a_traceback(run, tmp_path):
    pkg = _package(tmp_path)
    (pkg / "objects" / "account.yaml").write_text("name: account\nfields: " + "[" * 100_000 + "]" * 100_000 + "\n")
    result = run("install", str(pkg), "--check-only")
    assert result.exit_code == 1
    assert "objects/account.yaml: invalid YAML at line 2, column 72: nested more than 64 levels deep" in result.stderr
    assert "RecursionError" not in result.output + result.stderr

    # the same depth limit holds for an org layer, in block style
    org = write_org(tmp_path / "org", {})
    (org / "objects").mkdir()
    nested = "".join(f"{'  ' * i}k{i}:\n" for i in range(70)) + "  " * 70 + "leaf: 1\n"
    (org / "objects" / "account.yaml").write_text("extends: account\n" + nested)
    result = run("apply", str(org), "--check-only")
    assert result.exit_code == 1
    assert "objects/account.yaml: invalid YAML at line 66, column 129: nested more than 64 levels deep" in result.stderr


def test_ordinary_nesting_still_loads(run, tmp_path):
    result = run("install", str(ROOT / "metadata" / "core"), str(ROOT / "apps" / "sales"), "--check-only")
    assert result.exit_code == 0, result.output + result.stderr


@pytest.mark.parametrize("target", ["secret", "etc_passwd"])
def test_symlinked_file_is_refused_without_quoting_its_target(run, tmp_path, target):
    secret = _secret_file(tmp_path) if target == "secret" else Path("/etc/passwd")
    if not secret.exists():
        pytest.skip("no /etc/passwd here")
    pkg = _package(tmp_path)
    (pkg / "objects" / "x.yaml").symlink_to(secret)
    result = run("install", str(pkg), "--check-only")
    assert result.exit_code == 1
    out = result.output + result.stderr
    assert "crm/objects/x.yaml: is a symbolic link (links are not allowed in metadata directories)" in result.stderr
    assert "s3cr3t" not in out and "root:" not in out and str(secret) not in out
    assert "Check only" not in out


def test_symlinked_manifest_and_lock_file_are_refused(run, tmp_path):
    pkg = _package(tmp_path)
    real = tmp_path / "manifest.yaml"
    (pkg / "package.yaml").rename(real)
    (pkg / "package.yaml").symlink_to(real)
    result = run("install", str(pkg), "--check-only")
    assert result.exit_code == 1
    assert "crm/package.yaml: is a symbolic link" in result.stderr

    org = write_org(tmp_path / "org", {})
    (org / "packages.lock.yaml").symlink_to(_secret_file(tmp_path))
    result = run("apply", str(org), "--check-only")
    assert result.exit_code == 1
    assert "org/packages.lock.yaml: is a symbolic link" in result.stderr
    assert "s3cr3t" not in result.output + result.stderr


@pytest.mark.parametrize("command", ["install", "apply"])
def test_symlinked_directory_pointing_outside_is_refused(run, tmp_path, command):
    # a valid object kept outside the directory, reached through a linked component folder
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "ticket.yaml").write_text(yaml.safe_dump({"name": "ticket", "fields": {"title": {"type": "text"}}}))
    directory = _package(tmp_path) if command == "install" else write_org(tmp_path / "org", {})
    (directory / "layouts").symlink_to(elsewhere, target_is_directory=True)
    result = run(command, str(directory), "--check-only")
    assert result.exit_code == 1, result.output
    assert f"{directory.name}/layouts: is a symbolic link" in result.stderr
    assert "Check only" not in result.output

    # a link to a folder inside a component folder is refused as well (not silently skipped)
    (directory / "layouts").unlink()
    (directory / "objects").mkdir(exist_ok=True)
    (directory / "objects" / "more").symlink_to(elsewhere, target_is_directory=True)
    result = run(command, str(directory), "--check-only")
    assert result.exit_code == 1
    assert f"{directory.name}/objects/more: is a symbolic link" in result.stderr


def test_dot_dot_link_out_of_the_package_is_refused(run, tmp_path):
    secret = _secret_file(tmp_path)
    pkg = _package(tmp_path)
    (pkg / "objects" / "ticket.yaml").symlink_to(Path("..") / ".." / secret.parent.name / secret.name)
    assert (pkg / "objects" / "ticket.yaml").read_text().startswith("s3cr3t")   # the link does lead out
    result = run("install", str(pkg), "--check-only")
    assert result.exit_code == 1
    assert "crm/objects/ticket.yaml: is a symbolic link" in result.stderr
    assert "s3cr3t" not in result.output + result.stderr

    # a directory named with `..` that stays a real package is still fine
    (pkg / "objects" / "ticket.yaml").unlink()
    result = run("install", str(pkg / "objects" / ".."), "--check-only")
    assert result.exit_code == 0, result.stderr


def test_oversized_file_is_refused_unread(run, tmp_path):
    pkg = _package(tmp_path)
    (pkg / "objects" / "account.yaml").write_text("name: account\ndescription: '" + "x" * (1024 * 1024) + "'\n")
    result = run("install", str(pkg), "--check-only")
    assert result.exit_code == 1
    assert "objects/account.yaml: is too large (" in result.stderr
    assert "a metadata file may have at most 1048576" in result.stderr


def test_too_many_files_are_refused(run, tmp_path, monkeypatch):
    import tessera.meta.source as source
    monkeypatch.setattr(source, "MAX_DIRECTORY_FILES", 5)   # the real cap is 5000; the check is the same
    org = write_org(tmp_path / "org", {})
    (org / "objects").mkdir()
    for i in range(6):
        (org / "objects" / f"o{i}.txt").write_text("not metadata")
    result = run("apply", str(org), "--check-only")
    assert result.exit_code == 1
    assert "objects/ has more than 5 entries; nothing more was read" in result.stderr


def test_errors_name_the_place_and_never_paste_content(run, tmp_path):
    pkg = _package(tmp_path)
    # a text file that parses as one string: not quoted back
    (pkg / "objects" / "notes.yaml").write_text(SECRET + "\n")
    # a huge key and a huge value: cut, not echoed whole
    huge_key, huge_value = "K" * 300_000, "v" * 300_000
    (pkg / "layouts").mkdir()
    (pkg / "layouts" / "account.yaml").write_text(yaml.safe_dump(
        {"name": "account", "object": "account", huge_key: 1, "sections": huge_value}, width=10 ** 7))
    result = run("install", str(pkg), "--check-only")
    assert result.exit_code == 1
    out = result.output + result.stderr
    assert "objects/notes.yaml: expected a mapping, got a string (the file is not a YAML mapping)" in result.stderr
    assert "s3cr3t" not in out
    assert "layouts/account.yaml: " in result.stderr and "unknown property 'KKKK" in result.stderr
    assert "layouts/account.yaml: sections: expected a list, got 'vvvv" in result.stderr
    assert len(out) < 5000


def test_duplicate_key_message_does_not_paste_a_huge_key(run, tmp_path):
    pkg = _package(tmp_path)
    key = "d" * 200_000
    (pkg / "objects" / "account.yaml").write_text(f"name: account\n? {key}\n: 1\n? {key}\n: 2\n")
    result = run("install", str(pkg), "--check-only")
    assert result.exit_code == 1
    assert "objects/account.yaml: invalid YAML at line 4, column 3: duplicate key 'ddd" in result.stderr
    assert len(result.stderr) < 2000
