"""Encrypted-field fixtures: a key in the environment and a `patient` object with encrypted fields
(randomized ssn and notes, deterministic email and code) added through the change pipeline."""
from __future__ import annotations

import pytest

from encryption_helpers import AUDITOR, CLERK, PATIENT, org_with
from tessera.encryption.keys import generate_line


@pytest.fixture
def key_line(monkeypatch):
    line = generate_line("first")
    monkeypatch.setenv("TESSERA_ENCRYPTION_KEY", line)
    monkeypatch.delenv("TESSERA_ENCRYPTION_KEY_FILE", raising=False)
    return line


@pytest.fixture
def patients(services, key_line):
    services.changes.apply_org(org_with(PATIENT), author="test", message="patients")
    return services


@pytest.fixture
def clerk(patients, client_for):
    """A user who may read and edit patients, without view_encrypted_data."""
    org = org_with(PATIENT)
    org["components"]["profiles"]["clerk"] = {"source": "org/profiles/clerk.yaml", "doc": CLERK}
    org["components"]["permission_sets"]["auditor"] = {"source": "org/permission_sets/auditor.yaml", "doc": AUDITOR}
    patients.changes.apply_org(org, author="test", message="a clerk")
    user, _ = patients.identity.create_user("cleo", password="Tq7-violet-harbor-92", profile="clerk", last_name="Cleo")
    client = client_for(user)
    client.user = user
    return client
