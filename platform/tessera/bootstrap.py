"""First run: platform tables, the core package and the stock apps, the admin user, the secret."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from .storage.engine import begin_write
from .storage.platform_tables import settings

REPO_ROOT = Path(__file__).resolve().parents[2]
STOCK_PACKAGES = [REPO_ROOT / "metadata" / "core", REPO_ROOT / "apps" / "sales",
                  REPO_ROOT / "apps" / "marketing", REPO_ROOT / "apps" / "service"]


@dataclass
class BootstrapReport:
    installed: list[str]
    admin_created: bool
    admin_password: str | None  # only when generated: printed once, never stored in clear


def secret_key(engine) -> bytes:
    """The org's signing secret ($TESSERA_SECRET_KEY, else generated once and kept in the database
    so every worker shares it)."""
    if os.environ.get("TESSERA_SECRET_KEY"):
        return os.environ["TESSERA_SECRET_KEY"].encode()
    with begin_write(engine) as conn:
        value = conn.execute(select(settings.c.value).where(settings.c.key == "secret_key")).scalar()
        if value is None:
            # several processes may start on a new database at once (workers, gunicorn): the first
            # insert wins and every process reads that one
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            conn.execute(dialect.insert(settings).values(key="secret_key", value=secrets.token_hex(32))
                         .on_conflict_do_nothing(index_elements=[settings.c.key]))
            value = conn.execute(select(settings.c.value).where(settings.c.key == "secret_key")).scalar_one()
    return value.encode()


def bootstrap(services, *, admin_password: str | None = None) -> BootstrapReport:
    """Idempotent: installs the stock packages when nothing is active and creates `admin`."""
    from .meta.source import load_package

    installed = []
    if services.changes.active_number() is None:
        sources = [load_package(path) for path in STOCK_PACKAGES]
        services.changes.install_packages(sources, author="system", message="install core and stock apps")
        installed = [s["manifest"]["name"] for s in sources]
        services.runtimes.refresh()
    created, generated = False, None
    if services.identity.find_user("admin") is None:
        password = admin_password or os.environ.get("TESSERA_ADMIN_PASSWORD") or None
        _user, generated = services.identity.create_user(
            "admin", password=password, first_name="System", last_name="Administrator",
            email="admin@example.com", profile="system_administrator", role="ceo")
        created = True
    return BootstrapReport(installed, created, generated)
