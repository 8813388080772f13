"""`tessera backup` / `tessera restore`: a round trip keeps every kind of data; a backup taken under
concurrent writes is one consistent state; damaged, altered, foreign or newer archives and occupied
targets are refused with the target left as it was."""
from __future__ import annotations

import io
import json
import tarfile
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from tessera.cli import _register, cli
from tessera.services import Services

ROOT = Path(__file__).resolve().parents[2]
_register() if not cli.commands else None


def run(*args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)


@pytest.fixture
def target_url(database_templates, tmp_path):
    """An empty database of its own to restore into."""
    yield from database_templates.empty(tmp_path / "target", "restored")


@pytest.fixture
def second_target_url(database_templates, tmp_path):
    yield from database_templates.empty(tmp_path / "second", "second")


def admin(svc):
    return svc.identity.actor_for_user(svc.identity.find_user("admin"))


def names(svc, obj="company"):
    page = svc.records.query(admin(svc), obj, fields=["name"], limit=1000, sort="name")
    return [r["name"] for r in page.records]


def test_round_trip_keeps_records_metadata_history_files_tokens_and_audit(services, db_url, target_url, tmp_path):
    actor = admin(services)
    acme = services.records.create(actor, "company", {"name": "Acme", "revenue": 1250.5, "tags": ["partner"]})
    services.records.update(actor, "company", acme["id"], {"name": "Acme Corp"})    # field history
    services.records.create(actor, "deal", {"name": "Big one", "company": acme["id"], "amount": 900})
    pdf = services.files.upload(actor, io.BytesIO(b"%PDF-1.4 quarterly numbers"), "q3.pdf",
                                attach_to=("company", acme["id"]))
    before_version = services.changes.active_number()
    _, token = services.identity.tokens.create(actor.user_id, name="ci")
    services.engine.dispose()

    backup = tmp_path / "org.tgz"
    made = run("backup", backup, "--database", db_url)
    assert made.exit_code == 0, made.output
    assert "1 stored file(s)" in made.output and backup.exists()
    assert not Path(str(backup) + ".partial").exists()

    checked = run("restore", backup, "--verify-only")
    assert checked.exit_code == 0 and "a valid Tessera backup" in checked.output

    restored = run("restore", backup, "--database", target_url)
    assert restored.exit_code == 0, restored.output
    assert "1 stored file(s)" in restored.output

    svc = Services.open(target_url, poll_seconds=0)
    try:
        assert svc.changes.active_number() == before_version
        assert names(svc) == ["Acme Corp"]
        got = svc.records.get(admin(svc), "company", acme["id"])
        assert str(got["revenue"]) in ("1250.5", "1250.50") and got["tags"] == ["partner"]
        assert [d["name"] for d in names_of(svc, "deal")] == ["Big one"]
        history = svc.records.history(admin(svc), "company", acme["id"]).records
        assert any(h.get("field") == "name" and h.get("new_value") == "Acme Corp" for h in history), history
        download = svc.files.open(admin(svc), pdf["id"])
        with download.stream as content:
            assert content.read() == b"%PDF-1.4 quarterly numbers"
        assert svc.identity.tokens.verify(token) is not None
        assert svc.identity.check_password("admin", "orchid-lantern-42") is not None
    finally:
        svc.engine.dispose()


def names_of(svc, obj):
    return svc.records.query(admin(svc), obj, fields=["name"], limit=1000).records


