"""Build → verify → install a package archive with the CLI; signing, trust, tampering."""
from __future__ import annotations

import os
import stat

from archive_helpers import EXAMPLE, MANIFEST, members_of, mini_files, rezip, run, write_package_dir

from tessera.changes import ChangeService
from tessera.security import audit
from tessera.security.actor import SYSTEM
from tessera.storage.engine import make_engine


def _keys(tmp_path, name="acme"):
    r = run("package", "keygen", name, "--dir", tmp_path)
    assert r.exit_code == 0, r.output
    return tmp_path / f"{name}.key", tmp_path / f"{name}.pub"


def _active(url):
    engine = make_engine(url)
    try:
        return ChangeService(engine).active()
    finally:
        engine.dispose()


def test_example_extension_builds_verifies_and_installs_signed_by_a_trusted_key(sales, db_url, tmp_path,
                                                                               monkeypatch):
    work = tmp_path / "partner"
    work.mkdir()
    private, public = _keys(work)
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    monkeypatch.chdir(work)                     # -o defaults to NAME-VERSION.tpkg here
    monkeypatch.delenv("TESSERA_DATABASE_URL", raising=False)
    built = run("package", "build", EXAMPLE, "--sign", private)
    assert built.exit_code == 0, built.output
    archive = work / "acme_invoicing-1.0.0.tpkg"
    assert archive.is_file() and "signed by acme" in built.output
    assert sorted(os.listdir(work)) == ["acme.key", "acme.pub", "acme_invoicing-1.0.0.tpkg"]   # no database

    verified = run("package", "verify", archive)
    assert verified.exit_code == 0, verified.output
    lines = verified.output.splitlines()
    assert "name:     acme_invoicing" in lines and "version:  1.0.0" in lines
    content_hash = next(l.split()[1] for l in lines if l.startswith("hash:"))
    assert len(content_hash) == 64 and content_hash in built.output
    assert any(l.startswith("signer:   acme (key ed25519:") for l in lines)

    trusted = run("package", "trust", public, "--name", "acme-partners", "--database", db_url)
    assert trusted.exit_code == 0, trusted.output
    assert "acme-partners" in run("package", "trusted", "--database", db_url).output
    assert "trusted key" in run("package", "verify", archive, "--database", db_url).output

    before = _active(db_url).number
    installed = run("install", archive, "--database", db_url)
    assert installed.exit_code == 0, installed.output
    assert "signed by" not in installed.output or "acme-partners" in installed.output
    active = _active(db_url)
    assert active.number == before + 1 and "acme_invoicing 1.0.0" in active.message
    names = {p["manifest"]["name"]: p for p in active.snapshot["packages"]}
    assert names["acme_invoicing"]["components"]["objects"]["acme__invoice"]["source"] == \
        "acme_invoicing-1.0.0.tpkg/objects/acme__invoice.yaml"
    sales.runtimes.refresh()
    account = sales.records.create(SYSTEM, "account", {"name": "Bakery"})
    invoice = sales.records.create(SYSTEM, "acme__invoice", {"account": account["id"], "status": "Paid"})
    assert invoice["number"] == "INV-000001" and invoice["paid_on"]     # its workflow came along

    # the same archive again: nothing to change
    again = run("install", archive, "--database", db_url)
    assert again.exit_code == 0 and "No changes." in again.output


def test_archive_install_is_the_same_as_the_directory_install(services, db_url, tmp_path):
    pkg = write_package_dir(tmp_path / "mini", mini_files())
    assert run("package", "build", pkg, "-o", tmp_path / "mini.tpkg").exit_code == 0
    from_dir = run("install", pkg, "--database", db_url, "--check-only")
    from_archive = run("install", tmp_path / "mini.tpkg", "--database", db_url, "--check-only", "--allow-unsigned")
    assert from_dir.exit_code == 0 and from_archive.exit_code == 0, from_archive.output
    plan = [l for l in from_dir.output.splitlines() if l.startswith("  [")]
    assert plan and plan == [l for l in from_archive.output.splitlines() if l.startswith("  [")]


