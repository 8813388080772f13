"""Shared pieces of the encryption tests (imported as `encryption_helpers`; never import from a
conftest): the `patient` object with encrypted fields, org layers, the table read raw."""
from __future__ import annotations

from sqlalchemy import Column, MetaData, Table, Text, Uuid, select

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


CLERK = {"name": "clerk", "label": "Clerk", "system_permissions": ["api_access"],
         "objects": {"patient": ["create", "read", "edit"], "user": ["read"]}}
AUDITOR = {"name": "auditor", "label": "Auditor", "system_permissions": ["view_encrypted_data"]}


def raw_rows(engine):
    """The table as the database holds it, read with SQLAlchemy Core and plain TEXT columns."""
    t = Table("obj_patient", MetaData(), Column("id", Uuid, primary_key=True),
              *(Column(n, Text) for n in ("name", "ssn", "notes", "email", "code", "city")))
    with engine.connect() as conn:
        return {str(r.id): r._asdict() for r in conn.execute(select(t))}


