"""`tessera.changes`: the one change path for every metadata change.

validate → plan → check data → apply in ONE transaction → activate the new version → record it.
See service.py (the API), planner.py (the autodetector), operations.py (the steps) and
pipeline.py (the transaction, and SQLite's foreign-key trap).
"""
from .operations import DATA_CHECKED, DESTRUCTIVE, SAFE, Impact, Operation, Problem  # noqa: F401
from .pipeline import ChangeFailed  # noqa: F401
from .planner import Plan, plan  # noqa: F401
from .service import (ChangeRefused, ChangeResult, ChangeService, Version, content_hash,  # noqa: F401
                      ensure_platform_tables)
