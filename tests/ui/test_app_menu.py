"""The app menu offers Setup to the users Setup lets in, and to no one else."""
from __future__ import annotations


def test_admins_get_a_setup_link_in_the_app_menu_and_user_menu(login):
    admin = login("admin")
    html = admin.html("/app/")
    assert html.count('class="dropdown-item setup-link" href="/setup/"') == 2
    assert admin.get("/setup/").status_code == 200     # the link leads somewhere they may go


def test_users_without_setup_rights_get_no_setup_link(login):
    rep = login("rep")
    assert "setup-link" not in rep.html("/app/")
    assert rep.get("/setup/").status_code == 403
