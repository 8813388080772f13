"""What the record service's write paths share (records/service.py, records/bulk_create.py)."""
from __future__ import annotations

import functools

from .errors import WorkflowFailed

WRITABLE_SYSTEM = {"owner"}      # the one system field a caller may set
NO_OWNER = "cannot be empty: every record has an owner"
# the objects whose rows decide who may do what: guarded by records/user_rights.py on every write
RIGHTS_OBJECTS = frozenset(("user", "permission_set_assignment"))


def reports_workflow_failures(method):
    """A write whose workflow failed has rolled back, taking the run log entry with it: once the
    outermost write is over, the automation layer records the failed runs on their own."""
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except WorkflowFailed as exc:
            if self.hooks is not None and self._joined() is None:
                self.hooks.record_failures(exc)
            raise
    return run
