"""Scheduled backups, run by the job queue: on by setting TESSERA_BACKUP_DIR.

    TESSERA_BACKUP_DIR       where backups go (a directory that exists); unset: no scheduled backups
    TESSERA_BACKUP_SCHEDULE  when, as cron in UTC (default "0 2 * * *": every day at 02:00)
    TESSERA_BACKUP_KEEP      how many of the newest scheduled backups to keep (default 7)

Every worker fires the schedule, and its unique key makes each firing one job (automation/
schedule.py). The job writes `tessera-backup-<UTC time>.tgz` and then deletes the oldest
scheduled backups past the number to keep — only files of that name pattern, so backups an
operator put in the same directory by hand are never deleted.
"""
from __future__ import annotations

import logging
import os
import re
from datetime import datetime, timezone

from ..automation.handlers import registry
from ..automation.schedule import Schedule
from ..environment import EnvironmentSettingError
from .backup import create_backup

KIND = "operations.backup"
DEFAULT_SCHEDULE = "0 2 * * *"
DEFAULT_KEEP = 7
_SCHEDULED_NAME = re.compile(r"^tessera-backup-\d{8}T\d{6}Z\.tgz$")
log = logging.getLogger(__name__)


def settings(environ=os.environ) -> tuple[str, str, int] | None:
    """(directory, cron, keep), or None when scheduled backups are off; bad values raise
    EnvironmentSettingError naming the variable."""
    directory = (environ.get("TESSERA_BACKUP_DIR") or "").strip()
    if not directory:
        return None
    if not os.path.isdir(directory):
        raise EnvironmentSettingError(f"TESSERA_BACKUP_DIR {directory!r} is not a directory (create it first)")
    cron = (environ.get("TESSERA_BACKUP_SCHEDULE") or "").strip() or DEFAULT_SCHEDULE
    keep_text = (environ.get("TESSERA_BACKUP_KEEP") or "").strip() or str(DEFAULT_KEEP)
    if not keep_text.isdigit() or int(keep_text) < 1:
        raise EnvironmentSettingError(f"TESSERA_BACKUP_KEEP must be a whole number of backups, 1 or more, not {keep_text!r}")
    try:
        Schedule("backup", cron, KIND)
    except ValueError as exc:
        raise EnvironmentSettingError(f"TESSERA_BACKUP_SCHEDULE: {exc}") from None
    return os.path.abspath(directory), cron, int(keep_text)


def run_scheduled_backup(payload, context) -> None:
    directory, keep = payload["directory"], int(payload["keep"])
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    report = create_backup(context.services, os.path.join(directory, f"tessera-backup-{stamp}.tgz"))
    log.info("scheduled backup written: %s (%d bytes, %d files)", report.path, report.bytes, report.files)
    for old in prune(directory, keep):
        log.info("scheduled backup removed (keeping the newest %d): %s", keep, old)


def prune(directory: str, keep: int) -> list[str]:
    """Delete all but the newest `keep` scheduled backups in `directory`; returns what went."""
    scheduled = sorted(name for name in os.listdir(directory) if _SCHEDULED_NAME.match(name))
    gone = []
    for name in scheduled[:-keep] if keep else scheduled:
        path = os.path.join(directory, name)
        try:
            os.remove(path)
            gone.append(path)
        except FileNotFoundError:   # another worker's run pruned it first
            pass
    return gone


registry.register(KIND, run_scheduled_backup)
_configured = settings()
if _configured is not None:
    _directory, _cron, _keep = _configured
    registry.add_schedule(Schedule("backup", _cron, KIND, payload={"directory": _directory, "keep": _keep},
                                   max_attempts=3))
