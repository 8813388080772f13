"""CLI: init/serve bootstrap, tokens, CSV import, the cli.py shim, bad databases."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from tessera.cli import _register, cli
from tessera.services import Services

ROOT = Path(__file__).resolve().parents[2]
_register() if not cli.commands else None


def run(*args, env=None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)



def test_init_installs_stock_apps_and_admin_once(db_url):
    r = run("init", "--database", db_url, env={"TESSERA_ADMIN_PASSWORD": "s3cret-tundra-pass-9"})
    assert r.exit_code == 0, r.output
    assert "Installed packages: core, sales, marketing, service" in r.output
    assert "password from TESSERA_ADMIN_PASSWORD" in r.output
    again = run("init", "--database", db_url)
    assert again.exit_code == 0 and "Installed" not in again.output and "Created" not in again.output
    # given again on a database that has its admin, it changes nothing — and says so
    third = run("init", "--database", db_url, env={"TESSERA_ADMIN_PASSWORD": "another-quartz-river-7"})
    assert third.exit_code == 0
    assert ("Note: TESSERA_ADMIN_PASSWORD is ignored: user 'admin' already exists in this database (change it with "
            "`tessera user set-password admin` or in Setup → Users)") in third.stderr
    svc = Services.open(db_url)
    assert svc.identity.check_password("admin", "s3cret-tundra-pass-9") is not None
    assert svc.identity.check_password("admin", "another-quartz-river-7") is None
    names = {o for o in svc.runtimes.current().metadata.objects}
    assert {"user", "account", "opportunity", "campaign", "case"} <= names


def test_generated_admin_password_is_printed_and_works(db_url):
    r = run("init", "--database", db_url, env={"TESSERA_ADMIN_PASSWORD": ""})
    line = next(l for l in r.output.splitlines() if "with password:" in l)
    password = line.rsplit(": ", 1)[1].strip()
    assert Services.open(db_url).identity.check_password("admin", password) is not None


def test_token_create_list_revoke(testdb):
    r = run("token", "create", "--user", "admin", "--database", testdb)
    assert r.exit_code == 0
    token = r.stdout.strip().splitlines()[0]
    svc = Services.open(testdb)
    assert svc.identity.actor_for_token(token).username == "admin"
    token_id = token.split("_")[1]
    assert token_id in run("token", "list", "--database", testdb).output
    assert run("token", "revoke", token_id, "--database", testdb).exit_code == 0
    assert Services.open(testdb).identity.actor_for_token(token) is None
    r = run("token", "revoke", token_id, "--database", testdb)
    assert r.exit_code == 1 and "no active token" in r.output
    r = run("token", "create", "--user", "ghost", "--database", testdb)
    assert r.exit_code == 1 and "no user 'ghost'" in r.output


def test_import_csv_all_or_nothing(testdb, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("name,industry,revenue,employees,active,founded,tags\n"
                    "Acme,Energy,1200.50,10,yes,2001-02-03,partner;customer\n"
                    "Globex,Retail,,3,no,,\n", encoding="utf-8")
    r = run("import", "company", str(good), "--database", testdb)
    assert r.exit_code == 0, r.output
    assert "Imported 2 company records." in r.output
    svc = Services.open(testdb)
    from tessera.security.actor import SYSTEM
    recs = {x["name"]: x for x in svc.records.query(SYSTEM, "company").records}
    assert recs["Acme"]["revenue"] == 1200.5 and recs["Acme"]["tags"] == ["partner", "customer"]
    assert recs["Acme"]["active"] is True and recs["Globex"]["revenue"] is None

    bad = tmp_path / "bad.csv"
    bad.write_text("name,employees,industry\nOk,1,Energy\n,2,Energy\nBad,x,Mining\n", encoding="utf-8")
    r = run("import", "company", str(bad), "--database", testdb)
    assert r.exit_code == 1
    assert "row 2 (line 3): name: is required" in r.output
    assert "row 3 (line 4): employees: 'x' is not an integer" in r.output
    assert "row 3 (line 4): industry:" in r.output
    assert len(Services.open(testdb).records.query(SYSTEM, "company").records) == 2

    r = run("import", "nosuch", str(good), "--database", testdb)
    assert r.exit_code == 1 and "no object 'nosuch'" in r.output


def test_uninitialized_and_bad_databases(tmp_path):
    r = run("token", "create", "--user", "admin", "--database", f"sqlite:///{tmp_path / 'empty.db'}")
    assert r.exit_code == 1 and "not initialized" in r.output
    r = run("token", "list", "--database", "nosuchdialect://x")
    assert r.exit_code == 1 and "cannot open database" in r.output


def test_cli_py_shim_matches_console_script(tmp_path):
    """`python cli.py ARGS` runs exactly the console script's entry point (tessera.cli:main)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "platform"), "COLUMNS": "100"}
    for args in (["--help"], ["token", "create", "--user", "x", "--database", f"sqlite:///{tmp_path / 'none.db'}"]):
        shim = subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, text=True, env=env)
        entry = subprocess.run([sys.executable, "-c", "import sys; sys.argv[0] = 'tessera'; "
                                "from tessera.cli import main; main()", *args], capture_output=True, text=True, env=env)
        assert (shim.returncode, shim.stdout, shim.stderr) == (entry.returncode, entry.stdout, entry.stderr)
    assert "Usage: tessera" in shim.stdout or "not initialized" in shim.stderr


def test_serve_refuses_a_setting_it_cannot_use_with_a_message(testdb):
    """A bad TESSERA_* value stops `tessera serve` with the variable named, not a traceback."""
    for name, value in [("TESSERA_IMAGE_SOURCES", "https://cdn.example.com; script-src *"),
                        ("TESSERA_FILE_STORE", "s3"), ("TESSERA_MAX_UPLOAD_BYTES", "lots"),
                        ("TESSERA_RATE_LIMIT_API", "lots"), ("TESSERA_RATE_LIMIT_LOGIN", "5/fortnight"),
                        ("TESSERA_FORWARDED_ALLOW_IPS", "my-proxy")]:
        r = run("serve", "--database", testdb, "--no-worker", env={name: value})
        assert r.exit_code == 1, r.output
        assert f"error: {name}" in r.stderr and "Traceback" not in r.output
        assert "Tessera is running" not in r.output
