"""Scheduled backups (TESSERA_BACKUP_DIR/SCHEDULE/KEEP) run by a real `tessera worker` process:
a backup appears, only the newest scheduled ones are kept, hand-made files are left alone, and a
bad setting stops the worker with the variable named."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from tessera.cli import _register, cli

ROOT = Path(__file__).resolve().parents[2]
_register() if not cli.commands else None


def worker(db_url, tmp_path, **settings):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "platform"), **settings}
    log = tmp_path / "worker.log"
    proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "worker", "--database", db_url,
                             "--poll-interval", "0.1"], env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"))
    proc.log = log
    return proc


def test_a_worker_writes_scheduled_backups_and_keeps_the_newest(services, db_url, tmp_path):
    services.engine.dispose()
    backups = tmp_path / "backups"
    backups.mkdir()
    old = ["tessera-backup-20240101T020000Z.tgz", "tessera-backup-20240102T020000Z.tgz",
           "tessera-backup-20240103T020000Z.tgz"]
    for name in old + ["before-the-upgrade.tgz"]:
        (backups / name).write_bytes(b"an older backup")
    # every minute: the worker's first tick looks back a minute, so the last firing runs at once
    proc = worker(db_url, tmp_path, TESSERA_BACKUP_DIR=str(backups), TESSERA_BACKUP_SCHEDULE="* * * * *",
                  TESSERA_BACKUP_KEEP="2")
    try:
        deadline = time.monotonic() + 90     # a liveness deadline: importing the app is slow on a busy machine
        while True:
            fresh = [p for p in backups.iterdir()
                     if p.name.startswith("tessera-backup-") and p.name.endswith(".tgz") and p.name not in old]
            if fresh and not (backups / old[1]).exists():
                break
            assert proc.poll() is None, proc.log.read_text()
            assert time.monotonic() < deadline, proc.log.read_text()
            time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(30)
    left = sorted(p.name for p in backups.iterdir() if not p.name.endswith(".partial"))
    assert left == sorted(["before-the-upgrade.tgz", old[2], fresh[0].name]), left
    checked = CliRunner().invoke(cli, ["restore", str(fresh[0]), "--verify-only"])
    assert checked.exit_code == 0, checked.output


def test_bad_backup_settings_stop_the_worker_naming_them(services, db_url, tmp_path):
    services.engine.dispose()
    (tmp_path / "b").mkdir()
    for settings, message in [
        ({"TESSERA_BACKUP_DIR": str(tmp_path / "missing")}, "TESSERA_BACKUP_DIR"),
        ({"TESSERA_BACKUP_DIR": str(tmp_path / "b"), "TESSERA_BACKUP_KEEP": "zero"}, "TESSERA_BACKUP_KEEP"),
        ({"TESSERA_BACKUP_DIR": str(tmp_path / "b"), "TESSERA_BACKUP_SCHEDULE": "every day"}, "TESSERA_BACKUP_SCHEDULE"),
    ]:
        proc = worker(db_url, tmp_path, **settings)
        assert proc.wait(90) == 1
        log = proc.log.read_text()
        assert message in log and "Traceback" not in log, log
