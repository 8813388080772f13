"""ChangeService: the one change path for every metadata change.

    validate → plan → check data → apply in ONE transaction → activate the new version → record it
    (in the version history and, as one `metadata.change` entry, in the audit log)

The CLI, the setup UI and the package installer all call this. A check-only run does everything
(DDL and data steps included, so the DDL itself is proven) and then rolls back.

Versions are immutable snapshots `{"packages": [package sources], "org": org source}` (sources as
`tessera.meta.source.load_package/load_org` return them), numbered 1.. with a parent, a content
hash, author, source, message and time; exactly one is active.
"""
from __future__ import annotations

import copy
import hashlib
import json
import logging
from dataclasses import dataclass, field as dc_field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from alembic.operations import Operations
from packaging.version import InvalidVersion, Version as PackageVersion
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, func, insert, select, update

from ..encryption.keys import missing_key_reasons
from ..meta.merge import build_metadata
from ..meta.errors import MetaError, MetadataInvalid
from ..meta.source import LOCK_FILE, check_org, dump_org, empty_org
from ..storage.engine import begin_read
from ..storage.naming import NAMING_CONVENTION
from ..storage.platform_schema import ensure_platform_tables
from ..storage.platform_tables import versions as versions_table
from .operations import DESTRUCTIVE, Context, Impact, add_pending_foreign_keys
from .audit_entry import record_version
from .pipeline import ChangeFailed, change_transaction
from .planner import Plan, package_steps, plan
from .search_steps import missing_index_steps

log = logging.getLogger(__name__)
SOURCES = ("ui", "cli", "package", "deploy", "rollback")


@dataclass(frozen=True)
class Version:
    number: int
    parent: int | None
    content_hash: str
    author: str
    source: str
    message: str
    created_at: datetime
    snapshot: dict | None = None     # None in listings (`versions()`): load one with `get(n)`
    active: bool = False


@dataclass
class ChangeResult:
    plan: Plan
    impacts: list[Impact] = dc_field(default_factory=list)   # one per plan step, same order
    version: Version | None = None   # None when check-only or when nothing changed
    check_only: bool = False

    @property
    def changed(self) -> bool:
        return self.version is not None

    def steps(self):
        return zip(self.plan.operations, self.impacts)


class ChangeRefused(Exception):
    """Data checks failed or destructive steps lack allow_destructive. Nothing was changed."""

    def __init__(self, plan: Plan, reasons: list[str], impacts: list[Impact] | None = None, *,
                 needs_allow_destructive: bool = False):
        self.plan, self.reasons, self.impacts = plan, reasons, impacts or []
        self.needs_allow_destructive = needs_allow_destructive
        super().__init__("the change was refused:\n" + "\n".join(reasons))


