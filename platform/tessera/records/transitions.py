"""Picklist state machines: which changes of a picklist's value are allowed, and to whom.

A picklist field may declare `transitions` (from → to, optionally only for some profiles or
permission sets, optionally only when a condition holds) and `initial` (the values a new record
may start in). The Runtime compiles them once per version (`StateMachine`); the record service
checks every write against them — create, bulk create and update, from the API, forms, kanban,
imports and workflows alike — on the write's *final* values, after before-save workflows, as it
does validation rules; the UI asks the same object (RecordService.allowed_values) so that it
offers only the moves that will succeed.

Rules:
  * setting the value it already has is not a change; a field without `transitions` changes freely;
  * a change from value A to B needs a transition whose `from` has A and `to` has B, that is open
    to the actor (no `profiles`/`permission_sets`, or the actor's profile is listed, or one of
    their permission sets — directly or through a permission set group — is), and whose
    `condition` (evaluated on the record as it will be saved, PRIORVALUE/ISCHANGED allowed) holds;
  * a record without a value (or with one the picklist no longer lists) has no state yet: it may
    take any value `initial` allows (any value without `initial`), like a new record;
  * clearing the value of a field with transitions is not a transition, so it is refused;
  * the system actor (package seed data, workflows run as the system) passes every profile and
    permission set restriction, but follows the graph and the conditions like everyone.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..expr import Compiled, compile_expression


def _as_set(value) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value or ())


@dataclass(frozen=True)
class Transition:
    sources: frozenset
    targets: frozenset
    profiles: frozenset | None            # None: anyone who may edit the field
    permission_sets: frozenset | None
    condition: Compiled | None

    @property
    def restricted(self) -> bool:
        return self.profiles is not None or self.permission_sets is not None

    def open_to(self, actor, held_sets: Callable[[], frozenset]) -> bool:
        if actor.is_system or not self.restricted:
            return True
        if self.profiles and actor.profile in self.profiles:
            return True
        return bool(self.permission_sets) and not self.permission_sets.isdisjoint(held_sets())


@dataclass(frozen=True)
class StateMachine:
    field: str
    label: str
    values: tuple[str, ...]                      # the picklist's values, in display order
    transitions: tuple[Transition, ...] | None   # None: any change is allowed
    initial: frozenset | None                    # None: a record may start in any value

    def starts(self) -> list[str]:
        """The values a record without a state may take."""
        return [v for v in self.values if self.initial is None or v in self.initial]

    def candidates(self, actor, held_sets, current) -> dict[str, list]:
        """Target value -> the conditions of the transitions that would allow it (an empty list
        entry `None` means one transition allows it unconditionally), for moves from `current`."""
        out: dict[str, list] = {}
        if current is None or current not in self.values:
            return {v: [None] for v in self.starts() if v != current}
        if self.transitions is None:
            return {v: [None] for v in self.values if v != current}
        for t in self.transitions:
            if current in t.sources and t.open_to(actor, held_sets):
                for target in t.targets:
                    if target != current:
                        out.setdefault(target, []).append(t.condition)
        return out

    def allowed(self, actor, held_sets, current, holds: Callable[[Compiled, str], bool]) -> list[str]:
        """The values the actor may move a record from `current` to, in display order. `holds(condition,
        target)` evaluates a condition on the record as it would be saved with `target`."""
        found = self.candidates(actor, held_sets, current)
        return [v for v in self.values
                if v in found and any(c is None or holds(c, v) for c in found[v])]

    def refusal(self, actor, held_sets, current, new, holds) -> str | None:
        """Why changing `current` to `new` is refused (None when it is allowed)."""
        if new == current:
            return None
        if new is None:
            return f"cannot be cleared (it changes only along its transitions, from {current!r})"
        found = self.candidates(actor, held_sets, current)
        if any(c is None or holds(c, new) for c in found.get(new, ())):
            return None
        allowed = self.allowed(actor, held_sets, current, holds)
        options = ", ".join(repr(v) for v in allowed) if allowed else "none for you"
        if current is None or current not in self.values:
            return f"cannot start as {new!r} (allowed: {options})"
        return f"cannot change from {current!r} to {new!r} (allowed: {options})"

    def start_refusal(self, value) -> str | None:
        """Why a new record cannot have `value` (None when it can)."""
        if value is None or self.initial is None or value in self.initial:
            return None
        return f"a new record cannot start as {value!r} (allowed: {', '.join(repr(v) for v in self.starts())})"


def compile_machine(field, resolve) -> StateMachine | None:
    """The state machine of a picklist field (None when it declares neither transitions nor
    initial values). Metadata has been validated: values exist, conditions type-check."""
    opts = field.options
    if field.type != "picklist" or ("transitions" not in opts and "initial" not in opts):
        return None
    transitions = None
    if opts.get("transitions") is not None:
        transitions = tuple(
            Transition(
                sources=frozenset(_as_set(t["from"])), targets=frozenset(_as_set(t["to"])),
                profiles=frozenset(t["profiles"]) if "profiles" in t else None,
                permission_sets=frozenset(t["permission_sets"]) if "permission_sets" in t else None,
                condition=compile_expression(t["condition"], resolve, context="write", expected="boolean")
                if t.get("condition") else None)
            for t in opts["transitions"])
    initial = frozenset(opts["initial"]) if opts.get("initial") else None
    return StateMachine(field.name, field.label, tuple(field.picklist_values), transitions, initial)


def held_permission_sets(metadata, actor) -> Callable[[], frozenset]:
    """The actor's permission sets, directly and through permission set groups (computed when a
    restricted transition first asks)."""
    cache: list = []

    def held() -> frozenset:
        if not cache:
            sets = set(actor.permission_sets)
            for group in actor.permission_set_groups:
                comp = metadata.permission_set_groups.get(group)
                sets.update((comp.get("permission_sets") or ()) if comp is not None else ())
            cache.append(frozenset(sets))
        return cache[0]
    return held
