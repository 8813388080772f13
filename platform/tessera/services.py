"""Wires one database's services together (used by the web app factory and the CLI)."""
from __future__ import annotations

import os
from dataclasses import dataclass

from .storage.engine import make_engine


@dataclass
class Services:
    engine: object
    changes: object
    runtimes: object
    records: object
    identity: object
    shares: object
    approvals: object = None   # automation.approvals.ApprovalService
    files: object = None       # files.FileService

    @classmethod
    def open(cls, url: str | None = None, *, engine=None, poll_seconds: float | None = None) -> "Services":
        from .bootstrap import secret_key
        from .changes import ChangeService
        from .identity import IdentityService
        from .records.service import RecordService
        from .runtime import RuntimeHolder

        engine = engine or make_engine(url)
        changes = ChangeService(engine)        # creates or updates the platform tables
        if poll_seconds is None:
            poll_seconds = float(os.environ.get("TESSERA_VERSION_POLL_SECONDS", "1.0"))
        runtimes = RuntimeHolder(changes, poll_seconds=poll_seconds)
        changes.on_activate.append(lambda _version: runtimes.refresh())
        from .records.shares import ShareService
        records = RecordService(engine, runtimes.current, secret=secret_key(engine))
        from .records.user_rights import keeps_an_administrator
        changes.guards.append(keeps_an_administrator)   # a metadata change keeps one administrator too
        from .automation import ApprovalService, WorkflowEngine, approval_guard
        workflows = WorkflowEngine(records).install()   # workflows run inside the record service's writes
        approvals = ApprovalService(records, workflows).install()   # approvals lock records
        changes.guards.append(approval_guard)   # no pending request loses its process
        from .files import FileService, max_upload_bytes, store_for
        files = FileService(engine, records, store_for(engine), max_bytes=max_upload_bytes()).install()
        from .packaging.data_patches import data_steps
        changes.data_steps.append(data_steps(records))   # package patches and seed data, in the change
        return cls(engine, changes, runtimes, records, IdentityService(engine, records), ShareService(records),
                   approvals, files)
