"""Users are never deleted, nobody demotes themselves, the org keeps an administrator, and user
records only name profiles, roles and permission sets that exist (issue 11, items 1 and 4).
Through the REST API, the setup UI and the CLI; on SQLite and PostgreSQL."""
from __future__ import annotations

import uuid

import pytest
from click.testing import CliRunner

from tessera.cli import _register, cli as cli_main
from tessera.security.actor import SYSTEM

if not cli_main.commands:
    _register()

STRONG = "quartz-meadow-81"


@pytest.fixture
def admin_id(services):
    return services.identity.find_user("admin")["id"]


def make_admin(services, name):
    user, _ = services.identity.create_user(name, password=STRONG, last_name=name.title(),
                                            profile="system_administrator")
    return user


def error_of(r):
    return r.get_json()["error"]


# -- item 1: no deletes, no self-demotion, a last administrator -----------------------------------
def test_users_are_never_deleted_over_the_api(api, services, admin_id):
    other = make_admin(services, "second")
    for target in (admin_id, other["id"]):
        r = api.delete(f"/api/v1/records/user/{target}")
        assert r.status_code == 409, r.get_json()
        assert error_of(r)["code"] == "user_delete_forbidden" and "deactivate" in error_of(r)["message"]
        assert api.get(f"/api/v1/records/user/{target}").status_code == 200


def test_owner_can_never_be_set_to_null(api):
    r = api.post("/api/v1/records/company", {"name": "Acme", "owner": None})
    assert r.status_code == 422 and "owner" in error_of(r)["fields"]
    rid = api.post("/api/v1/records/company", {"name": "Acme"}).get_json()["id"]
    r = api.patch(f"/api/v1/records/company/{rid}", {"owner": None})
    assert r.status_code == 422 and "owner" in error_of(r)["fields"]
    r = api.post("/api/v1/records/company/bulk", [{"name": "B", "owner": None}])
    assert r.status_code == 422 and error_of(r)["rows"][0]["fields"] == {"owner": [
        "cannot be empty: every record has an owner"]}
    assert api.get(f"/api/v1/records/company/{rid}").get_json()["owner"] is not None


@pytest.mark.parametrize("change", [{"active": False}, {"profile": "standard_user"}, {"role": "ceo"}])
def test_nobody_demotes_themselves(api, services, admin_id, change):
    make_admin(services, "second")   # so the last-administrator rule is not what refuses it
    r = api.patch(f"/api/v1/records/user/{admin_id}", change)
    assert r.status_code == 409 and error_of(r)["code"] == "self_demotion", r.get_json()
    me = api.get(f"/api/v1/records/user/{admin_id}").get_json()
    assert me["active"] is True and me["profile"] == "system_administrator" and me["role"] is None


def test_nobody_removes_their_own_permission_sets(api, services, admin_id):
    a = api.post("/api/v1/records/permission_set_assignment",
                 {"user": admin_id, "permission_set": "export_data"}).get_json()
    r = api.delete(f"/api/v1/records/permission_set_assignment/{a['id']}")
    assert r.status_code == 409 and error_of(r)["code"] == "self_demotion"
    r = api.patch(f"/api/v1/records/permission_set_assignment/{a['id']}", {"user": make_admin(services, "x")["id"]})
    assert r.status_code == 409 and error_of(r)["code"] == "self_demotion"


def test_the_last_administrator_stays(api, services, client_for, admin_id):
    second = make_admin(services, "second")
    second_api = client_for(second)
    # the second admin demotes the first: fine, one administrator remains
    r = second_api.patch(f"/api/v1/records/user/{admin_id}", {"profile": "standard_user"})
    assert r.status_code == 200, r.get_json()
    # ...and the first (no longer an admin) cannot be demoted further; the second is the last
    r = api.patch(f"/api/v1/records/user/{second['id']}", {"active": False})
    assert r.status_code == 403     # the demoted admin lost manage rights on users
    # the system (CLI) cannot remove the last one either, by deactivation or profile change
    for change in ({"active": False}, {"profile": "standard_user"}):
        with pytest.raises(Exception) as info:
            services.records.update(SYSTEM, "user", second["id"], change)
        assert getattr(info.value, "code", "") == "last_administrator"
    assert services.records.get(SYSTEM, "user", second["id"])["active"] is True


def test_admin_rights_from_a_permission_set_count_and_are_kept(services, api, admin_id):
    """An org whose only other administrator holds the rights through a permission set: removing
    that assignment while the profile admin is gone is refused."""
    from tessera.meta.source import empty_org
    org = empty_org()
    org["components"]["permission_sets"]["org_admin"] = {"source": "org/permission_sets/org_admin.yaml", "doc": {
        "name": "org_admin", "label": "Org admin", "system_permissions": ["customize_metadata", "manage_users"]}}
    services.changes.apply_org(org, author="test", message="an admin permission set")
    helper, _ = services.identity.create_user("helper", password=STRONG, last_name="H", profile="standard_user")
    a = services.records.create(SYSTEM, "permission_set_assignment", {"user": helper["id"], "permission_set": "org_admin"})
    services.records.update(SYSTEM, "user", admin_id, {"active": False})   # helper is the last admin now
    for attempt in (lambda: services.records.delete(SYSTEM, "permission_set_assignment", a["id"]),
                    lambda: services.records.update(SYSTEM, "permission_set_assignment", a["id"],
                                                    {"permission_set": "export_data"})):
        with pytest.raises(Exception) as info:
            attempt()
        assert getattr(info.value, "code", "") == "last_administrator"
    assert services.identity.actor_for_user_id(uuid.UUID(helper["id"])).permission_sets == ("org_admin",)


