"""6. A warm permission decision through the public security API against stock pycasbin;
7. a list query under record-level sharing against the same query as an admin.

6: core + the three stock apps (the largest permission metadata we ship). A sales rep with two
permission sets and a permission set group; `Runtime.security.access_for(actor)` then `.can()` /
`.can_read_field()`, cycling through every object × action and every field read — the path the
record service takes on each request. Compared with `casbin.Enforcer(model.conf, policy.csv)
.enforce()` on the files `tessera policy export` writes (same questions, answers checked equal).

7: bench_item (private org-wide default) with N rows (`--sharing-rows`, loaded raw) owned by 39
users in a role hierarchy (VP > 2 managers > 2 × 18 reps) and the admin, three sharing rules
(criteria-based, owner-based to a group, owner-based to a role: bench_sharing_pkg/) and manual
shares (user, role, role-and-subordinates and group grantees) on 2 % of the rows. The same
`RecordService.query` calls as a rep, as a manager and as the admin (view_all_data: no predicate).
"""
from __future__ import annotations

import random
import tempfile
import time
import uuid
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

from common import HERE, Result, latencies_ms, make_accounts, open_org, percentile

TARGET_DECISION_US = 10.0
TARGET_SHARING_RATIO = 1.3
SHARING_PKG = HERE / "bench_sharing_pkg"


# -- 6. decisions ---------------------------------------------------------------------------------
def _per_call_us(fn, calls: int) -> float:
    t0 = time.perf_counter()
    fn(calls)
    return (time.perf_counter() - t0) / calls * 1e6


