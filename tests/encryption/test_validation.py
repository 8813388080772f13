"""Metadata checks of encrypted fields: every refused combination is an error naming the file and
the path (JSON Schema for the types, semantic checks for the rest)."""
from __future__ import annotations

import copy

import pytest

from tessera.meta.errors import MetadataInvalid

from encryption_helpers import PATIENT

VISIT = {"name": "visit", "fields": {"name": {"type": "text"}, "patient": {"type": "master_detail", "to": "patient"},
                                     "diagnosis": {"type": "text", "encrypted": True}}}


def org(patient_fields=None, **components):
    patient = copy.deepcopy(PATIENT)
    patient["fields"].update(patient_fields or {})
    out = {"manifest": None, "components": {"objects": {
        n: {"source": f"org/objects/{n}.yaml", "doc": d} for n, d in (("patient", patient), ("visit", VISIT))}}}
    for kind, docs in components.items():
        out["components"][kind] = {d["name"]: {"source": f"org/{kind}/{d['name']}.yaml", "doc": d} for d in docs}
    return out


def errors(services, org_doc) -> list[str]:
    with pytest.raises(MetadataInvalid) as info:
        services.changes.apply_org(org_doc, author="test", message="encryption checks")
    return [str(e) for e in info.value.errors]


def test_the_fixture_metadata_is_valid(services, key_line):
    services.changes.apply_org(org(), author="test", message="valid")


@pytest.mark.parametrize("fields, expected", [
    ({"age": {"type": "integer", "encrypted": True}},
     "org/objects/patient.yaml: fields.age.encrypted: unknown property"),
    ({"mode": {"type": "text", "encryption": "sideways"}}, "org/objects/patient.yaml: fields.mode.encryption:"),
    ({"ssn": {"type": "text", "encrypted": True, "searchable": True}},
     "org/objects/patient.yaml: fields.ssn.encrypted: an encrypted field cannot be searchable"),
    ({"ssn": {"type": "text", "encrypted": True, "unique": True}},
     "org/objects/patient.yaml: fields.ssn.encrypted: a unique field needs equal values to be equal when stored"),
    ({"ssn": {"type": "text", "encrypted": True, "external_id": True}},
     "org/objects/patient.yaml: fields.ssn.encrypted: an external id must be found by its value"),
    ({"name": {"type": "text", "encrypted": True, "encryption": "deterministic"}},
     "org/objects/patient.yaml: fields.name.encrypted: the name field cannot be encrypted"),
    ({"masked": {"type": "formula", "returns": "text", "expression": "ssn"}},
     "org/objects/patient.yaml: fields.masked.expression: patient.ssn is encrypted: a formula field"),
    ({"diagnoses": {"type": "rollup", "object": "visit", "relationship": "patient", "function": "count", "filter": "not ISBLANK(diagnosis)"}},
     "org/objects/patient.yaml: fields.diagnoses.filter: visit.diagnosis is encrypted: a roll-up filter"),
])
def test_refused_fields(services, key_line, fields, expected):
    found = errors(services, org(fields))
    assert any(e.startswith(expected) for e in found), found


@pytest.mark.parametrize("kind, doc, expected", [
    ("list_views", {"name": "by_email", "object": "patient", "columns": ["name", "email"], "filter": "email == 'x'"},
     "org/list_views/by_email.yaml: filter: patient.email is encrypted: a list view filter"),
    ("list_views", {"name": "sorted", "object": "patient", "columns": ["name"], "sort": ["name", "-ssn"]},
     "org/list_views/sorted.yaml: sort.1: patient.ssn is encrypted: a sort"),
    ("reports", {"name": "by_code", "object": "patient", "format": "summary", "groupings": ["code"]},
     "org/reports/by_code.yaml: groupings.0: patient.code is encrypted: a grouping"),
    ("reports", {"name": "filtered", "object": "visit", "filter": "patient.email == 'x'"},
     "org/reports/filtered.yaml: filter: patient.email is encrypted: a report filter"),
    ("reports", {"name": "distinct", "object": "patient", "format": "summary", "groupings": ["city"],
                 "summaries": [{"metric": "count_distinct:email"}]},
     "org/reports/distinct.yaml: summaries.0.metric: patient.email is encrypted: a summary"),
    ("duplicate_rules", {"name": "same_email", "object": "patient", "action": "warn",
                         "conditions": [{"field": "email", "match": "exact"}]},
     "org/duplicate_rules/same_email.yaml: conditions.0.field: patient.email is encrypted: a duplicate rule"),
    ("sharing_rules", {"name": "oslo", "object": "patient", "access": "read", "criteria": "ISBLANK(ssn)",
                       "share_with": {"role": "x"}},
     "org/sharing_rules/oslo.yaml: criteria: patient.ssn is encrypted: sharing-rule criteria"),
])
def test_refused_references(services, key_line, kind, doc, expected):
    found = errors(services, org(**{kind: [doc]}))
    assert any(e.startswith(expected) for e in found), found
