"""Shared CLI plumbing: the --database option, lazily opened services, error reporting."""
from __future__ import annotations

import functools

import click

from ..storage.engine import database_url


class CliContext:
    def __init__(self, url: str | None):
        self.url = database_url(url)
        self._engine = None

    @property
    def engine(self):
        if self._engine is None:
            from ..storage.engine import make_engine
            self._engine = make_engine(self.url)
        return self._engine


def database_option(func):
    """Adds `--database URL` and passes a CliContext as the first argument."""
    @click.option("--database", "database", metavar="URL", envvar="TESSERA_DATABASE_URL",
                  help="Database URL (default: $TESSERA_DATABASE_URL, else sqlite:///tessera.db).")
    @functools.wraps(func)
    def wrapper(*args, database=None, **kwargs):
        return func(CliContext(database), *args, **kwargs)
    return wrapper


def fail(message: str, code: int = 1):
    click.echo(f"error: {message}", err=True)
    raise SystemExit(code)


def open_services(ctx: CliContext, *, require_ready: bool = False):
    from ..services import Services
    try:
        services = Services.open(ctx.url)
    except Exception as exc:  # a bad URL, an unreachable server or setting: say so, no traceback
        from sqlalchemy.exc import ArgumentError, OperationalError

        from ..environment import EnvironmentSettingError
        if isinstance(exc, EnvironmentSettingError):
            fail(str(exc))
        if isinstance(exc, (ArgumentError, OperationalError)):
            fail(f"cannot open database {ctx.url}: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
        raise
    if require_ready and services.changes.active_number() is None:
        fail(f"database {ctx.url} is not initialized: run `tessera init` (or `tessera serve`) first")
    return services