def content_hash(snapshot: dict) -> str:
    """sha256 of the canonical JSON of the snapshot's content. The `source` entries (the file
    each document was read from, relative to the working directory) are left out: installing the
    same package from another directory is not a change."""
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "source"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value
    text = json.dumps(strip(snapshot), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _normalize(snapshot: dict) -> dict:
    """Plain JSON (YAML may hand us dates): what is stored is exactly what is built and hashed."""
    return json.loads(json.dumps(snapshot, default=str))


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


def _version(row, snapshot=None) -> Version:
    return Version(number=row.number, parent=row.parent, content_hash=row.content_hash, author=row.author,
                   source=row.source, message=row.message or "", created_at=_aware(row.created_at),
                   snapshot=snapshot, active=bool(row.active))


_LIST_COLUMNS = [c for c in versions_table.c if c.name != "snapshot"]


class ChangeService:
    def __init__(self, engine):
        self.engine = engine
        self.on_activate: list[Callable[[Version], Any]] = []   # called after a new version is committed
        # guard(conn, old Metadata | None, new Metadata) -> reasons to refuse: data checks of the layers
        # above this one (records/user_rights.keeps_an_administrator), run with the step checks
        self.guards: list = []
        # data_steps(conn, old snapshot | None, new snapshot) -> [Operation]: steps of the layers
        # above that write records in the change's transaction, after every schema step
        # (packaging/data_patches.py: a package's data patches and seed data)
        self.data_steps: list = []
        ensure_platform_tables(engine)

    # -- reading ---------------------------------------------------------------------------
    def active_number(self) -> int | None:
        """Cheap (one indexed single-row query): the web workers poll it."""
        with begin_read(self.engine) as conn:
            return conn.execute(select(versions_table.c.number).where(versions_table.c.active == True)).scalar()  # noqa: E712

    def active(self) -> Version | None:
        with begin_read(self.engine) as conn:
            row = conn.execute(select(versions_table).where(versions_table.c.active == True)).first()  # noqa: E712
        return _version(row, row.snapshot) if row else None

    def versions(self) -> list[Version]:
        with begin_read(self.engine) as conn:
            rows = conn.execute(select(*_LIST_COLUMNS).order_by(versions_table.c.number.desc())).all()
        return [_version(r) for r in rows]

    def get(self, number: int) -> Version:
        with begin_read(self.engine) as conn:
            row = conn.execute(select(versions_table).where(versions_table.c.number == number)).first()
        if row is None:
            raise LookupError(f"there is no metadata version {number}")
        return _version(row, row.snapshot)

    def diff(self, a: int, b: int | None = None) -> Plan:
        """The plan that would take version `a` to version `b` (default: the active one)."""
        va = self.get(a)
        vb = self.get(b) if b is not None else self.active()
        if vb is None:
            raise LookupError("there is no active metadata version")
        result = plan(build_metadata(va.snapshot), build_metadata(vb.snapshot))
        result.operations[:0] = package_steps(va.snapshot, vb.snapshot)
        return result

    def differences(self, a: int, b: int | None = None) -> list:
        """What differs, component by component, from version `a` to `b` (default: the active one)
        — fields, values, layout moves, permissions (changes/differences.py)."""
        from .differences import differences
        va = self.get(a)
        vb = self.get(b) if b is not None else self.active()
        if vb is None:
            raise LookupError("there is no active metadata version")
        return differences(build_metadata(va.snapshot), build_metadata(vb.snapshot))

    def differences_from_active(self, snapshot: dict) -> list:
        """What `snapshot` would change against the active version (for review pages)."""
        from .differences import differences
        current = self.active()
        return differences(build_metadata(current.snapshot) if current else None, build_metadata(snapshot))

    # -- changing --------------------------------------------------------------------------
    def install_packages(self, sources: list[dict], *, author: str, message: str = "", check_only: bool = False,
                         allow_destructive: bool = False, actor=None, purge: bool = False) -> ChangeResult:
        """Install or upgrade packages as one version. What an upgrade no longer ships is
        deprecated (kept, hidden), or with `purge` dropped (changes/package_upgrade.py)."""
        snapshot = self.snapshot_with(sources, purge=purge)
        if not message:
            message = "install " + ", ".join(f"{s['manifest']['name']} {s['manifest']['version']}" for s in sources)
        return self._change(snapshot, author=author, source="package", message=message, check_only=check_only,
                            allow_destructive=allow_destructive, actor=actor)

    def uninstall_packages(self, names: list[str], *, author: str, message: str = "", check_only: bool = False,
                           allow_destructive: bool = False, actor=None) -> ChangeResult:
        """Remove installed packages as one version: their objects (tables and data: destructive),
        fields, layouts, list views, apps and permissions go. Refused, naming each reference, when
        another package depends on one of them or the org layer still uses their components
        (an extension of their objects, a lookup to one, an override of their layout): the
        validation of the new snapshot finds these like any other unresolved reference."""
        from .uninstall_check import UninstallBlocked, references_to
        snapshot = self.snapshot_without(names)
        blocking = references_to(self.active().snapshot, names)
        if blocking:
            raise UninstallBlocked(names, blocking)
        if not message:
            versions = {p["manifest"]["name"]: p["manifest"]["version"] for p in self.active().snapshot["packages"]}
            message = "uninstall " + ", ".join(f"{n} {versions[n]}" for n in names)
        return self._change(snapshot, author=author, source="package", message=message, check_only=check_only,
                            allow_destructive=allow_destructive, actor=actor)

    def snapshot_with(self, sources: list[dict], *, purge: bool = False) -> dict:
        """The active snapshot with the package `sources` installed (same-name ones upgraded).
        UpgradeRefused (a MetadataInvalid) names a downgrade or a changed release
        (changes/package_upgrade.py)."""
        from .package_upgrade import upgraded_snapshot
        current = self.active()
        return upgraded_snapshot(current.snapshot if current else None, sources, empty_org(), purge=purge)

    def snapshot_without(self, names: list[str]) -> dict:
        """The active snapshot with the packages `names` removed (LookupError naming any that is
        not installed)."""
        current = self.active()
        installed = {p["manifest"]["name"]: p for p in (current.snapshot.get("packages") or [])} if current else {}
        missing = [n for n in names if n not in installed]
        if missing:
            raise LookupError("no package named " + ", ".join(f"'{n}'" for n in missing) + " is installed"
                              + (f" (installed: {', '.join(sorted(installed))})" if installed else ""))
        return {"packages": [installed[n] for n in sorted(installed) if n not in names],
                "org": current.snapshot.get("org") or empty_org()}

    def purge_deprecated(self, package: str, component: str, *, author: str, message: str = "",
                         check_only: bool = False, allow_destructive: bool = False, actor=None) -> ChangeResult:
        """Delete a deprecated component of `package` (meta/deprecation.py `without` names it):
        its table or column and their data go — a destructive step, with its counts in the plan."""
        from ..meta.deprecation import without
        current = self.active()
        snap = current.snapshot if current else {"packages": [], "org": empty_org()}
        packages = without(snap.get("packages") or [], package, component)
        return self._change({"packages": packages, "org": snap.get("org") or empty_org()}, author=author,
                            source="package", message=message or f"purge deprecated {component} of {package}",
                            check_only=check_only, allow_destructive=allow_destructive, actor=actor)

    def apply_org(self, org_source: dict, *, author: str, message: str = "", source: str = "cli",
                  check_only: bool = False, allow_destructive: bool = False,
                  lock: dict[str, str] | None = None, actor=None, check_data: bool = True,
                  on_commit=None) -> ChangeResult:
        """Make `org_source` the org layer (on top of the installed packages). `lock` (from an
        export's packages.lock.yaml) names the package versions the layer was made against: each
        must be installed here at that version — a sandbox's customizations of sales 1.2 are not
        deployed onto sales 1.1."""
        check_org(org_source)
        current = self.active()
        packages = (current.snapshot.get("packages") or []) if current else []
        if lock:
            _check_lock(lock, packages)
        return self._change({"packages": packages, "org": org_source}, author=author, source=source,
                            message=message, check_only=check_only, allow_destructive=allow_destructive,
                            actor=actor, check_data=check_data, on_commit=on_commit)

    def rollback(self, number: int, *, author: str, message: str = "", check_only: bool = False,
                 allow_destructive: bool = False, actor=None, on_commit=None) -> ChangeResult:
        """Version `number`'s snapshot, activated as a NEW version (history is never rewritten)."""
        target = self.get(number)
        return self._change(target.snapshot, author=author, source="rollback",
                            message=message or f"rollback to version {number}", check_only=check_only,
                            allow_destructive=allow_destructive, actor=actor, on_commit=on_commit)

    def export_org(self, directory) -> list[Path]:
        """Write the active org layer in source format, plus packages.lock.yaml."""
        current = self.active()
        snap = current.snapshot if current else {"packages": [], "org": empty_org()}
        lock = {p["manifest"]["name"]: str(p["manifest"]["version"]) for p in snap.get("packages") or []}
        return dump_org(snap.get("org") or empty_org(), directory, lock=lock)

    # -- the pipeline ----------------------------------------------------------------------
    def _change(self, snapshot: dict, *, author: str, source: str, message: str, check_only: bool,
                allow_destructive: bool, actor=None, check_data: bool = True, on_commit=None) -> ChangeResult:
        """`author` names who made the change in the version history (a user name, or the login
        name on the command line); `actor`, when known (the setup UI's signed-in user), is also
        the acting user of the version's audit log entry. `check_data=False` skips the steps' data
        checks (a deploy validated against this very version; a step that then fails on the data
        still rolls everything back), never the destructive-change consent or the guards.
        `on_commit(conn, version, plan)` writes in the change's transaction (a deploy's history row
        commits with the version or not at all)."""
        if source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}")
        snapshot = _normalize(snapshot)
        new_md = build_metadata(snapshot)                 # 1. validate (raises MetadataInvalid)
        digest = content_hash(snapshot)
        created: Version | None = None
        with change_transaction(self.engine, commit=not check_only) as txn:
            conn = txn.conn
            txn.foreign_key_tables = []                    # nothing at risk until a step says so
            active = conn.execute(select(versions_table).where(versions_table.c.active == True)).first()  # noqa: E712
            old_snapshot = active.snapshot if active is not None else None
            old_md = build_metadata(old_snapshot) if old_snapshot is not None else None
            if active is not None and active.content_hash == digest:
                # the same metadata: nothing to do, unless the database lacks a search index
                # (made before search): then the builds are the plan of a new version
                missing = missing_index_steps(conn, new_md, [])
                if not missing:
                    return ChangeResult(Plan([]), [], None, check_only)
                result_plan = Plan(missing)
            else:
                result_plan = plan(old_md, new_md)         # 2. plan
                result_plan.operations[:0] = package_steps(old_snapshot, snapshot)
                result_plan.operations += missing_index_steps(conn, new_md, result_plan.operations)
                for data_steps in self.data_steps:
                    result_plan.operations += data_steps(conn, old_snapshot, snapshot)
            keyless = missing_key_reasons(old_md, new_md)   # before the checks: they may decrypt
            if keyless:
                raise ChangeRefused(result_plan, keyless)
            ctx = Context(conn, old_md, new_md, datetime.now(timezone.utc))
            check_data = check_data or any(op.safety == DESTRUCTIVE for op in result_plan)  # loss is counted anew
            impacts = [op.check(conn, ctx) if check_data else Impact()   # 3. check data (before any step)
                       for op in result_plan]
            reasons, needs_flag = _refusals(result_plan, impacts, allow_destructive)
            for guard in self.guards:                      # checks of the layers above (see Services)
                reasons += guard(conn, old_md, new_md)
            if reasons:
                raise ChangeRefused(result_plan, reasons, impacts, needs_allow_destructive=needs_flag)
            ops = Operations(MigrationContext.configure(
                connection=conn, opts={"target_metadata": MetaData(naming_convention=NAMING_CONVENTION)}))
            for op in result_plan:                         # 4. apply, in this one transaction
                try:
                    op.apply(ops, ctx)
                except Exception as exc:
                    raise ChangeFailed(f"step '{op.describe()}' failed, everything was rolled back: "
                                       f"{type(exc).__name__}: {exc}", op) from exc
                op.state_forwards(ctx)
            try:
                add_pending_foreign_keys(ops, ctx)
            except Exception as exc:
                raise ChangeFailed(f"adding foreign keys failed, everything was rolled back: {exc}") from exc
            txn.foreign_key_tables = ctx.foreign_key_tables()
            number = (conn.execute(select(func.max(versions_table.c.number))).scalar() or 0) + 1
            now = datetime.now(timezone.utc)
            conn.execute(update(versions_table).where(versions_table.c.active == True).values(active=False))  # noqa: E712
            conn.execute(insert(versions_table).values(     # 5. activate + 6. record
                number=number, parent=active.number if active is not None else None, content_hash=digest,
                author=author, source=source, message=message or "", created_at=now, snapshot=snapshot,
                active=True))
            created = Version(number, active.number if active is not None else None, digest, author, source,
                              message or "", now, copy.deepcopy(snapshot), True)
            if not check_only:                             # 7. audit, committed with the version
                record_version(conn, created, result_plan, actor)
                if on_commit is not None:
                    on_commit(conn, created, result_plan)
        if check_only:
            return ChangeResult(result_plan, impacts, None, True)
        for hook in list(self.on_activate):
            try:
                hook(created)
            except Exception:   # the version is committed; a hook must not turn it into a failure
                log.exception("on_activate hook %r failed for version %s", hook, created.number)
        return ChangeResult(result_plan, impacts, created, False)


