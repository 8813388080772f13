"""Record service errors: each carries the HTTP status and machine-readable code the API returns."""
from __future__ import annotations


class RecordError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.details = details or {}

    def to_dict(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        body.update(self.details)
        return body


class BadQuery(RecordError):
    status, code = 400, "bad_query"


class EncryptedFieldRefused(BadQuery):
    """A filter, sort or grouping asks of an encrypted field what its ciphertext cannot answer
    (tessera/encryption/queries.py): `details` names the field and the parameter."""
    code = "encrypted_field"


class Forbidden(RecordError):
    status, code = 403, "forbidden"


class NotFound(RecordError):
    status, code = 404, "not_found"


class Conflict(RecordError):
    status, code = 409, "conflict"
    foreign_key = False   # a foreign key refused the write (a lookup to a missing or protected record)


class ForeignKeyConflict(Conflict):
    foreign_key = True


class RecordLocked(Conflict):
    """The record is locked (pending approval): only its approvers and administrators may change it."""
    code = "record_locked"


class DuplicatesFound(Conflict):
    """A block duplicate rule refused the write: `details["duplicates"]` lists each rule's
    findings (records/duplicates.py) — the matching records the actor may see, the others counted
    as hidden — and `overridable` says whether allow_duplicates would save it."""
    code = "duplicates_found"


class StaleVersion(RecordError):
    status, code = 412, "stale_version"


class ValidationFailed(RecordError):
    status, code = 422, "validation_failed"


class BulkFailed(ValidationFailed):
    """All-or-nothing bulk write refused: `rows` lists each failing row's index and errors."""

    def __init__(self, rows: list[dict], *, status: int = 422):
        n = len(rows)
        super().__init__(f"{n} row{'s' if n != 1 else ''} failed; nothing was saved", details={"rows": rows})
        self.status = status


class WorkflowFailed(RecordError):
    """A workflow run by a write failed (a bad value, a failing action, a loop): the write and
    everything the run did are rolled back. `details` names the workflow and the step."""
    status, code = 422, "workflow_failed"
