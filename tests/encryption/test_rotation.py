"""Key rotation: a new primary key in TESSERA_ENCRYPTION_KEY_FILE, `tessera keys rotate` enqueues a
job a real worker runs, every value ends under the new key, equality filters match before and
after, running it again changes nothing; `tessera keys status` counts values per key."""
from __future__ import annotations

import threading
import time

import pytest
from click.testing import CliRunner

from tessera.automation import Worker, load_handler_modules
from tessera.cli import _register, cli
from tessera.encryption.keys import generate_line

from encryption_helpers import raw_rows


def keys(db_url, *args):
    _register() if not cli.commands else None
    return CliRunner().invoke(cli, ["keys", *args, *(["--database", db_url] if args[0] != "generate" else [])],
                              catch_exceptions=False)


def run_worker_until(services, done, seconds=30.0):
    load_handler_modules("")   # as `tessera worker` does: the built-in job modules
    worker = Worker(services, concurrency=1, poll_interval=0.05)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline and not done():
            time.sleep(0.1)
    finally:
        worker.stop()
        thread.join(timeout=30)


@pytest.fixture
def rotated_keyring(api, patients, key_line, tmp_path, monkeypatch):
    """Patients written under key `first`, then a key file with a new primary `second`."""
    for n in range(12):
        r = api.post("/api/v1/records/patient", json={"name": f"P{n}", "ssn": f"123-45-{n:04d}",
                                                      "email": f"p{n}@example.com", "code": f"C-{n}"})
        assert r.status_code == 201, r.get_json()
    path = tmp_path / "keys.txt"
    path.write_text(f"# the newest key first\n{generate_line('second')}\n{key_line}\n")
    monkeypatch.delenv("TESSERA_ENCRYPTION_KEY")
    monkeypatch.setenv("TESSERA_ENCRYPTION_KEY_FILE", str(path))
    return path


def test_generate_prints_a_key_line():
    line = keys("", "generate", "--id", "2026-12").output.strip()
    assert line.startswith("2026-12: ") and len(line.split(": ")[1]) == 44
    assert keys("", "generate", "--id", "no way").exit_code == 1


def test_rotation_re_encrypts_every_value_under_the_primary_key(db_url, api, patients, rotated_keyring):
    # before: old values still read and match equality filters under the old key; new ones use the new key
    r = api.post("/api/v1/records/patient", json={"name": "New", "email": "new@example.com", "code": "C-new"})
    assert raw_rows(patients.engine)[r.get_json()["id"]]["email"].startswith("enc1:second:d:")
    found = api.get("/api/v1/records/patient", query_string={"filter": "email in ['p3@example.com', 'new@example.com']",
                                                             "sort": "name"}).get_json()["records"]
    assert [x["name"] for x in found] == ["New", "P3"]
    status = keys(db_url, "status")
    assert status.exit_code == 0, status.output
    assert "Keys (TESSERA_ENCRYPTION_KEY_FILE): second (primary), first" in status.output
    assert "patient.email (deterministic): 13 values — second: 1, first: 12; to rotate: 12" in status.output

    result = keys(db_url, "rotate")
    assert result.exit_code == 0 and "Enqueued job" in result.output, result.output
    run_worker_until(patients, lambda: all(
        v is None or v.startswith("enc1:second:") for row in raw_rows(patients.engine).values()
        for k, v in row.items() if k in ("ssn", "email", "code")))
    rows = raw_rows(patients.engine)
    assert all(row["email"].startswith("enc1:second:d:") and row["code"].startswith("enc1:second:d:")
               for row in rows.values())
    assert all(row["ssn"] is None or row["ssn"].startswith("enc1:second:r:") for row in rows.values())
    found = api.get("/api/v1/records/patient", query_string={"filter": "code == 'C-7'"}).get_json()["records"]
    assert [(x["name"], x["ssn"]) for x in found] == [("P7", "123-45-0007")]
    assert "patient.ssn (randomized): 12 values — second: 12, first: 0; to rotate: 0" in keys(db_url, "status").output

    from tessera.encryption.rotation import rotate
    assert rotate(patients) == 0    # safe to run again: nothing left to do
    assert raw_rows(patients.engine) == rows


def test_values_under_a_key_no_longer_configured_are_named(db_url, api, patients, rotated_keyring, monkeypatch):
    rotated_keyring.write_text(generate_line("third") + "\n")
    result = keys(db_url, "status")
    assert result.exit_code == 1
    assert "under other keys: 12" in result.output and "add those keys back" in result.output
    r = api.get("/api/v1/records/patient", query_string={"fields": "name,ssn"})
    assert r.status_code == 500 and r.get_json()["error"]["code"] == "decryption_failed", r.get_json()
    assert "123-45" not in r.get_data(as_text=True)
