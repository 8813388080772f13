"""`tessera user create / list / deactivate` (and `token create` for an inactive user).

The org is core + the test package (tests/fixtures/testpkg): profiles tp_rep, tp_viewer, tp_no_api,
roles tp_boss > tp_lead > tp_worker, permission sets tp_revenue_editor, tp_see_all_deals.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from tessera.cli import _register, cli
from tessera.meta.source import load_package
from tessera.security.tokens import CACHE_SECONDS
from tessera.services import Services

ROOT = Path(__file__).resolve().parents[2]

if not cli.commands:
    _register()


@pytest.fixture
def run(services, db_url):
    """Run a `tessera` command against the test database (the API fixtures share it)."""
    def invoke(*args):
        return CliRunner().invoke(cli, [*args[:2], "--database", db_url, *args[2:]], catch_exceptions=False)
    return invoke


def created_password(result) -> str | None:
    lines = [line for line in result.stdout.splitlines() if line.startswith("Password: ")]
    assert len(lines) <= 1
    return lines[0].removeprefix("Password: ") if lines else None


def cli_token(run, username) -> str:
    r = run("token", "create", "--user", username)
    assert r.exit_code == 0, r.output
    return r.stdout.strip()


class Api:
    def __init__(self, app, token):
        self.client, self.headers = app.test_client(), {"Authorization": f"Bearer {token}"}

    def get(self, url, **query):
        return self.client.get(url, headers=self.headers, query_string=query or None)

    def post(self, url, body):
        return self.client.post(url, json=body, headers=self.headers)

    def delete(self, url):
        return self.client.delete(url, headers=self.headers)


# -- create -----------------------------------------------------------------------------------------
def test_create_prints_a_generated_password_that_works(run, services):
    r = run("user", "create", "alice", "--profile", "tp_rep")
    assert r.exit_code == 0, r.output
    assert "Created user 'alice' (profile tp_rep)" in r.stdout
    password = created_password(r)
    assert password and len(password) >= 12
    actor = services.identity.check_password("alice", password)
    assert actor is not None and actor.username == "alice" and actor.profile == "tp_rep" and actor.role is None
    assert services.identity.check_password("alice", password + "x") is None


def test_create_with_password_role_and_permission_sets(run, services):
    r = run("user", "create", "bob", "--profile", "tp_viewer", "--role", "tp_worker",
            "--permission-set", "tp_revenue_editor", "--permission-set", "tp_see_all_deals",
            "--password", "walnut-prism-88", "--email", "bob@example.com")
    assert r.exit_code == 0, r.output
    assert "Created user 'bob' (profile tp_viewer, role tp_worker)" in r.stdout
    assert created_password(r) is None and "walnut-prism-88" not in r.output  # never echoed
    actor = services.identity.check_password("bob", "walnut-prism-88")
    assert actor is not None
    assert (actor.profile, actor.role, actor.permission_sets) == (
        "tp_viewer", "tp_worker", ("tp_revenue_editor", "tp_see_all_deals"))
    assert services.identity.find_user("bob")["email"] == "bob@example.com"


def test_create_assigns_a_permission_set_group(db_url):
    """--permission-set also takes a permission set group (stock: sales_operations)."""
    svc = Services.open(db_url, poll_seconds=0)
    svc.changes.install_packages([load_package(ROOT / "metadata" / "core"), load_package(ROOT / "apps" / "sales")],
                                 author="test")
    try:
        r = CliRunner().invoke(cli, ["user", "create", "--database", db_url, "olga", "--profile", "standard_user",
                                     "--permission-set", "sales_operations", "--password", "tidal-ember-47"])
        assert r.exit_code == 0, r.output
        actor = svc.identity.check_password("olga", "tidal-ember-47")
        assert actor.permission_set_groups == ("sales_operations",) and actor.permission_sets == ()
        access = svc.runtimes.current().security.access_for(actor)
        assert access.can("price_book", "create") and access.system("export_data")  # the group's two sets
        assert not access.can("account", "read")
    finally:
        svc.engine.dispose()


@pytest.mark.parametrize("option, value, listed", [
    ("--profile", "sales_wizard", ["profiles:", "system_administrator", "tp_rep", "tp_viewer"]),
    ("--role", "tp_janitor", ["roles:", "tp_boss", "tp_worker"]),
    ("--permission-set", "tp_superpowers", ["permission sets:", "tp_revenue_editor", "tp_see_all_deals"]),
])
def test_unknown_names_are_refused_with_the_valid_ones(run, services, option, value, listed):
    args = ["user", "create", "carol", "--profile", "tp_rep", option, value]
    r = run(*args)
    assert r.exit_code == 1, r.output
    assert r.stderr.startswith("error: ") and f"'{value}'" in r.stderr, r.stderr
    assert all(name in r.stderr for name in listed), r.stderr
    assert "Traceback" not in r.output
    assert services.identity.find_user("carol") is None  # nothing half-created


def test_duplicate_username_is_refused(run, services):
    assert run("user", "create", "dave", "--profile", "tp_rep", "--password", "crimson-loom-29").exit_code == 0
    r = run("user", "create", "dave", "--profile", "tp_viewer", "--permission-set", "tp_see_all_deals")
    assert r.exit_code == 1 and "already exists" in r.stderr, r.output
    actor = services.identity.check_password("dave", "crimson-loom-29")  # the first one is untouched
    assert actor.profile == "tp_rep" and actor.permission_sets == ()
    assert created_password(r) is None


def test_short_password_is_refused(run, services):
    r = run("user", "create", "erin", "--profile", "tp_rep", "--password", "short")
    assert r.exit_code == 1 and "at least 8 characters" in r.stderr, r.output
    assert services.identity.find_user("erin") is None


# -- list ----------------------------------------------------------------------------------------------
def test_list_shows_profile_role_and_status(run):
    run("user", "create", "frank", "--profile", "tp_rep", "--role", "tp_lead", "--password", "hollow-zephyr-53")
    run("user", "create", "gina", "--profile", "tp_viewer", "--password", "marble-quiver-64")
    run("user", "deactivate", "gina")
    r = run("user", "list")
    assert r.exit_code == 0, r.output
    rows = {line.split()[0]: line.split()[1:] for line in r.stdout.splitlines() if line.strip()}
    assert rows["frank"] == ["tp_rep", "tp_lead", "active"]
    assert rows["gina"] == ["tp_viewer", "-", "inactive"]
    assert rows["admin"] == ["system_administrator", "-", "active"]
    assert list(rows) == sorted(rows)


# -- deactivate ----------------------------------------------------------------------------------------
def test_deactivate_stops_tokens_and_passwords(run, services, app):
    assert run("user", "create", "hank", "--profile", "tp_rep", "--password", "silent-fjord-32").exit_code == 0
    used, unused = cli_token(run, "hank"), cli_token(run, "hank")
    api = Api(app, used)
    assert api.get("/api/v1/records/company").status_code == 200
    r = run("user", "deactivate", "hank")
    assert r.exit_code == 0 and "Deactivated 'hank'" in r.stdout, r.output
    assert services.identity.check_password("hank", "silent-fjord-32") is None
    # a worker caches a verified token for CACHE_SECONDS: the refusal is certain after that
    time.sleep(CACHE_SECONDS + 0.2)
    for token in (used, unused):
        r = Api(app, token).get("/api/v1/records/company")
        assert r.status_code == 401, r.get_json()
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
    r = Api(app, used).post("/api/v1/records/company", {"name": "after"})
    assert r.status_code == 401
    # no new token for an inactive user; the records stay, and the user is listed as inactive
    r = run("token", "create", "--user", "hank")
    assert r.exit_code == 1 and "inactive" in r.stderr and not r.stdout.strip(), r.output
    assert "inactive" in next(line for line in run("user", "list").stdout.splitlines() if line.startswith("hank "))


def test_deactivate_unknown_user(run):
    r = run("user", "deactivate", "nobody-here")
    assert r.exit_code == 1 and "there is no user 'nobody-here'" in r.stderr


# -- the rights a CLI-created user gets through the API ----------------------------------------------
def test_cli_user_gets_exactly_profile_plus_permission_sets(run, app):
    """tp_rep creates/edits companies but cannot set revenue (read-only) nor see code (hidden), nor
    delete companies; tp_revenue_editor adds revenue edit, and code stays hidden (hidden by both)."""
    run("user", "create", "ivy", "--profile", "tp_rep", "--password", "rustic-nebula-85")
    run("user", "create", "jack", "--profile", "tp_rep", "--permission-set", "tp_revenue_editor",
        "--password", "lunar-spindle-17")
    ivy, jack = Api(app, cli_token(run, "ivy")), Api(app, cli_token(run, "jack"))

    r = ivy.post("/api/v1/records/company", {"name": "Ivy Co", "revenue": 10})
    assert r.status_code == 403 and list(r.get_json()["error"]["fields"]) == ["revenue"]
    r = jack.post("/api/v1/records/company", {"name": "Jack Co", "revenue": 10})
    assert r.status_code == 201 and r.get_json()["revenue"] == 10 and "code" not in r.get_json()
    company = r.get_json()["id"]
    for who in (ivy, jack):
        r = who.post("/api/v1/records/company", {"name": "Coded", "code": "C-1"})
        assert r.status_code == 403 and "code" in r.get_json()["error"]["fields"]
        assert who.get("/api/v1/records/company", sort="code").status_code == 400
        assert who.get("/api/v1/records/deal").status_code == 200
        assert who.get("/api/v1/records/memo").status_code == 200
    assert jack.delete(f"/api/v1/records/company/{company}").status_code == 403  # neither grants delete
    assert jack.post("/api/v1/records/memo", {"name": "m"}).status_code == 201
    r = ivy.get(f"/api/v1/records/company/{company}")
    assert r.status_code == 404  # private: Jack's company is not Ivy's
