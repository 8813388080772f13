"""Setup → Installed Packages → Install from file: upload an archive, see who signed it, review
the plan, confirm; refused archives are named with their reason and nothing is kept or installed;
a newer uploaded version shows as "upgrade available"."""
from __future__ import annotations

import io
import re

from archive_helpers import crafted, member, mini_files, run, write_package_dir
from setup_helpers import confirm_fields
from werkzeug.datastructures import MultiDict

from tessera.meta.source import load_package
from tessera.packaging import uploads


def _upload(admin, data: bytes, filename="mini-1.0.0.tpkg"):
    # a list: MultiDict would read a bare tuple as several values
    return admin.post("/setup/packages/upload", {"archive": [(io.BytesIO(data), filename)]},
                      content_type="multipart/form-data")


def _flashes(admin) -> str:
    """The packages page, with the messages flashed since the last page."""
    return admin.get("/setup/packages/").get_data(as_text=True)


def _messages(page: str) -> list[str]:
    return [re.sub(r"\s+", " ", m).strip() for m in re.findall(r'ts-flash" role="alert">(.*?)<button', page, re.S)]


def _archive_id(response) -> int:
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return int(re.search(r"/archives/(\d+)$", response.headers["Location"]).group(1))


def test_upload_review_and_confirm_an_unsigned_archive(admin, services):
    before = services.changes.active().number
    archive_id = _archive_id(_upload(admin, crafted(mini_files())))
    page = admin.get(f"/setup/packages/archives/{archive_id}").get_data(as_text=True)
    assert "<code>mini</code> 1.0.0" in page and "not installed" in page
    assert "This archive is not signed." in page and 'data-signer-trusted="no"' in page

    # without the explicit choice, an unsigned archive is refused and the reason shown
    refused = admin.post(f"/setup/packages/archives/{archive_id}/install", {})
    assert refused.status_code == 302
    shown = admin.get(f"/setup/packages/archives/{archive_id}").get_data(as_text=True)
    assert "mini-1.0.0.tpkg cannot be installed:" in shown and "is not signed" in shown
    assert services.changes.active().number == before

    review, done = admin.change(f"/setup/packages/archives/{archive_id}/install", {"allow_unsigned": "1"})
    html = review.get_data(as_text=True)
    assert "install package mini 1.0.0" in html and "mini_note" in html
    assert done.status_code == 302
    active = services.changes.active()
    assert active.number == before + 1 and active.source == "package"
    assert active.message == "Install mini 1.0.0 from mini-1.0.0.tpkg"
    assert 'data-package="mini"' in admin.get("/setup/packages/").get_data(as_text=True)


def test_signed_by_a_trusted_key_installs_without_the_warning(admin, services, db_url, tmp_path):
    assert run("package", "keygen", "acme", "--dir", tmp_path).exit_code == 0
    assert run("package", "trust", tmp_path / "acme.pub", "--name", "acme", "--database", db_url).exit_code == 0
    pkg = write_package_dir(tmp_path / "mini", mini_files())
    assert run("package", "build", pkg, "-o", tmp_path / "m.tpkg", "--sign", tmp_path / "acme.key").exit_code == 0
    archive_id = _archive_id(_upload(admin, (tmp_path / "m.tpkg").read_bytes()))
    page = admin.get(f"/setup/packages/archives/{archive_id}").get_data(as_text=True)
    assert 'data-signer-trusted="yes"' in page and "allow_unsigned" not in page
    before = services.changes.active().number
    review, done = admin.change(f"/setup/packages/archives/{archive_id}/install", {})
    assert done.status_code == 302 and services.changes.active().number == before + 1


def test_refused_uploads_are_named_and_nothing_is_kept(admin, services):
    files = mini_files()
    evil = crafted(files, extra=[member("../escape.yaml", b"x")])
    r = _upload(admin, evil, "evil.tpkg")
    assert r.status_code == 302
    page = _flashes(admin)
    assert "The archive was refused: evil.tpkg: ../escape.yaml: has a &#39;..&#39; part" in page
    assert "Nothing was stored or installed." in page
    r = _upload(admin, b"not a zip at all", "junk.tpkg")
    assert "junk.tpkg: is not a package archive" in _flashes(admin)
    invalid = crafted(mini_files(object_doc="name: other\nlabel: X\nplural_label: Xs\nfields:\n  name: {type: text}\n"))
    _upload(admin, invalid, "invalid.tpkg")
    messages = _messages(_flashes(admin))
    assert "invalid.tpkg holds an invalid package; nothing was stored or installed:" in messages, messages
    assert ("invalid.tpkg/objects/mini_note.yaml: name: &#39;other&#39; must match the file name &#39;mini_note&#39;"
            in messages), messages
    assert "Choose a package archive" in (_upload(admin, b"", "") and _flashes(admin))
    assert uploads.listed(services.engine) == []
    assert admin.get("/setup/packages/archives/999").status_code == 404


def test_a_newer_uploaded_version_shows_upgrade_available(admin, services):
    first = _archive_id(_upload(admin, crafted(mini_files())))
    admin.change(f"/setup/packages/archives/{first}/install", {"allow_unsigned": "1"})
    assert "data-upgrade-available" not in _flashes(admin)
    newer = mini_files("1.1.0", object_doc="name: mini_note\nlabel: Mini Note\nplural_label: Mini Notes\n"
                                           "fields:\n  name: {type: text, required: true}\n  extra: {type: text}\n")
    second = _archive_id(_upload(admin, crafted(newer, version="1.1.0"), "mini-1.1.0.tpkg"))
    page = _flashes(admin)
    assert 'data-upgrade-available="mini"' in page and "upgrade available: 1.1.0" in page
    assert f"/setup/packages/archives/{second}" in page
    # the same bytes uploaded again are kept once
    assert _archive_id(_upload(admin, crafted(newer, version="1.1.0"), "again.tpkg")) == second
    review, done = admin.change(f"/setup/packages/archives/{second}/install", {"allow_unsigned": "1"})
    assert done.status_code == 302
    assert "data-upgrade-available" not in _flashes(admin)
    versions = {p["manifest"]["name"]: p["manifest"]["version"] for p in services.changes.active().snapshot["packages"]}
    assert versions["mini"] == "1.1.0"


def test_confirming_after_the_org_changed_shows_the_plan_again(admin, services, tmp_path):
    archive_id = _archive_id(_upload(admin, crafted(mini_files())))
    review = admin.post(f"/setup/packages/archives/{archive_id}/install", {"allow_unsigned": "1"})
    fields = confirm_fields(review.get_data(as_text=True))
    other = mini_files()
    other["package.yaml"] = other["package.yaml"].replace(b"name: mini", b"name: mini2")
    other["objects/mini_other.yaml"] = other.pop("objects/mini_note.yaml").replace(b"mini_note", b"mini_other")
    services.changes.install_packages([load_package(write_package_dir(tmp_path / "mini2", other))],
                                      author="someone")       # a new version meanwhile
    before = services.changes.active().number
    late = admin.client.post(f"/setup/packages/archives/{archive_id}/install", base_url="https://localhost",
                             headers={"Referer": "https://localhost/setup/"}, data=MultiDict(fields))
    assert late.status_code == 200 and services.changes.active().number == before


def test_install_from_file_needs_customize_metadata(services, app):
    from setup_helpers import Browser
    services.identity.create_user("rep", password="quartz-meadow-81", last_name="Rep", profile="tp_rep")
    rep = Browser(app.test_client()).login("rep", "quartz-meadow-81")
    assert _upload(rep, crafted(mini_files())).status_code == 403
    assert uploads.listed(services.engine) == []