def test_cli_deactivate_refuses_the_last_administrator(services, db_url):
    r = CliRunner().invoke(cli_main, ["user", "deactivate", "admin", "--database", db_url])
    assert r.exit_code == 1 and "customize_metadata and manage_users" in r.output
    assert services.identity.find_user("admin")["active"] is True


# -- item 4: names that exist, clean usernames ------------------------------------------------------
@pytest.mark.parametrize("field,value", [("profile", "no_such_profile"), ("role", "no_such_role")])
def test_profile_and_role_must_exist(api, admin_id, services, field, value):
    body = {"username": "zed", "last_name": "Z", "profile": "standard_user", field: value}
    r = api.post("/api/v1/records/user", body)
    assert r.status_code == 422 and field in error_of(r)["fields"], r.get_json()
    r = api.post("/api/v1/records/user/bulk", [body])
    assert r.status_code == 422 and field in error_of(r)["rows"][0]["fields"]
    other = make_admin(services, "other")
    r = api.patch(f"/api/v1/records/user/{other['id']}", {field: value})
    assert r.status_code == 422 and field in error_of(r)["fields"]


def test_permission_sets_and_groups_must_exist(api, services):
    other = make_admin(services, "other")
    for body in ({"permission_set": "nope"}, {"permission_set": "export_data", "kind": "permission_set_group"}):
        r = api.post("/api/v1/records/permission_set_assignment", {"user": other["id"], **body})
        assert r.status_code == 422 and "permission_set" in error_of(r)["fields"], r.get_json()
    ok = api.post("/api/v1/records/permission_set_assignment", {"user": other["id"], "permission_set": "export_data"})
    assert ok.status_code == 201
    r = api.patch(f"/api/v1/records/permission_set_assignment/{ok.get_json()['id']}", {"permission_set": "nope"})
    assert r.status_code == 422 and "permission_set" in error_of(r)["fields"]


@pytest.mark.parametrize("username", ["nul\x00name", "bell\x07", "evil\u202egnp.exe", "zero\u200bwidth",
                                      " padded", "padded ", "tab\t"])
def test_usernames_refuse_control_format_and_edge_whitespace(api, services, db_url, username):
    r = api.post("/api/v1/records/user", {"username": username, "last_name": "X", "profile": "standard_user"})
    assert r.status_code == 422 and "username" in error_of(r)["fields"], r.get_json()
    other = make_admin(services, "other")
    r = api.patch(f"/api/v1/records/user/{other['id']}", {"username": username})
    assert r.status_code == 422 and "username" in error_of(r)["fields"]
    if "\x00" not in username:   # a NUL cannot be a command-line argument
        result = CliRunner().invoke(cli_main, ["user", "create", username, "--profile", "standard_user",
                                               "--database", db_url])
        assert result.exit_code == 1 and "username" in result.output


def test_cli_user_create_refuses_unknown_profile(db_url, services):
    r = CliRunner().invoke(cli_main, ["user", "create", "zed", "--profile", "nope", "--database", db_url])
    assert r.exit_code == 1 and "no profile 'nope'" in r.output


def test_a_metadata_change_may_not_leave_the_org_without_an_administrator(services):
    """Item 1 holds for metadata changes too: a profile edit that takes manage_users from the only
    administrators is refused by the change pipeline (naming why); with another administrator left
    (through a permission set) the same edit goes through."""
    import pytest as _pytest
    from tessera.changes.service import ChangeRefused
    weakened = {"name": "system_administrator", "label": "System Administrator",
                "system_permissions": ["customize_metadata", "api_access"]}
    org = {"manifest": None, "components": {"profiles": {"system_administrator": {
        "source": "profiles/system_administrator.yaml", "doc": weakened}}}}
    before = services.changes.active_number()
    with _pytest.raises(ChangeRefused) as refused:
        services.changes.apply_org(org, author="test")
    assert "no active user with both customize_metadata and manage_users" in str(refused.value)
    assert services.changes.active_number() == before
    keeper = {"name": "user_keeper", "label": "User keeper", "system_permissions": ["manage_users"]}
    org["components"]["permission_sets"] = {"user_keeper": {"source": "permission_sets/user_keeper.yaml", "doc": keeper}}
    services.changes.apply_org({"manifest": None, "components": {"permission_sets": org["components"]["permission_sets"]}},
                               author="test")
    admin = services.identity.find_user("admin")
    from tessera.security.actor import SYSTEM
    services.records.create(SYSTEM, "permission_set_assignment", {"user": admin["id"], "permission_set": "user_keeper"})
    assert services.changes.apply_org(org, author="test").version is not None
