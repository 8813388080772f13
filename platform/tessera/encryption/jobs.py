"""The job that rotates keys (encryption/rotation.py), registered for every worker."""
from __future__ import annotations

from ..automation.handlers import registry
from .rotation import KIND, run_rotation

registry.register(KIND, run_rotation)
