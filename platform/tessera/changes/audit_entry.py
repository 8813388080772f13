"""The audit log entry of an activated metadata version (`metadata.change`).

Written by the pipeline itself, inside the change transaction, so every change path — CLI install /
apply / rollback, the setup UI, the package installer, a direct `ChangeService` call — records
exactly one entry per version, and a refused or failed change records nothing.

The plan is summarised rather than copied (a package install can have hundreds of steps): counts
by safety class, the destructive steps named, and the security steps (profiles, permission sets,
roles, sharing rules) named, since permission and sharing changes are what an auditor looks for.
"""
from __future__ import annotations

from ..security import audit
from .operations import DESTRUCTIVE, SAFETY_ORDER, ComponentChange
from .planner import SECURITY_KINDS, Plan

ACTION = "metadata.change"
MAX_NAMED = 50   # named steps per list; the counts always cover the whole plan


def _named(steps: list[str]) -> list[str]:
    if len(steps) <= MAX_NAMED:
        return steps
    return steps[:MAX_NAMED] + [f"… and {len(steps) - MAX_NAMED} more"]


def plan_summary(plan: Plan) -> dict:
    counts = {safety: 0 for safety in SAFETY_ORDER}
    for op in plan:
        counts[op.safety] += 1
    security_kinds = set(SECURITY_KINDS.values())
    return {"steps": len(plan), "by_safety": counts,
            "destructive": _named([op.describe() for op in plan if op.safety == DESTRUCTIVE]),
            "security": _named([op.describe() for op in plan
                                if isinstance(op, ComponentChange) and op.kind in security_kinds])}


def record_version(conn, version, plan: Plan, actor=None) -> None:
    """One `metadata.change` entry for `version` (a `service.Version`), on the change's connection."""
    audit.record(conn, actor, ACTION, f"version {version.number}",
                 {"version": version.number, "parent": version.parent, "author": version.author,
                  "source": version.source, "message": version.message, "plan": plan_summary(plan)})