def run_decisions(org, args) -> list[Result]:
    import casbin
    from click.testing import CliRunner

    from tessera.cli import _register, cli
    from tessera.security.policy import user_subject

    svc = org.services
    user, _ = svc.identity.create_user("rep", password="bench-harpoon-cedar-1", last_name="Rep", profile="sales_rep",
                                       role="sales_rep")
    for name, kind in (("sales_app_access", "permission_set"), ("export_data", "permission_set"),
                       ("sales_operations", "permission_set_group")):
        svc.records.create(org.actor, "permission_set_assignment", {"user": user["id"], "permission_set": name,
                                                                    "kind": kind})
    actor = svc.identity.actor_for_user(svc.identity.find_user("rep"))
    rt = svc.runtimes.refresh()
    security = rt.security
    objects = sorted(rt.metadata.objects)
    questions = [(o, a) for o in objects for a in ("create", "read", "edit", "delete")]
    field_questions = [(o, f) for o in objects for f in rt.metadata.objects[o].fields]

    with tempfile.TemporaryDirectory(prefix="tessera-policy-") as directory:
        if not cli.commands:
            _register()
        out = CliRunner().invoke(cli, ["policy", "export", "--database", org.url, directory])
        assert out.exit_code == 0, out.output
        t0 = time.perf_counter()
        enforcer = casbin.Enforcer(str(Path(directory) / "model.conf"), str(Path(directory) / "policy.csv"))
        load_ms = (time.perf_counter() - t0) * 1000
    subject = user_subject("rep")
    policies = len(enforcer.get_policy())

    access = security.access_for(actor)                # warm the per-combination cache
    for o, a in questions:
        assert access.can(o, a) == enforcer.enforce(subject, o, a), (o, a)
    for o, f in field_questions:
        assert access.can_read_field(o, f) == enforcer.enforce(subject, f"{o}.{f}", "read"), (o, f)

    def tessera_objects(n):
        qs, k = questions, len(questions)
        for i in range(n):
            o, a = qs[i % k]
            security.access_for(actor).can(o, a)

    def tessera_fields(n):
        qs, k = field_questions, len(field_questions)
        for i in range(n):
            o, f = qs[i % k]
            security.access_for(actor).can_read_field(o, f)

    def casbin_objects(n):
        qs, k = questions, len(questions)
        for i in range(n):
            o, a = qs[i % k]
            enforcer.enforce(subject, o, a)

    def casbin_fields(n):
        qs, k = field_questions, len(field_questions)
        for i in range(n):
            o, f = qs[i % k]
            enforcer.enforce(subject, f"{o}.{f}", "read")

    calls, casbin_calls = args.decisions, max(200, args.decisions // 200)
    tessera_objects(1000)
    casbin_objects(20)
    rounds = {name: [] for name in ("t_obj", "t_field", "c_obj", "c_field")}
    for _ in range(3):                                 # interleaved: the machine's load hits both sides
        rounds["t_obj"].append(_per_call_us(tessera_objects, calls))
        rounds["c_obj"].append(_per_call_us(casbin_objects, casbin_calls))
        rounds["t_field"].append(_per_call_us(tessera_fields, calls))
        rounds["c_field"].append(_per_call_us(casbin_fields, casbin_calls))
    t_obj, t_field, c_obj, c_field = (min(rounds[k]) for k in ("t_obj", "t_field", "c_obj", "c_field"))
    note = (f"{policies:,} policies, {len(questions)} object and {len(field_questions)} field questions cycled, "
            f"answers identical; best of 3 rounds; access_for(actor) included in every Tessera call; "
            f"stock pycasbin {version('pycasbin')}: "
            f"object {c_obj:,.0f} µs, field {c_field:,.0f} µs per enforce() (loading the files: {load_ms:.0f} ms)")
    return [
        Result("6 warm decision, object right", "-", f"{t_obj:.2f} µs (pycasbin {c_obj:,.0f} µs, {c_obj / t_obj:,.0f}×)",
               f"<= {TARGET_DECISION_US:.0f} µs", t_obj <= TARGET_DECISION_US, note),
        Result("6 warm decision, field read", "-", f"{t_field:.2f} µs (pycasbin {c_field:,.0f} µs, "
               f"{c_field / t_field:,.0f}×)", f"<= {TARGET_DECISION_US:.0f} µs", t_field <= TARGET_DECISION_US),
    ]


# -- 7. sharing -----------------------------------------------------------------------------------
def open_sharing_org(url):
    return open_org(url, extra_packages=[SHARING_PKG])


def _people(org):
    """39 users (a VP, two managers, 18 reps per region) and the reviewers group (two east reps)."""
    from tessera.security.actor import SYSTEM
    svc = org.services
    reviewers = svc.records.create(SYSTEM, "group", {"name": "bench_reviewers"})
    people = {}
    roles = ["bench_vp", "bench_east_manager", "bench_west_manager"] + \
        [f"bench_{region}_rep" for region in ("east", "west") for _ in range(18)]
    for i, role in enumerate(roles):
        user, _ = svc.identity.create_user(f"u{i:02d}", password="bench-harpoon-cedar-1", last_name=f"User {i}",
                                           profile="bench_rep", role=role)
        people[f"u{i:02d}"] = user
        if i in (3, 4):                                # an east rep and another one review the west
            svc.records.create(SYSTEM, "group_member", {"group": reviewers["id"], "user": user["id"]})
    return people


def _manual_shares(org, people, n_rows, count, seed=11):
    """`count` manual shares on random rows, to users, roles (with subordinates) and the group."""
    from sqlalchemy import insert, select
    from tessera.storage.platform_tables import shares
    svc = org.services
    table = svc.runtimes.current().objects["bench_item"].table
    rnd = random.Random(seed)
    with svc.engine.connect() as conn:
        ids = [r[0] for r in conn.execute(select(table.c.id))]
    grantees = [("user", p["id"]) for p in people.values()] + \
        [("role", "bench_east_rep"), ("role_and_subordinates", "bench_west_manager"), ("group", "bench_reviewers")]
    now = datetime.now(timezone.utc)
    rows = []
    for record_id in rnd.sample(ids, min(count, len(ids))):
        kind, grantee = rnd.choice(grantees)
        rows.append({"id": uuid.uuid4(), "object": "bench_item", "record_id": record_id, "grantee_type": kind,
                     "grantee": grantee, "access": rnd.choice(("read", "edit")), "created_at": now,
                     "created_by": org.admin_id})
    with svc.engine.begin() as conn:
        conn.execute(insert(shares), rows)
    return len(rows)


def _analyze(org):
    """Statistics for the tables the sharing predicate reads, as a live database would have them
    (load_rows analyzes bench_item). Table by table: a bare ANALYZE on PostgreSQL would go through
    every schema of the database, other people's included."""
    from tessera.storage.platform_tables import shares
    engine = org.services.engine
    tables = org.services.runtimes.current().tables
    quote = engine.dialect.identifier_preparer.quote
    with engine.begin() as conn:
        for name in (shares.name, tables["user"].name, tables["group"].name, tables["group_member"].name):
            conn.exec_driver_sql(f"ANALYZE {quote(name)}")


def prepare_sharing(org, args, log):
    from bench_big import load_rows
    people = _people(org)
    accounts = make_accounts(org, 100)
    owners = [org.admin_id] + [uuid.UUID(p["id"]) for p in people.values()]
    load_rows(org, accounts, args.sharing_rows, log, owners=owners)
    n = _manual_shares(org, people, args.sharing_rows, args.sharing_rows // 50)
    _analyze(org)
    log(f"  {len(people)} users, {n:,} manual shares")
    return people


def run_sharing(org, people, args) -> list[Result]:
    svc = org.services
    db = "sqlite" if org.url.startswith("sqlite") else "postgresql"
    actors = {"admin": org.actor}
    for label, username in (("rep", "u03"), ("manager", "u01")):
        actors[label] = svc.identity.actor_for_user(svc.identity.find_user(username))
    rt = svc.runtimes.current()
    table = rt.objects["bench_item"].table
    from sqlalchemy import func, select
    visible = {}
    with svc.engine.connect() as conn:
        for label, actor in actors.items():
            pred = rt.security.access_for(actor).visible("bench_item", table, conn.dialect.name)
            stmt = select(func.count()).select_from(table)
            visible[label] = conn.execute(stmt.where(pred) if pred is not None else stmt).scalar()

    rnd = random.Random(5)
    queries = {
        "default list": lambda actor: svc.records.query(actor, "bench_item", limit=50),
        "filter+sort": lambda actor: svc.records.query(actor, "bench_item", filter=f"amount <= {rnd.randrange(1_000, 100_000)}",
                                                       sort="-amount", limit=50),
    }
    results = []
    for qname, query in queries.items():
        samples = {label: [] for label in actors}
        for _ in range(args.sharing_rounds):           # interleaved rounds: load hits every actor alike
            for label, actor in actors.items():
                samples[label] += latencies_ms(lambda: query(actor), args.iterations // args.sharing_rounds)
        admin_p50, admin_p95 = percentile(samples["admin"], 0.5), percentile(samples["admin"], 0.95)
        for label in ("rep", "manager"):
            p50, p95 = percentile(samples[label], 0.5), percentile(samples[label], 0.95)
            ratio = p50 / admin_p50
            results.append(Result(
                f"7 {qname} as {label}, {args.sharing_rows:,} rows", db,
                f"p50 {p50:.2f} ms, p95 {p95:.2f} ms; {ratio:.2f}× admin",
                f"<= {TARGET_SHARING_RATIO}× admin", ratio <= TARGET_SHARING_RATIO,
                f"admin p50 {admin_p50:.2f} ms, p95 {admin_p95:.2f} ms; the {label} sees "
                f"{visible[label]:,} of {visible['admin']:,} rows; p95 ratio {p95 / admin_p95:.2f}×"))
    return results
