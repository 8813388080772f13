"""Who is acting: every record service call carries an Actor."""
from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    user_id: uuid.UUID | None
    username: str
    is_system: bool = False  # platform bootstrap and package seed data


SYSTEM = Actor(user_id=None, username="system", is_system=True)