def test_unsigned_archive_needs_allow_unsigned(services, db_url, tmp_path):
    pkg = write_package_dir(tmp_path / "mini", mini_files())
    assert run("package", "build", pkg, "-o", tmp_path / "mini.tpkg").exit_code == 0
    assert "signer:   unsigned" in run("package", "verify", tmp_path / "mini.tpkg").output
    before = _active(db_url).number
    refused = run("install", tmp_path / "mini.tpkg", "--database", db_url)
    assert refused.exit_code == 1
    assert "mini.tpkg: is not signed: install it anyway with --allow-unsigned" in refused.stderr
    assert "nothing was installed" in refused.stderr and _active(db_url).number == before
    ok = run("install", tmp_path / "mini.tpkg", "--allow-unsigned", "--database", db_url)
    assert ok.exit_code == 0, ok.output
    assert _active(db_url).number == before + 1


def test_archive_signed_by_an_untrusted_key_is_refused(services, db_url, tmp_path):
    private, public = _keys(tmp_path, "stranger")
    other_private, other_public = _keys(tmp_path, "friend")
    assert run("package", "trust", other_public, "--name", "friend", "--database", db_url).exit_code == 0
    pkg = write_package_dir(tmp_path / "mini", mini_files())
    assert run("package", "build", pkg, "-o", tmp_path / "mini.tpkg", "--sign", private).exit_code == 0
    before = _active(db_url).number
    refused = run("install", tmp_path / "mini.tpkg", "--database", db_url)
    assert refused.exit_code == 1
    assert "which says it is 'stranger'), a key this org does not trust" in refused.stderr
    assert _active(db_url).number == before
    # the admin's explicit choice installs it anyway
    assert run("install", tmp_path / "mini.tpkg", "--allow-unsigned", "--database", db_url).exit_code == 0


def test_untrusting_a_key_refuses_its_archives_again(services, db_url, tmp_path):
    private, public = _keys(tmp_path)
    assert run("package", "trust", public, "--name", "acme", "--database", db_url).exit_code == 0
    again = run("package", "trust", public, "--name", "other", "--database", db_url)
    assert again.exit_code == 1 and "is already trusted as 'acme'" in again.stderr
    pkg = write_package_dir(tmp_path / "mini", mini_files())
    assert run("package", "build", pkg, "-o", tmp_path / "mini.tpkg", "--sign", private).exit_code == 0
    assert run("install", tmp_path / "mini.tpkg", "--database", db_url, "--check-only").exit_code == 0
    assert run("package", "untrust", "acme", "--database", db_url).exit_code == 0
    assert "No trusted keys." in run("package", "trusted", "--database", db_url).output
    assert run("install", tmp_path / "mini.tpkg", "--database", db_url).exit_code == 1
    missing = run("package", "untrust", "acme", "--database", db_url)
    assert missing.exit_code == 1 and "no trusted key is labelled 'acme'" in missing.stderr
    actions = [e["action"] for e in audit.entries(services.engine, limit=10) if e["action"].startswith("package.")]
    assert actions == ["package.untrust", "package.trust"]


def test_tampered_file_is_refused_even_unsigned(services, db_url, tmp_path):
    pkg = write_package_dir(tmp_path / "mini", mini_files())
    archive = tmp_path / "mini.tpkg"
    assert run("package", "build", pkg, "-o", archive).exit_code == 0
    contents = members_of(archive)
    contents["objects/mini_note.yaml"] += b"\n# changed after the build\n"
    rezip(archive, contents)
    before = _active(db_url).number
    r = run("install", archive, "--allow-unsigned", "--database", db_url)
    assert r.exit_code == 1
    assert ("mini.tpkg: objects/mini_note.yaml: does not match its size and sha256 in the manifest (changed after "
            "the archive was built); nothing was installed") in r.stderr
    assert "error" in run("package", "verify", archive).stderr
    assert _active(db_url).number == before


