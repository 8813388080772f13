"""Encrypted-field fixtures: a key in the environment and a `patient` object with encrypted fields
(randomized ssn and notes, deterministic email and code) added through the change pipeline."""
from __future__ import annotations

import pytest

from tessera.encryption.keys import generate_line
from tessera.meta.source import empty_org

PATIENT = {"name": "patient", "sharing_model": "read_write", "fields": {
    "name": {"type": "text", "required": True},
    "ssn": {"type": "text", "max_length": 11, "encrypted": True},
    "notes": {"type": "textarea", "encrypted": True, "encryption": "randomized"},
    "email": {"type": "email", "encrypted": True, "encryption": "deterministic"},
    "code": {"type": "text", "max_length": 20, "external_id": True, "encrypted": True,
             "encryption": "deterministic"},
    "city": {"type": "text"},
}}


def org_with(*docs) -> dict:
    org = empty_org()
    for doc in docs:
        org["components"]["objects"][doc["name"]] = {"source": f"org/objects/{doc['name']}.yaml", "doc": doc}
    return org


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


CLERK = {"name": "clerk", "label": "Clerk", "system_permissions": ["api_access"],
         "objects": {"patient": ["create", "read", "edit"], "user": ["read"]}}
AUDITOR = {"name": "auditor", "label": "Auditor", "system_permissions": ["view_encrypted_data"]}


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
