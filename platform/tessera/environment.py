"""Errors in the operator's configuration (TESSERA_* environment variables)."""
from __future__ import annotations


class EnvironmentSettingError(ValueError):
    """A TESSERA_* environment variable holds a value the platform cannot use: the CLI says so
    and exits non-zero instead of starting half-configured."""
