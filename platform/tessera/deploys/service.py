"""Deploys into this org, through the change pipeline, with a history and an undo.

    deploy(source)                 plan → check data → apply, as one new metadata version
    deploy(source, check_only)     the same, rolled back: a *validated deploy* to run later
    run_validated(id)              applies a validated deploy; its data checks are skipped while
                                   the org is still on the version it was validated against
    undo(id)                       the version before that deploy, made active again (a new version)

Every run leaves a row in `tessera_deploy`: who, from where, what (the plan as shown), the result
and how long it took. A successful deploy's row is written in the change's own transaction, so a
deploy killed at any point leaves the org on the old version with the row `running` (shown as
interrupted once its process is gone), or on the new one with the row `succeeded`.
"""
from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import insert, select, update

from ..changes import ChangeFailed, ChangeRefused
from ..changes.service import content_hash
from ..meta.errors import MetadataInvalid
from ..storage.engine import begin_read, begin_write
from ..storage.platform_tables import deploys, versions
from .sources import DeployError, DeploySource, merged_org

HOST = socket.gethostname()[:255]


@dataclass
class DeployOutcome:
    deploy_id: int
    status: str
    result: object            # the ChangeResult (plan, impacts, version)
    rechecked: bool = False   # a validated deploy whose org changed since: its data was checked again


def plan_rows(result_plan, impacts) -> list[dict]:
    rows = []
    for i, op in enumerate(result_plan):
        impact = impacts[i] if impacts and i < len(impacts) else None
        notes = list(impact.notes) + [f"would fail: {p}" for p in impact.problems] if impact else []
        rows.append({"safety": op.safety, "step": op.describe(), "notes": notes})
    return rows


