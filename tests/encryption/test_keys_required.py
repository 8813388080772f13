"""Metadata with encrypted fields and no key: the app refuses to start, naming the variable (a
real `tessera serve` process), and so does a bad key setting."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from encryption_helpers import PATIENT, org_with
from tessera.encryption.keys import parse_keyring
from tessera.environment import EnvironmentSettingError
from tessera.web.app import create_app

ROOT = Path(__file__).resolve().parents[2]


def serve(db_url, **env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_ENCRYPTION")}
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), "serve", "--database", db_url, "--port", "0",
                           "--no-worker"], capture_output=True, text=True, env={**clean, **env}, timeout=120)


def test_the_app_refuses_to_start_without_a_key(stock_apps, key_line, db_url, monkeypatch):
    stock_apps.changes.apply_org(org_with(PATIENT), author="test", message="patients")
    done = serve(db_url)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "need a key: set TESSERA_ENCRYPTION_KEY" in done.stderr and "patient.ssn" in done.stderr
    assert "Traceback" not in done.stderr
    monkeypatch.delenv("TESSERA_ENCRYPTION_KEY")
    with pytest.raises(EnvironmentSettingError, match="TESSERA_ENCRYPTION_KEY"):
        create_app(services=stock_apps)


@pytest.mark.parametrize("key, path_text, message", [
    ("c2hvcnQ=", None, "TESSERA_ENCRYPTION_KEY: a key must be base64 of 32 random bytes"),
    ("bad id!: " + "A" * 44, None, "TESSERA_ENCRYPTION_KEY: key id 'bad id!' must be"),
    (None, "", "TESSERA_ENCRYPTION_KEY_FILE: "),
    (None, "# only a comment\n", "holds no key"),
    (None, "a: " + "A" * 43 + "=\na: " + "B" * 43 + "=\n", "key id 'a' appears twice"),
    (None, "nocolon\n", "TESSERA_ENCRYPTION_KEY_FILE line 1: expected `key_id: base64`"),
])
def test_bad_key_settings_name_the_variable(tmp_path, key, path_text, message):
    path = None
    if path_text is not None:
        path = tmp_path / "keys"
        if path_text:
            path.write_text(path_text)
    with pytest.raises(EnvironmentSettingError) as info:
        parse_keyring(key, str(path) if path else None)
    assert message in str(info.value)