def test_changed_manifest_breaks_the_signature_even_with_allow_unsigned(services, db_url, tmp_path):
    private, public = _keys(tmp_path)
    pkg = write_package_dir(tmp_path / "mini", mini_files())
    archive = tmp_path / "mini.tpkg"
    assert run("package", "build", pkg, "-o", archive, "--sign", private).exit_code == 0
    contents = members_of(archive)
    evil = mini_files(object_doc="name: mini_note\nlabel: Evil\nplural_label: Evils\nfields:\n  name: {type: text}\n")
    from tessera.packaging.archive_format import make_manifest
    contents.update(evil)
    contents[MANIFEST] = make_manifest("mini", "1.0.0", evil)   # consistent hashes, old signature
    rezip(archive, contents)
    r = run("install", archive, "--allow-unsigned", "--database", db_url)
    assert r.exit_code == 1
    assert "mini.tpkg: .tpkg/signature.json: the signature does not match the manifest" in r.stderr


def test_mixed_directories_and_archives_install_as_one_version(services, db_url, tmp_path):
    mini = write_package_dir(tmp_path / "mini", mini_files())
    other = mini_files()
    other["package.yaml"] = other["package.yaml"].replace(b"name: mini", b"name: mini2")
    other["objects/mini_other.yaml"] = other.pop("objects/mini_note.yaml").replace(b"mini_note", b"mini_other")
    assert run("package", "build", write_package_dir(tmp_path / "mini2", other), "-o", tmp_path / "m2.tpkg").exit_code == 0
    before = _active(db_url).number
    r = run("install", mini, tmp_path / "m2.tpkg", "--allow-unsigned", "--database", db_url)
    assert r.exit_code == 0, r.output
    active = _active(db_url)
    assert active.number == before + 1
    assert {"mini", "mini2"} <= {p["manifest"]["name"] for p in active.snapshot["packages"]}


def test_build_refuses_an_invalid_package_and_writes_nothing(tmp_path):
    files = mini_files(object_doc="name: wrong_name\nlabel: X\nfields:\n  name: {type: text}\n")
    pkg = write_package_dir(tmp_path / "mini", files)
    r = run("package", "build", pkg, "-o", tmp_path / "mini.tpkg")
    assert r.exit_code == 1
    assert "objects/mini_note.yaml: name: 'wrong_name' must match the file name 'mini_note'" in r.stderr
    assert not (tmp_path / "mini.tpkg").exists()
    # semantic checks run too, without a database: a lookup to an object nobody provides
    bad = mini_files(object_doc="name: mini_note\nlabel: N\nfields:\n  name: {type: text}\n"
                                "  owner_thing: {type: lookup, to: nothing_here}\n")
    r = run("package", "build", write_package_dir(tmp_path / "bad", bad), "-o", tmp_path / "bad.tpkg")
    assert r.exit_code == 1 and "nothing_here" in r.stderr and not (tmp_path / "bad.tpkg").exists()


def test_build_refuses_a_missing_dependency_and_a_link(tmp_path):
    files = mini_files()
    files["package.yaml"] += b"dependencies:\n  elsewhere: '>=1.0'\n"
    r = run("package", "build", write_package_dir(tmp_path / "dep", files), "-o", tmp_path / "x.tpkg")
    assert r.exit_code == 1 and "needs package 'elsewhere'" in r.stderr
    pkg = write_package_dir(tmp_path / "link", mini_files())
    (pkg / "objects" / "mini_link.yaml").symlink_to(tmp_path / "dep" / "package.yaml")
    r = run("package", "build", pkg, "-o", tmp_path / "y.tpkg")
    assert r.exit_code == 1 and "mini_link.yaml: is a symbolic link" in r.stderr


def test_keygen_never_overwrites_and_bad_keys_are_named(tmp_path):
    private, public = _keys(tmp_path)
    r = run("package", "keygen", "acme", "--dir", tmp_path)
    assert r.exit_code == 1 and "already exists" in r.stderr
    pkg = write_package_dir(tmp_path / "mini", mini_files())
    r = run("package", "build", pkg, "--sign", public, "-o", tmp_path / "m.tpkg")
    assert r.exit_code == 1 and "acme.pub: not an unencrypted PEM private key" in r.stderr
    r = run("package", "trust", private, "--name", "x", "--database", f"sqlite:///{tmp_path / 'x.db'}")
    assert r.exit_code == 1 and "that is the private key: give the .pub file" in r.stderr
    r = run("package", "keygen", "../evil", "--dir", tmp_path)
    assert r.exit_code == 1 and "is not a key name" in r.stderr
