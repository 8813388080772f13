"""Approval process metadata compiled once per Runtime (like workflows: compiler.py): entry
conditions as compiled expressions, steps with their approver sources, and the final actions as
workflow actions — the workflow engine runs them (engine.run_actions), there is no second action
implementation.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass

from ..expr import Compiled, compile_expression
from ..meta.model import Metadata, default_label
from ..meta.validate import resolver
from .compiler import Action, Workflow, compile_actions

DECISIONS = ("first_response", "unanimous")


@dataclass(frozen=True)
class ApproverSource:
    kind: str                         # user, manager, queue, group, role, field
    value: str | None                 # the username, queue, group, role name or field path
    expression: Compiled | None = None   # field: the path compiled (gives a user id)

    def describe(self) -> str:
        if self.kind == "manager":
            return "the submitter's manager"
        return f"{self.kind} '{self.value}'"


@dataclass(frozen=True)
class Step:
    index: int
    label: str
    condition: Compiled | None
    approvers: tuple[ApproverSource, ...]
    unanimous: bool
    skip_when_empty: bool


@dataclass(frozen=True)
class Process:
    name: str
    label: str
    object: str
    active: bool
    condition: Compiled | None
    lock: bool
    steps: tuple[Step, ...]
    final: dict                       # "approve" | "reject" | "recall" -> Workflow running those actions

    def step(self, index: int | None) -> Step | None:
        return self.steps[index] if index is not None and 0 <= index < len(self.steps) else None


class CompiledProcesses:
    def __init__(self, md: Metadata):
        self.by_name: dict[str, Process] = {name: _compile(md, md.approval_processes[name])
                                            for name in sorted(md.approval_processes)}
        by_object: dict[str, list[Process]] = {}
        for process in self.by_name.values():
            by_object.setdefault(process.object, []).append(process)
        self.by_object = {name: tuple(found) for name, found in by_object.items()}

    def of_object(self, object_name: str, *, active_only: bool = True) -> tuple[Process, ...]:
        """The object's processes in name order (the order submissions try them in)."""
        found = self.by_object.get(object_name, ())
        return tuple(p for p in found if p.active) if active_only else found

    def locks(self, object_name: str) -> bool:
        """Whether a write to this object must ask for a pending request at all (cheap)."""
        return object_name in self.by_object


_cache: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def approvals_of(runtime) -> CompiledProcesses:
    compiled = _cache.get(runtime)
    if compiled is None:
        compiled = _cache.setdefault(runtime, CompiledProcesses(runtime.metadata))
    return compiled


def _compile(md: Metadata, comp) -> Process:
    obj = md.objects[comp["object"]]
    resolve = resolver(md, obj)

    def condition(text):
        return compile_expression(text, resolve, context="read", expected="boolean") if text else None

    steps = []
    for i, doc in enumerate(comp["steps"]):
        sources = tuple(ApproverSource(a["type"], a.get(a["type"]) if a["type"] != "manager" else None,
                                       compile_expression(a["field"], resolve, context="read", expected="id")
                                       if a["type"] == "field" else None)
                        for a in doc["approvers"])
        steps.append(Step(i, doc.get("label") or f"Step {i + 1}", condition(doc.get("entry_condition")), sources,
                          doc.get("decision", "first_response") == "unanimous",
                          doc.get("when_no_approver", "refuse") == "skip"))
    label = comp.get("label") or default_label(comp.name)
    final = {}
    for outcome, key in (("approve", "on_approve"), ("reject", "on_reject"), ("recall", "on_recall")):
        actions: tuple[Action, ...] = compile_actions(md, obj, comp.get(key) or (), key)
        # the engine runs a Workflow's actions: the process's final actions become one, logged in
        # the run log as approval:<process> (its steps named on_approve.0 ...)
        final[outcome] = Workflow(name=f"approval:{comp.name}", label=label, object=obj.name, events=(),
                                  timing="after_save", condition=None, becomes_true=False, run_as="system",
                                  actions=actions, trigger="approval")
    return Process(name=comp.name, label=label, object=obj.name, active=comp.get("active", True) is not False,
                   condition=condition(comp.get("entry_condition")), lock=comp.get("lock_record", True) is not False,
                   steps=tuple(steps), final=final)