def test_a_backup_under_concurrent_writes_is_one_consistent_state(services, db_url, target_url, tmp_path):
    actor = admin(services)
    for i in range(20):
        services.records.create(actor, "company", {"name": f"c{i:05d}"})
    stop, written = threading.Event(), []

    def writer():
        i = 20
        while not stop.is_set():
            services.records.create(actor, "company", {"name": f"c{i:05d}"})
            written.append(i)
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 5:     # writing has begun before the backup starts
            stop.wait(0.01)
        made = run("backup", tmp_path / "busy.tgz", "--database", db_url)
        while len(written) < 5 + len(written) // 2 and len(written) < 40:
            stop.wait(0.01)
    finally:
        stop.set()
        thread.join()
    assert made.exit_code == 0, made.output
    assert run("restore", tmp_path / "busy.tgz", "--database", target_url).exit_code == 0
    svc = Services.open(target_url, poll_seconds=0)
    try:
        got = names(svc)
    finally:
        svc.engine.dispose()
    # the writes were one after another: a consistent snapshot holds a gap-free prefix of them
    assert got == [f"c{i:05d}" for i in range(len(got))]
    assert 25 <= len(got) <= 20 + len(written)


def test_an_occupied_target_needs_force_and_then_holds_exactly_the_backup(services, db_url, target_url, tmp_path):
    actor = admin(services)
    services.records.create(actor, "company", {"name": "From the backup"})
    services.engine.dispose()
    assert run("backup", tmp_path / "a.tgz", "--database", db_url).exit_code == 0
    assert run("restore", tmp_path / "a.tgz", "--database", target_url).exit_code == 0
    svc = Services.open(target_url, poll_seconds=0)
    svc.records.create(admin(svc), "company", {"name": "Written after the restore"})
    svc.engine.dispose()

    refused = run("restore", tmp_path / "a.tgz", "--database", target_url)
    assert refused.exit_code == 1
    assert "is not empty" in refused.stderr and "--force" in refused.stderr
    svc = Services.open(target_url, poll_seconds=0)
    assert names(svc) == ["From the backup", "Written after the restore"]
    svc.engine.dispose()

    forced = run("restore", tmp_path / "a.tgz", "--database", target_url, "--force")
    assert forced.exit_code == 0, forced.output
    assert "replacing what was there" in forced.output
    svc = Services.open(target_url, poll_seconds=0)
    assert names(svc) == ["From the backup"]
    svc.engine.dispose()


def _rewrite(source: Path, target: Path, change) -> None:
    """Copy a backup member by member, letting `change(name, data)` return new bytes, None to
    drop the member, or a list of (name, data) to put in its place."""
    with tarfile.open(source, "r:gz") as tar_in, tarfile.open(target, "w:gz") as tar_out:
        for info in tar_in:
            data = tar_in.extractfile(info).read()
            out = change(info.name, data)
            if out is None:
                continue
            for name, content in (out if isinstance(out, list) else [(info.name, out)]):
                item = tarfile.TarInfo(name)
                item.size = len(content)
                tar_out.addfile(item, io.BytesIO(content))


def _flip_database_byte(name, data):
    if name.startswith("database."):
        return data[:1000] + bytes([data[1000] ^ 0xFF]) + data[1001:]
    return data


def _extra_member(name, data):
    if name == "manifest.json":
        return [("../../evil.sh", b"rm -rf /"), (name, data)]
    return data


def _newer_version(name, data):
    if name == "manifest.json":
        manifest = json.loads(data)
        manifest["tessera_version"] = "999.0"
        return json.dumps(manifest).encode()
    return data


def _no_manifest(name, data):
    return None if name == "manifest.json" else data


@pytest.mark.parametrize("change, message", [
    (_flip_database_byte, "does not match the backup's manifest"),
    (_extra_member, "unexpected member '../../evil.sh'"),
    (_newer_version, "made by Tessera 999.0, newer than this one"),
    (_no_manifest, "has no manifest"),
])
def test_altered_or_foreign_archives_are_refused_and_the_target_is_untouched(
        services, db_url, target_url, tmp_path, change, message):
    assert run("backup", tmp_path / "good.tgz", "--database", db_url).exit_code == 0
    _rewrite(tmp_path / "good.tgz", tmp_path / "bad.tgz", change)
    for args in (["--verify-only"], ["--database", target_url]):
        refused = run("restore", tmp_path / "bad.tgz", *args)
        assert refused.exit_code == 1, refused.output
        assert message in refused.stderr
    # nothing was created in the target, and nothing was written outside
    assert run("restore", tmp_path / "good.tgz", "--database", target_url).exit_code == 0
    assert not (tmp_path.parent / "evil.sh").exists()