class DeployService:
    def __init__(self, changes):
        self.changes = changes
        self.engine = changes.engine

    # -- running -------------------------------------------------------------------------------
    def deploy(self, source: DeploySource, *, author: str, message: str = "", check_only: bool = False,
               allow_destructive: bool = False, deletes: list[str] = ()) -> DeployOutcome:
        layer = json.loads(json.dumps(source.org, default=str))   # plain JSON (YAML may hand us dates), as stored
        current = self.changes.active()
        merged_org(current.snapshot.get("org") if current else None, layer, list(deletes))   # names checked first
        return self._run("validation" if check_only else "deploy", layer, source.lock, source.description,
                         author=author, message=message, check_only=check_only,
                         allow_destructive=allow_destructive, deletes=list(deletes))

    def run_validated(self, deploy_id: int, *, author: str, message: str = "",
                      allow_destructive: bool = False) -> DeployOutcome:
        row = self.get(deploy_id)
        if row is None or row["kind"] != "validation":
            raise DeployError(f"there is no validated deploy #{deploy_id} (`tessera deploys` lists them)")
        if row["status"] != "validated":
            raise DeployError(f"deploy #{deploy_id} did not pass its validation ({row['status']}): validate again")
        if content_hash({"org": row["org"]}) != row["content_hash"]:
            raise DeployError(f"validated deploy #{deploy_id} was altered after its validation: validate again")
        unchanged = self.changes.active_number() == row["base_version"]
        outcome = self._run("deploy", row["org"], row["lock"], f"validated deploy #{deploy_id} ({row['source']})",
                            author=author, message=message or row["message"], check_only=False,
                            allow_destructive=allow_destructive, deletes=row["deletes"] or [],
                            of_deploy=deploy_id, check_data=not unchanged)
        outcome.rechecked = not unchanged
        return outcome

    def check_undo(self, deploy_id: int, *, include_later: bool = False) -> dict:
        """The deploy row `undo` would undo; DeployError saying why it cannot be undone."""
        row = self.get(deploy_id)
        if row is None or row["kind"] != "deploy":
            raise DeployError(f"there is no deploy #{deploy_id} to undo (`tessera deploys` lists them)")
        if row["status"] == "undone":
            raise DeployError(f"deploy #{deploy_id} was undone already")
        if row["status"] != "succeeded":
            raise DeployError(f"deploy #{deploy_id} {row['status']}: it changed nothing to undo")
        if row["base_version"] is None or row["result_version"] in (None, row["base_version"]):
            raise DeployError(f"deploy #{deploy_id} changed no metadata: there is nothing to undo")
        active = self.changes.active_number()
        if active != row["result_version"] and not include_later:
            later = self._versions_after(row["result_version"])
            raise DeployError(
                f"the org has changed since deploy #{deploy_id} (version {row['result_version']}): "
                f"version{'s' if len(later) != 1 else ''} {', '.join(map(str, later))} came after it, and undoing "
                f"returns to version {row['base_version']}, undoing {'them' if len(later) != 1 else 'it'} too: "
                f"pass --include-later to do that")
        return row

    def undo(self, deploy_id: int, *, author: str, message: str = "", check_only: bool = False,
             allow_destructive: bool = False, include_later: bool = False, actor=None) -> DeployOutcome:
        row = self.check_undo(deploy_id, include_later=include_later)
        return self._run("undo", None, None, f"undo of deploy #{deploy_id}", author=author,
                         message=message or f"undo deploy #{deploy_id}", check_only=check_only,
                         allow_destructive=allow_destructive, deletes=[], of_deploy=deploy_id,
                         rollback_to=row["base_version"], actor=actor)

    def _run(self, kind, layer, lock, source, *, author, message, check_only, allow_destructive, deletes,
             of_deploy=None, check_data=True, rollback_to=None, actor=None) -> DeployOutcome:
        """`layer`: the source's org layer, merged into the org's as it is when the deploy runs (a
        validated deploy applied later keeps what the org gained since); kept on the row."""
        if check_only and kind == "undo":   # a look at an undo's plan is not a deploy: no history row
            result = self.changes.rollback(rollback_to, author=author, message=message, check_only=True,
                                           allow_destructive=allow_destructive, actor=actor)
            return DeployOutcome(0, "checked", result)
        started = time.monotonic()
        base = self.changes.active_number()
        deploy_id = self._start(kind, source, author, message, base, layer, lock, deletes, of_deploy)

        def committed(conn, version, result_plan):
            conn.execute(update(deploys).where(deploys.c.id == deploy_id).values(
                status="succeeded", result_version=version.number, plan=plan_rows(result_plan, None),
                finished_at=_now(), duration_ms=_ms(started)))
            if kind == "undo":
                conn.execute(update(deploys).where(deploys.c.id == of_deploy).values(status="undone"))

        try:
            if rollback_to is not None:
                result = self.changes.rollback(rollback_to, author=author, message=message, check_only=check_only,
                                               allow_destructive=allow_destructive, on_commit=committed, actor=actor)
            else:
                current = self.changes.active()
                org = merged_org(current.snapshot.get("org") if current else None, layer, deletes)
                result = self.changes.apply_org(org, author=author, message=message, source="deploy",
                                                check_only=check_only, allow_destructive=allow_destructive,
                                                lock=lock, check_data=check_data, on_commit=committed, actor=actor)
        except ChangeRefused as exc:
            self._finish(deploy_id, started, "refused", plan=plan_rows(exc.plan, exc.impacts),
                         error="\n".join(exc.reasons))
            raise
        except (MetadataInvalid, ChangeFailed, LookupError, DeployError) as exc:
            self._finish(deploy_id, started, "failed", error=str(exc))
            raise
        except BaseException as exc:   # still recorded: the row must not stay "running" in this process
            self._finish(deploy_id, started, "failed", error=f"{exc.__class__.__name__}: {exc}")
            raise
        if check_only:
            self._finish(deploy_id, started, "validated", plan=plan_rows(result.plan, result.impacts))
        elif result.version is None:          # nothing to change: a deploy that succeeded at once
            self._finish(deploy_id, started, "succeeded", plan=[], result_version=base)
        return DeployOutcome(deploy_id, self.get(deploy_id)["status"], result)

    def _start(self, kind, source, author, message, base, org, lock, deletes, of_deploy) -> int:
        with begin_write(self.engine) as conn:
            return conn.execute(insert(deploys).values(
                kind=kind, status="running", source=source, author=author, message=message or "",
                base_version=base, org=org, lock=lock, deletes=deletes,
                content_hash=content_hash({"org": org}) if org is not None else None,
                of_deploy=of_deploy, host=HOST, pid=os.getpid(), created_at=_now())).inserted_primary_key[0]

    def _finish(self, deploy_id, started, status, *, plan=None, error=None, result_version=None) -> None:
        values = {"status": status, "finished_at": _now(), "duration_ms": _ms(started), "error": error}
        if plan is not None:
            values["plan"] = plan
        if result_version is not None:
            values["result_version"] = result_version
        with begin_write(self.engine) as conn:
            conn.execute(update(deploys).where(deploys.c.id == deploy_id).values(**values))

    def _versions_after(self, number: int) -> list[int]:
        with begin_read(self.engine) as conn:
            return list(conn.execute(select(versions.c.number).where(versions.c.number > number)
                                     .order_by(versions.c.number)).scalars())

    # -- reading -------------------------------------------------------------------------------
    def history(self, limit: int = 50) -> list[dict]:
        columns = [c for c in deploys.c if c.name not in ("org", "lock")]
        with begin_read(self.engine) as conn:
            rows = conn.execute(select(*columns).order_by(deploys.c.id.desc()).limit(limit)).mappings().all()
        return [_shown(dict(r)) for r in rows]

    def get(self, deploy_id: int) -> dict | None:
        with begin_read(self.engine) as conn:
            row = conn.execute(select(deploys).where(deploys.c.id == deploy_id)).mappings().first()
        return _shown(dict(row)) if row else None


def _shown(row: dict) -> dict:
    """A `running` row whose process on this host is gone was interrupted (its change rolled back)."""
    if row["status"] == "running" and row.get("host") == HOST and row.get("pid") and not process_alive(row["pid"]):
        row["status"] = "interrupted"
    return row


def process_alive(pid: int) -> bool:
    """Whether a process of this host has that pid (signal 0 checks without signalling)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
