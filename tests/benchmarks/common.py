"""Shared benchmark plumbing: import paths, isolated databases, a ready Tessera, timing, results."""
from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PLATFORM = ROOT / "platform"
BENCH_PKG = HERE / "bench_pkg"
STOCK = [ROOT / "metadata" / "core", ROOT / "apps" / "sales", ROOT / "apps" / "marketing", ROOT / "apps" / "service"]


def ensure_import_path() -> None:
    """Import `tessera` from this checkout's platform/ (also when another copy is installed, e.g.
    `pip install -e .` of a different worktree: the benchmarks measure the code next to them)."""
    for path in (str(HERE), str(PLATFORM)):
        if path in sys.path:
            sys.path.remove(path)
        sys.path.insert(0, path)


ensure_import_path()

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from tessera.storage.engine import normalize_url  # noqa: E402


# -- results --------------------------------------------------------------------------------
@dataclass
class Result:
    benchmark: str
    database: str
    figure: str
    target: str
    passed: bool | None      # None: informational, no target
    note: str = ""


def percentile(values, p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def median(values) -> float:
    return statistics.median(values)


def latencies_ms(fn, iterations: int, warmup: int = 10) -> list[float]:
    """`iterations` timed calls of `fn` (after `warmup` untimed ones), in milliseconds."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def print_table(results: list[Result]) -> None:
    """One line per result: the new figure next to the last recorded one (baselines.py) and the target."""
    from baselines import baseline_for

    headers = ("benchmark", "db", "figure", "baseline (last recorded)", "target", "result")
    rows = [(r.benchmark, r.database, r.figure, baseline_for(r.benchmark, r.database), r.target,
             "-" if r.passed is None else ("PASS" if r.passed else "MISS")) for r in results]
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    print()
    print(line)
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)))
    notes = [(r.benchmark, r.database, r.note) for r in results if r.note]
    if notes:
        print()
        for name, db, note in notes:
            print(f"  {name} [{db}]: {note}")


# -- databases ------------------------------------------------------------------------------
def db_kind(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


@contextmanager
def isolated_database(base_url: str | None, label: str):
    """A fresh, empty database for one group of benchmarks; removed afterwards.

    SQLite: a file in a temporary directory. PostgreSQL: the database of `base_url` (created when
    missing) with a schema of our own selected by search_path, dropped (CASCADE) afterwards, so
    big tables never outlive the run."""
    if base_url is None or db_kind(base_url) == "sqlite":
        if base_url and base_url not in ("sqlite://", "sqlite:///:memory:"):
            path = Path(make_url(base_url).database)
            directory = None
            path = path.with_name(f"{path.stem}-{label}{path.suffix or '.db'}")
        else:
            directory = tempfile.mkdtemp(prefix="tessera-bench-")
            path = Path(directory) / f"{label}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            if directory:
                shutil.rmtree(directory, ignore_errors=True)
        return
    url = make_url(normalize_url(base_url))
    _ensure_pg_database(url)
    schema = f"bench_{label}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    scoped = url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    try:
        yield scoped
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _ensure_pg_database(url) -> None:
    probe = create_engine(url)
    try:
        with probe.connect():
            return
    except Exception:
        pass
    finally:
        probe.dispose()
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    finally:
        server.dispose()


# -- a ready Tessera ------------------------------------------------------------------------
@dataclass
class Org:
    url: str
    services: object
    actor: object
    token: str
    admin_id: uuid.UUID


def open_org(url: str, *, extra_packages=()) -> Org:
    """Core + the benchmark package installed through the change pipeline, an admin with a token."""
    from tessera.meta.source import load_package
    from tessera.services import Services

    svc = Services.open(url)
    svc.changes.install_packages([load_package(ROOT / "metadata" / "core"), load_package(BENCH_PKG),
                                  *[load_package(p) for p in extra_packages]],
                                 author="bench", message="benchmark setup")
    rt = svc.runtimes.refresh()
    extra = {"profile": "system_administrator"} if "profile" in rt.objects["user"].obj.fields else {}
    user, _ = svc.identity.create_user("admin", password="bench-harpoon-cedar-1", first_name="Bench",
                                       last_name="Admin", email="bench@example.com", **extra)
    admin_id = uuid.UUID(user["id"])
    _tid, token = svc.identity.tokens.create(admin_id, name="bench")
    actor = svc.identity.actor_for_token(token)
    return Org(url, svc, actor, token, admin_id)


def make_accounts(org: Org, n: int = 50) -> list[str]:
    industries = ["Banking", "Energy", "Retail", "Technology"]
    return org.services.records.bulk_create(
        org.actor, "bench_account", [{"name": f"Account {i}", "industry": industries[i % 4]} for i in range(n)])


def item_input(i: int, account_ids: list[str]) -> dict:
    """One bench_item as an API client sends it (JSON types: strings for dates and ids)."""
    return {
        "name": f"Item {i}",
        "status": ("Open", "In Progress", "Won", "Lost")[i % 4],
        "amount": round((i * 7919) % 100000 + (i % 100) / 100, 2),
        "quantity": i % 500,
        "due_date": f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}",
        "active": i % 3 != 0,
        "account": account_ids[i % len(account_ids)],
    }
