"""The setup UI's changes in the audit log: the change pipeline writes the one `metadata.change`
entry per saved version (with the signed-in admin as actor); the review (check-only) writes none;
the users page's permission changes are audited by the record service, each once."""
from __future__ import annotations

from tessera.security import audit


def metadata_entries(services):
    return audit.entries(services.engine, action="metadata.change", limit=1000)


def test_a_setup_save_writes_one_entry_with_the_admin_as_actor(admin, services):
    before = metadata_entries(services)
    roles = services.runtimes.current().metadata.roles
    data = {f"label:{n}": c.get("label") or "" for n, c in roles.items()}
    data.update({f"parent:{n}": c.get("parent") or "" for n, c in roles.items()})
    data.update({"new_label": "Regional Lead", "new_name": "regional_lead", "new_parent": "tp_boss"})
    review = admin.post("/setup/roles/", data)
    assert review.status_code == 200 and "add role regional_lead" in review.get_data(as_text=True)
    assert metadata_entries(services) == before                      # the review changed nothing
    admin.change("/setup/roles/", data)
    version = services.changes.active()
    added = [e for e in metadata_entries(services) if e not in before]
    assert [e["subject"] for e in added] == [f"version {version.number}"]
    entry = added[0]
    assert entry["actor"] == services.identity.find_user("admin")["id"]
    assert (entry["detail"]["source"], entry["detail"]["author"]) == ("ui", "admin")
    assert entry["detail"]["plan"]["security"] == ["add role regional_lead"]


def test_setup_rollback_writes_one_rollback_entry(admin, services):
    first = services.changes.active().number
    admin.change("/setup/objects/new", {"label": "Gadget", "name_type": "text", "sharing_model": "private"})
    count = len(metadata_entries(services))
    admin.change(f"/setup/versions/{first}/rollback", {}, allow_destructive=True)
    entries = metadata_entries(services)
    assert len(entries) == count + 1
    detail = entries[0]["detail"]
    assert detail["source"] == "rollback" and detail["plan"]["destructive"] == ["drop object gadget"]


def test_users_page_permission_changes_are_audited_once(admin, services):
    r = admin.post("/setup/users/new/", {"username": "newbie", "last_name": "Bie", "profile": "tp_rep",
                                         "role": "tp_worker", "permission_sets": ["permission_set:tp_revenue_editor"],
                                         "password": "first-password-1"})
    assert r.status_code == 302
    user = services.identity.find_user("newbie")
    r = admin.post(f"/setup/users/edit/?id={user['id']}", {"last_name": "Bie", "profile": "tp_viewer",
                                                           "role": "tp_worker", "active": "y"})
    assert r.status_code == 302
    r = admin.post(f"/setup/users/password/?id={user['id']}", {"password": "second-password-2"})
    assert r.status_code == 302
    r = admin.post("/setup/users/action/", {"action": "deactivate", "rowid": [user["id"]]})
    assert r.status_code == 302
    mine = [e for e in audit.entries(services.engine, limit=1000) if e["subject"] == "newbie"]
    assert [e["action"] for e in reversed(mine)] == ["user.create", "permission_set.assign", "user.update",
                                                     "permission_set.unassign", "user.reset_password",
                                                     "user.deactivate"]
    assert {e["actor"] for e in mine} == {services.identity.find_user("admin")["id"]}
    update = next(e for e in mine if e["action"] == "user.update")
    assert update["detail"].pop("request_id")
    assert update["detail"] == {"profile": {"from": "tp_rep", "to": "tp_viewer"}}
