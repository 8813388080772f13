"""tessera.automation — what makes metadata act: record-triggered workflows (engine.py, compiled
per Runtime by compiler.py, logged by runlog.py), plugged into the record service's write path
through records.hooks.

    WorkflowEngine(services.records).install()   # done by Services.open
"""
from .engine import WorkflowEngine  # noqa: F401
