"""Job handlers of tests/automation. Worker processes load them through
TESSERA_JOB_MODULES=automation_test_handlers (with this directory on PYTHONPATH)."""
from __future__ import annotations

import os
import time

from tessera.automation import register


def note(path: str, line: str) -> None:
    """One O_APPEND write per line: lines of concurrent processes never interleave."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


@register("test.append")
def append(payload, context):
    time.sleep(payload.get("sleep", 0))
    note(payload["path"], f"{payload['n']} {os.getpid()} {context.attempt}")


@register("test.hang_first")
def hang_first(payload, context):
    """The first attempt says it started, then hangs (the test kills its worker with SIGKILL)."""
    note(payload["path"], f"start {os.getpid()} {context.attempt}")
    if context.attempt == 1:
        time.sleep(120)
    note(payload["path"], f"done {os.getpid()} {context.attempt}")
