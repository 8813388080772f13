"""Who is acting: every record service call carries an Actor."""
from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    user_id: uuid.UUID | None
    username: str
    is_system: bool = False                   # platform bootstrap, package seed data
    profile: str | None = None
    role: str | None = None
    permission_sets: tuple[str, ...] = ()
    permission_set_groups: tuple[str, ...] = ()
    groups: frozenset = frozenset()           # names of the public groups the user belongs to


SYSTEM = Actor(user_id=None, username="system", is_system=True)
