"""Installed packages in setup: what each provides and needs, and uninstall through the change
pipeline (plan first; dropping the package's tables needs the destructive confirmation)."""
from __future__ import annotations

import yaml

from tessera.meta.source import load_package
from tessera.security.actor import SYSTEM


def _install_extension(services, tmp_path):
    root = tmp_path / "survey"
    (root / "objects").mkdir(parents=True)
    (root / "package.yaml").write_text(yaml.safe_dump({
        "name": "survey", "label": "Surveys", "version": "1.2.0", "description": "Customer surveys.",
        "dependencies": {"testpkg": ">=1.0"}}))
    (root / "objects" / "survey.yaml").write_text(yaml.safe_dump({
        "name": "survey", "label": "Survey", "fields": {
            "name": {"type": "text", "required": True},
            "company": {"type": "lookup", "to": "company", "on_delete": "set_null"}}}))
    services.changes.install_packages([load_package(root)], author="partner")


def test_packages_page_lists_what_each_package_provides_and_needs(admin, services, tmp_path):
    _install_extension(services, tmp_path)
    html = admin.get("/setup/packages/").get_data(as_text=True)
    assert 'data-package="core"' in html and 'data-package="testpkg"' in html and 'data-package="survey"' in html
    assert "Customer surveys." in html and "1.2.0" in html and "1 object" in html
    assert '<code>testpkg</code> &gt;=1.0' in html
    # a package another one needs offers no uninstall; the one nothing needs does
    assert 'data-required-by="survey"' in html and 'data-uninstall="testpkg"' not in html
    assert 'data-uninstall="survey"' in html and 'data-uninstall="core"' not in html


def test_uninstall_shows_the_plan_then_drops_the_package_as_a_new_version(admin, services, tmp_path):
    _install_extension(services, tmp_path)
    company = services.records.create(SYSTEM, "company", {"name": "Acme"})
    services.records.create(SYSTEM, "survey", {"name": "Q4", "company": company["id"]})
    before = services.changes.active().number
    review = admin.post("/setup/packages/survey/uninstall", {})
    html = review.get_data(as_text=True)
    assert review.status_code == 200
    assert "remove package survey 1.2.0" in html and "drop object survey" in html and "destructive" in html
    assert services.changes.active().number == before     # the review changed nothing
    from werkzeug.datastructures import MultiDict
    from setup_helpers import confirm_fields
    unconfirmed = admin.client.post("/setup/packages/survey/uninstall", base_url="https://localhost",
                                    headers={"Referer": "https://localhost/setup/"},
                                    data=MultiDict(confirm_fields(html)))
    assert unconfirmed.status_code == 409                  # the data loss must be accepted explicitly
    assert services.changes.active().number == before
    review, done = admin.change("/setup/packages/survey/uninstall", {}, allow_destructive=True)
    assert done.status_code == 302
    active = services.changes.active()
    assert active.number == before + 1 and active.message == "Uninstall Surveys 1.2.0" and active.source == "package"
    assert "survey" not in services.runtimes.current().metadata.objects
    assert services.records.get(SYSTEM, "company", company["id"])["name"] == "Acme"   # its parent's data stays
    assert 'data-package="survey"' not in admin.get("/setup/packages/").get_data(as_text=True)


def test_uninstall_refused_while_the_org_uses_the_package(admin, services, tmp_path):
    """The org layer's field on the package's object keeps it installed; the reason is shown."""
    _install_extension(services, tmp_path)
    admin.change("/setup/objects/survey/fields/new?type=text", {"label": "Score Note"})
    before = services.changes.active().number
    r = admin.post("/setup/packages/survey/uninstall", {})
    assert r.status_code == 302
    page = admin.get("/setup/packages/").get_data(as_text=True)
    assert "Surveys cannot be uninstalled" in page and "survey" in page
    assert services.changes.active().number == before
    assert admin.post("/setup/packages/nope/uninstall", {}).status_code == 404


def test_packages_page_needs_customize_metadata(make_browser):
    rep = make_browser("rep")
    assert rep.get("/setup/packages/").status_code == 403
    assert rep.post("/setup/packages/testpkg/uninstall", {}).status_code == 403


def test_confirming_an_uninstall_someone_else_already_made_is_a_404(admin, services, tmp_path):
    from werkzeug.datastructures import MultiDict
    from setup_helpers import confirm_fields
    _install_extension(services, tmp_path)
    review = admin.post("/setup/packages/survey/uninstall", {}).get_data(as_text=True)
    services.changes.uninstall_packages(["survey"], author="someone", allow_destructive=True)
    late = admin.client.post("/setup/packages/survey/uninstall", base_url="https://localhost",
                             headers={"Referer": "https://localhost/setup/"},
                             data=MultiDict([*confirm_fields(review), ("_allow_destructive", "1")]))
    assert late.status_code == 404