def test_truncated_and_non_archive_files_are_refused(services, db_url, tmp_path):
    assert run("backup", tmp_path / "good.tgz", "--database", db_url).exit_code == 0
    whole = (tmp_path / "good.tgz").read_bytes()
    (tmp_path / "cut.tgz").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "notes.txt").write_text("hello")
    cut = run("restore", tmp_path / "cut.tgz", "--verify-only")
    assert cut.exit_code == 1 and "damaged or cut short" in cut.stderr
    text = run("restore", tmp_path / "notes.txt", "--verify-only")
    assert text.exit_code == 1 and "not a Tessera backup" in text.stderr
    missing = run("restore", tmp_path / "nope.tgz", "--verify-only")
    assert missing.exit_code == 1 and "there is no backup file" in missing.stderr


def test_a_snapshot_that_cannot_be_restored_leaves_an_occupied_target_as_it_was(
        services, db_url, target_url, tmp_path):
    admin_actor = admin(services)
    services.records.create(admin_actor, "company", {"name": "Kept"})
    services.engine.dispose()
    assert run("backup", tmp_path / "good.tgz", "--database", db_url).exit_code == 0
    assert run("restore", tmp_path / "good.tgz", "--database", target_url).exit_code == 0

    # a database member that is not a database, with a manifest that agrees with it
    import hashlib
    junk = b"PGDMP" + b"\x00garbage" * 5000

    def swap(name, data):
        if name.startswith("database."):
            return junk
        if name == "manifest.json":
            manifest = json.loads(data)
            member = next(m for m in manifest["members"] if m.startswith("database."))
            manifest["members"][member] = {"size": len(junk), "sha256": hashlib.sha256(junk).hexdigest()}
            return json.dumps(manifest).encode()
        return data

    _rewrite(tmp_path / "good.tgz", tmp_path / "junk.tgz", swap)
    failed = run("restore", tmp_path / "junk.tgz", "--database", target_url, "--force")
    assert failed.exit_code == 1
    assert "unchanged" in failed.stderr or "damaged" in failed.stderr or "integrity" in failed.stderr
    svc = Services.open(target_url, poll_seconds=0)
    try:
        assert names(svc) == ["Kept"]
    finally:
        svc.engine.dispose()


def test_backups_of_an_uninitialized_database_and_to_a_missing_directory_are_refused(db_url, services, tmp_path):
    no_dir = run("backup", tmp_path / "nowhere" / "b.tgz", "--database", db_url)
    assert no_dir.exit_code == 1 and "does not exist" in no_dir.stderr
    assert not (tmp_path / "nowhere").exists()


def test_export_data_writes_every_readable_object_as_csv_for_an_admin_only(services, db_url, tmp_path):
    import zipfile
    actor = admin(services)
    services.records.create(actor, "company", {"name": "Exported Ltd"})
    services.identity.create_user("viewer", password="quiet-harbor-lamp-31", email="v@example.com",
                                  last_name="Viewer", profile="standard_user")
    services.engine.dispose()
    done = run("export-data", tmp_path / "all.zip", "--database", db_url)
    assert done.exit_code == 0, done.output
    with zipfile.ZipFile(tmp_path / "all.zip") as archive:
        assert "Exported Ltd" in archive.read("data/company.csv").decode()
        assert "manifest.json" in archive.namelist()
    refused = run("export-data", tmp_path / "no.zip", "--database", db_url, "--user", "viewer")
    assert refused.exit_code == 1 and "may not export" in refused.stderr
    assert not (tmp_path / "no.zip").exists()
    unknown = run("export-data", tmp_path / "no.zip", "--database", db_url, "--user", "nobody")
    assert unknown.exit_code == 1 and "there is no user 'nobody'" in unknown.stderr