def _check_lock(lock: dict[str, str], packages: list[dict]) -> None:
    installed = {p["manifest"]["name"]: str(p["manifest"]["version"]) for p in packages}
    errors = []
    for name, version in sorted(lock.items()):
        here = installed.get(name)
        if here == version:
            continue
        if here is None:
            advice = f"no package {name}: install {name} {version} first"
        elif _newer(here, version):   # the packages moved on since the export: the export is stale
            advice = (f"{name} {here}, newer: export the org layer again from a database on {name} {here} "
                      "(tessera export) and apply that")
        else:
            advice = f"{name} {here}: upgrade {name} to {version} first"
        errors.append(MetaError(LOCK_FILE, f"packages.{name}", f"made against {name} {version}, but this database "
                                f"has {advice} (or remove {LOCK_FILE} to apply anyway)"))
    if errors:
        raise MetadataInvalid(errors)


def _newer(a: str, b: str) -> bool:
    try:
        return PackageVersion(a) > PackageVersion(b)
    except InvalidVersion:
        return False


def _refusals(result_plan: Plan, impacts: list[Impact], allow_destructive: bool) -> tuple[list[str], bool]:
    reasons, needs_flag = [], False
    for op, impact in zip(result_plan, impacts):
        for problem in impact.problems:
            reasons.append(f"{op.describe()}: {problem}")
        if op.safety == DESTRUCTIVE and not allow_destructive:
            needs_flag = True
            detail = "; ".join(impact.notes) or "no data would be lost"
            reasons.append(f"{op.describe()}: destructive ({detail}); allow destructive changes to proceed")
    return reasons, needs_flag
