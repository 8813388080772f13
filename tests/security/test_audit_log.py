"""The audit log (`GET /api/v1/audit`, admins only): one `metadata.change` entry per activated
version whatever the change path (CLI install / apply / rollback, the service API), none for a
refused change; permission changes (profile, role, activation, permission sets, group members,
password resets) from the REST API and `tessera user ...`, each exactly once."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from tessera.cli import _register, cli
from tessera.meta.source import load_org
from tessera.security.actor import SYSTEM

if not cli.commands:
    _register()

GIZMO = {"name": "gizmo", "label": "Gizmo", "sharing_model": "private",
         "fields": {"name": {"type": "text", "required": True}, "notes": {"type": "textarea"}}}
INTERN = {"name": "tp_intern", "label": "Intern", "parent": "tp_worker"}


@pytest.fixture
def run(services, db_url, monkeypatch):
    monkeypatch.setenv("TESSERA_USER", "alice")

    def invoke(*args):
        return CliRunner().invoke(cli, [*args[:2], "--database", db_url, *args[2:]], catch_exceptions=False)
    return invoke


def write_org(root: Path, **dirs) -> Path:
    for dirname, docs in dirs.items():
        (root / dirname).mkdir(parents=True, exist_ok=True)
        for doc in docs:
            (root / dirname / f"{doc['name']}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return root


def entries(api, action):
    r = api.get("/api/v1/audit", query_string={"action": action, "limit": "1000"})
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json()["entries"]   # newest first


def test_cli_apply_rollback_and_install_each_write_one_entry(run, api, services, tmp_path):
    before = entries(api, "metadata.change")
    assert [(e["subject"], e["detail"]["source"], e["detail"]["author"]) for e in before] == \
        [(f"version {services.changes.active().number}", "package", "test")]   # the fixture's install
    assert before[0]["detail"]["plan"]["steps"] > 0 and "add role tp_worker" in before[0]["detail"]["plan"]["security"]

    full = write_org(tmp_path / "full", objects=[GIZMO], roles=[INTERN])
    r = run("apply", str(full), "-m", "gizmos and interns")
    assert r.exit_code == 0, r.output
    applied = services.changes.active().number
    (entry,) = [e for e in entries(api, "metadata.change") if e not in before]
    assert entry["subject"] == f"version {applied}" and entry["actor"] is None   # no Tessera user on a shell
    detail = entry["detail"]
    assert (detail["version"], detail["source"], detail["author"], detail["message"]) == \
        (applied, "cli", "alice", "gizmos and interns")
    assert detail["plan"]["by_safety"] == {"safe": detail["plan"]["steps"], "data-checked": 0, "destructive": 0}
    assert detail["plan"]["destructive"] == [] and detail["plan"]["security"] == ["add role tp_intern"]

    # destructive without --allow-destructive: refused, nothing recorded
    slim = write_org(tmp_path / "slim", objects=[{**GIZMO, "fields": {"name": GIZMO["fields"]["name"]}}])
    count = len(entries(api, "metadata.change"))
    r = run("apply", str(slim))
    assert r.exit_code == 1 and "--allow-destructive" in r.stderr
    r = run("apply", str(slim), "--allow-destructive", "--check-only")
    assert r.exit_code == 0, r.output
    assert len(entries(api, "metadata.change")) == count and services.changes.active().number == applied

    r = run("apply", str(slim), "--allow-destructive")
    assert r.exit_code == 0, r.output
    latest = entries(api, "metadata.change")[0]["detail"]
    assert latest["plan"]["destructive"] == ["drop field gizmo.notes (textarea)"]
    assert latest["plan"]["by_safety"]["destructive"] == 1 and latest["plan"]["security"] == ["remove role tp_intern"]

    r = run("rollback", str(applied))
    assert r.exit_code == 0, r.output
    latest = entries(api, "metadata.change")[0]
    assert latest["subject"] == f"version {services.changes.active().number}"
    assert (latest["detail"]["source"], latest["detail"]["message"]) == ("rollback", f"rollback to version {applied}")
    assert latest["detail"]["plan"]["security"] == ["add role tp_intern"]

    pkg = write_org(tmp_path / "extra", objects=[{**GIZMO, "name": "widget", "label": "Widget"}])
    (pkg / "package.yaml").write_text(yaml.safe_dump({"name": "extra", "label": "Extra", "version": "1.0.0"}))
    r = run("install", str(pkg))
    assert r.exit_code == 0, r.output
    latest = entries(api, "metadata.change")[0]["detail"]
    assert (latest["source"], latest["message"], latest["plan"]["by_safety"]["destructive"]) == \
        ("package", "install extra 1.0.0", 0)
    numbers = [e["detail"]["version"] for e in entries(api, "metadata.change")]
    assert numbers == [v.number for v in services.changes.versions()]   # one entry per version, no more


def test_service_api_change_records_its_actor_and_a_failed_change_nothing(api, services, tmp_path):
    admin = services.identity.actor_for_user(services.identity.find_user("admin"))
    org = load_org(write_org(tmp_path / "org", objects=[GIZMO]))
    result = services.changes.apply_org(org, author="admin", source="ui", actor=admin)
    latest = entries(api, "metadata.change")[0]
    assert latest["actor"] == str(admin.user_id) and latest["detail"]["version"] == result.version.number
    count = len(entries(api, "metadata.change"))
    services.records.create(SYSTEM, "gizmo", {"name": "g1", "notes": "kept"})
    changed = {**GIZMO, "fields": {**GIZMO["fields"], "name": {"type": "integer", "required": True}}}
    with pytest.raises(Exception, match="refused"):   # 'g1' is not an integer: the data check refuses
        services.changes.apply_org(load_org(write_org(tmp_path / "bad", objects=[changed])), author="admin")
    assert len(entries(api, "metadata.change")) == count


def test_audit_log_is_for_admins_only(api, services, client_for):
    user, _ = services.identity.create_user("rep", password="quartz-meadow-81", last_name="Rep", profile="tp_rep")
    r = client_for(user).get("/api/v1/audit")
    assert r.status_code == 403 and r.get_json()["error"]["code"]
    assert api.get("/api/v1/audit").status_code == 200


def test_permission_changes_through_the_rest_api_are_audited_once(api, services):
    user, _ = services.identity.create_user("pat", password="quartz-meadow-81", last_name="Pat", profile="tp_rep",
                                            role="tp_worker")
    created = [e for e in entries(api, "user.create") if e["subject"] == "pat"]
    assert len(created) == 1 and created[0]["detail"] == {"profile": "tp_rep", "role": "tp_worker", "active": True}
    url = f"/api/v1/records/user/{user['id']}"
    assert api.patch(url, json={"role": "tp_lead", "title": "Lead"}).status_code == 200
    assert api.patch(url, json={"title": "Chief"}).status_code == 200            # not a permission change
    (update,) = [e for e in entries(api, "user.update") if e["subject"] == "pat"]
    assert update["detail"].pop("request_id")               # made while serving a request: its id is kept
    assert update["detail"] == {"role": {"from": "tp_worker", "to": "tp_lead"}}
    admin_id = services.identity.find_user("admin")["id"]
    assert update["actor"] == admin_id
    # a refused write records nothing
    assert api.patch(url, json={"profile": "tp_viewer", "email": "not an email"}).status_code == 422
    assert len([e for e in entries(api, "user.update") if e["subject"] == "pat"]) == 1

    r = api.post("/api/v1/records/permission_set_assignment", json={"user": user["id"], "permission_set": "tp_see_all_deals"})
    assert r.status_code == 201, r.get_data(as_text=True)
    assert api.delete(f"/api/v1/records/permission_set_assignment/{r.get_json()['id']}").status_code == 204
    assert [(e["action"], e["detail"]["permission_set"]) for e in entries(api, "permission_set.assign")
            + entries(api, "permission_set.unassign") if e["subject"] == "pat"] == \
        [("permission_set.assign", "tp_see_all_deals"), ("permission_set.unassign", "tp_see_all_deals")]

    group = api.post("/api/v1/records/group", json={"name": "reviewers"}).get_json()
    member = api.post("/api/v1/records/group_member", json={"group": group["id"], "user": user["id"]}).get_json()
    assert api.delete(f"/api/v1/records/group_member/{member['id']}").status_code == 204
    assert [e["detail"]["user"] for e in entries(api, "group.add_member") + entries(api, "group.remove_member")
            if e["subject"] == "reviewers"] == ["pat", "pat"]

    assert api.patch(url, json={"active": False}).status_code == 200
    assert [e["subject"] for e in entries(api, "user.deactivate")] == ["pat"]


def test_user_cli_changes_are_audited_once(run, api, services):
    r = run("user", "create", "cleo", "--profile", "tp_viewer", "--role", "tp_worker",
            "--permission-set", "tp_revenue_editor", "--password", "juniper-anvil-15")
    assert r.exit_code == 0, r.output
    r = run("user", "deactivate", "cleo")
    assert r.exit_code == 0, r.output
    mine = [e for e in entries(api, "") if e["subject"] == "cleo"]
    assert sorted(e["action"] for e in mine) == ["permission_set.assign", "user.create", "user.deactivate"]
    assert all(e["actor"] is None for e in mine)   # the command line acts as the system


def test_password_reset_is_audited_with_the_admin(services, api):
    user, _ = services.identity.create_user("dot", password="quartz-meadow-81", last_name="Dot", profile="tp_rep")
    admin = services.identity.actor_for_user(services.identity.find_user("admin"))
    services.identity.set_password(uuid.UUID(user["id"]), "a-new-password-1", actor=admin)
    (entry,) = [e for e in entries(api, "user.reset_password")]
    assert (entry["subject"], entry["actor"]) == ("dot", str(admin.user_id))
