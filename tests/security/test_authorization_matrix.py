"""The authorization matrix: every stock profile × object × operation × field, through HTTP,
compared with the exported Casbin policy loaded by stock pycasbin — zero mismatches.

One database per module (per xdist worker) holds the stock packages (core, sales, marketing,
service), an admin, and one user per stock profile (no role: record sharing is not the question
here — every record a check touches is owned by the user under test, parents included). The
policy comes from `tessera policy export DIR` and is loaded with `casbin.Enforcer(model.conf,
policy.csv)`; every decision below is `enforcer.enforce("user:<name>", obj, act)`.

What the API must do, per decision:
  object create  POST a minimal valid body → 201, 403 without the right; a required field the
                 profile cannot edit makes an allowed create a 403 naming exactly those fields
  object read    GET the list → 200 / 403
  object edit    PATCH {} a record the user owns → 200 / 403
  object delete  DELETE a record the user owns → 204 / 403
  field read     the field is present in the user's own record (GET one and list) iff readable;
                 `filter`, `sort` and `fields` naming it → 400 naming it when not readable
  field edit     PATCH {field: value} → 200, or 403 naming the field when not editable; computed
                 and read-only fields are 422 naming the field for everyone who may edit it
Field rights are observable only through an object right (a field of an unreadable object is
never shown; a field of an uneditable object is never written): those cells are checked to be
refused at the object level instead.

Every field of every object is checked. To keep the run short, the field probes are batched and
exact: one PATCH naming every field must be refused with a 403 naming *exactly* the fields the
policy denies (the record service reports all of them at once); readable fields are probed together
and only retried one by one when the batch fails; each hidden field is probed on its own.
"""
from __future__ import annotations

import csv
import os
import re
import uuid
from dataclasses import dataclass, field as dc_field
from pathlib import Path

import casbin
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateSchema, DropSchema

from tessera.cli import _register, cli
from tessera.meta.source import load_package
from tessera.services import Services
from tessera.storage.engine import normalize_url
from tessera.web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
STOCK = [ROOT / "metadata" / "core", ROOT / "apps" / "sales", ROOT / "apps" / "marketing", ROOT / "apps" / "service"]
PG_URL = os.environ.get("TESSERA_TEST_DATABASE_URL")
COMPUTED = {"formula", "rollup", "autonumber"}
SYSTEM_FIELDS = ("id", "owner", "created_at", "created_by", "updated_at", "updated_by")

if not cli.commands:
    _register()


def stock_profiles() -> list[str]:
    """Profile names of the stock packages (collection time; checked against the runtime below)."""
    names = set()
    for package in STOCK:
        names |= set(load_package(package)["components"].get("profiles", {}))
    return sorted(names)


# -- a module-scoped database (the shared `db_url` fixture is per test) ----------------------------
def module_db_url(tmp_path_factory, name):
    """Yields a fresh database URL: a SQLite file, or a PostgreSQL schema of its own."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path_factory.mktemp(name) / 'tessera.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(normalize_url(PG_URL))
    with admin.begin() as conn:
        conn.execute(CreateSchema(schema))
    url = make_url(normalize_url(PG_URL)).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(DropSchema(schema, cascade=True))
        admin.dispose()


class Client:
    def __init__(self, app, token):
        self.raw = app.test_client()
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, url, **query):
        return self.raw.get(url, headers=self.headers, query_string=query or None)

    def post(self, url, body):
        return self.raw.post(url, json=body, headers=self.headers)

    def patch(self, url, body):
        return self.raw.patch(url, json=body, headers=self.headers)

    def delete(self, url):
        return self.raw.delete(url, headers=self.headers)


@dataclass
class World:
    services: object
    app: object
    admin: Client
    enforcer: casbin.Enforcer
    policy_dir: Path
    describe: dict                               # object -> {field name -> describe entry}
    users: dict = dc_field(default_factory=dict)  # profile -> (username, user id, Client)
    parents: dict = dc_field(default_factory=dict)
    recipes: dict = dc_field(default_factory=dict)
    counter: int = 0

    def next(self) -> int:
        self.counter += 1
        return self.counter


@pytest.fixture(scope="module")
def stock_url(tmp_path_factory):
    yield from module_db_url(tmp_path_factory, "matrix")


@pytest.fixture(scope="module")
def world(stock_url, tmp_path_factory):
    svc = Services.open(stock_url, poll_seconds=0)
    svc.changes.install_packages([load_package(p) for p in STOCK], author="test", message="stock apps")
    admin, _ = svc.identity.create_user("admin", password="admin-password-1", last_name="Admin",
                                        profile="system_administrator")
    app = create_app(services=svc)
    _tid, token = svc.identity.tokens.create(uuid.UUID(admin["id"]))
    admin_client = Client(app, token)
    md = svc.runtimes.current().metadata
    users = {}
    for profile in sorted(md.profiles):
        username = f"mx_{profile}"
        user, _ = svc.identity.create_user(username, password="matrix-password-1", last_name=username,
                                           profile=profile)
        _tid, token = svc.identity.tokens.create(uuid.UUID(user["id"]))
        users[profile] = (username, user["id"], Client(app, token))
    policy_dir = tmp_path_factory.mktemp("policy")
    result = CliRunner().invoke(cli, ["policy", "export", "--database", stock_url, str(policy_dir)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    enforcer = casbin.Enforcer(str(policy_dir / "model.conf"), str(policy_dir / "policy.csv"))
    describe = {}
    for name in sorted(md.objects):
        r = admin_client.get(f"/api/v1/objects/{name}")
        assert r.status_code == 200, r.get_json()
        describe[name] = {f["name"]: f for f in r.get_json()["fields"] if not f["system"]}
    w = World(svc, app, admin_client, enforcer, policy_dir, describe, users)
    yield w
    svc.engine.dispose()


# -- generic record bodies ---------------------------------------------------------------------------
def is_relation(f) -> bool:
    return f["type"] in ("lookup", "master_detail")


def writable(f) -> bool:
    return f["type"] not in COMPUTED and not f["read_only"]


def value_for(w: World, owner_id: str, f: dict):
    """A valid value of the field's type; lookups point at a record owned by `owner_id`."""
    t, n = f["type"], w.next()
    if is_relation(f):
        return parent_of(w, owner_id, f["to"])
    if t in ("text", "textarea", "phone"):
        return f"x{n}"[: f.get("max_length", 255)]
    if t == "rich_text":
        return f"<p>x{n}</p>"
    if t == "email":
        return f"x{n}@example.com"
    if t == "url":
        return f"https://example.com/{n}"
    if t in ("integer", "number", "currency", "percent"):
        low, high = f.get("min"), f.get("max")
        v = 1 if low is None or low <= 1 else low
        return min(v, high) if high is not None else v
    if t == "boolean":
        return True
    if t == "date":
        return "2030-01-01"
    if t == "datetime":
        return "2030-01-01T00:00:00Z"
    if t == "time":
        return "12:00:00"
    if t == "picklist":
        return f["values"][0]["value"]
    if t == "multi_picklist":
        return [f["values"][0]["value"]]
    if t == "json":
        return {"n": n}
    raise AssertionError(f"no test value for field type {t}")


def body_for(w: World, obj: str, owner_id: str, extra=()) -> dict:
    fields = w.describe[obj]
    names = [n for n, f in fields.items() if f["required"] and writable(f)] + list(extra)
    return {n: value_for(w, owner_id, fields[n]) for n in names}


def recipe(w: World, obj: str, owner_id: str) -> tuple[str, ...]:
    """Which optional fields a minimal valid body needs besides the required ones (validation
    rules such as 'a lead or a contact'): found once per object by trying as the admin."""
    if obj in w.recipes:
        return w.recipes[obj]
    candidates = [()] + [(n,) for n, f in w.describe[obj].items() if not f["required"] and writable(f)]
    for extra in candidates:
        r = w.admin.post(f"/api/v1/records/{obj}", {**body_for(w, obj, owner_id, extra), "owner": owner_id})
        if r.status_code == 201:
            w.recipes[obj] = extra
            return extra
    raise AssertionError(f"cannot build a valid {obj} body: {r.get_json()}")


def admin_create(w: World, obj: str, owner_id: str) -> str:
    """A record created by the admin and owned by `owner_id` (its parents owned by them too)."""
    extra = recipe(w, obj, owner_id)
    r = w.admin.post(f"/api/v1/records/{obj}", {**body_for(w, obj, owner_id, extra), "owner": owner_id})
    assert r.status_code == 201, (obj, r.get_json())
    return r.get_json()["id"]


def parent_of(w: World, owner_id: str, obj: str) -> str:
    key = (owner_id, obj)
    if key not in w.parents:
        w.parents[key] = admin_create(w, obj, owner_id)
    return w.parents[key]


# -- the matrix ------------------------------------------------------------------------------------------
class Matrix:
    def __init__(self, w: World, profile: str):
        self.w = w
        self.profile = profile
        self.username, self.user_id, self.client = w.users[profile]
        self.subject = f"user:{self.username}"
        self.mismatches: list[str] = []
        self.checked = 0

    def allowed(self, obj: str, act: str) -> bool:
        return self.w.enforcer.enforce(self.subject, obj, act)

    def check(self, cell: str, ok: bool, expected: str, response) -> None:
        self.checked += 1
        if not ok:
            body = response.get_json(silent=True) if response is not None else None
            got = f"{response.status_code} {body}" if response is not None else "-"
            self.mismatches.append(f"{self.profile:22} {cell:45} policy says {expected:10} API gave {got}"[:300])

    def run(self):
        md = self.w.services.runtimes.current().metadata
        api_access = self.allowed("system", "api_access")
        for obj in sorted(md.objects):
            self.object_rights(obj, api_access)
        return md

    def object_rights(self, obj: str, api_access: bool):
        c, base = self.client, f"/api/v1/records/{obj}"
        can = {act: api_access and self.allowed(obj, act) for act in ("create", "read", "edit", "delete")}
        fields = self.w.describe[obj]
        md = self.w.services.runtimes.current().metadata

        # read: the list
        r = c.get(base, limit="5")
        self.check(f"{obj} read", r.status_code == (200 if can["read"] else 403), yes(can["read"]), r)

        # create: a minimal valid body (lookups to records the user owns)
        extra = recipe(self.w, obj, self.user_id)
        body = body_for(self.w, obj, self.user_id, extra)
        denied = sorted(n for n in body if not self.allowed(f"{obj}.{n}", "edit"))
        r = c.post(base, body)
        if not can["create"]:
            ok, expected = r.status_code == 403, "no"
        elif denied:  # legitimately refused: the body needs fields the profile cannot edit
            ok = r.status_code == 403 and sorted((r.get_json()["error"].get("fields") or {})) == denied
            expected = f"yes, but no edit on {','.join(denied)}"
        else:
            ok, expected = r.status_code == 201, "yes"
        self.check(f"{obj} create", ok, expected, r)
        if r.status_code == 201:
            created = r.get_json()
            self.check(f"{obj} create owner", created.get("owner") in (None, self.user_id) , "owner=user", r)

        # edit and delete: records the user owns (created by the admin)
        mine = admin_create(self.w, obj, self.user_id)
        r = c.patch(f"{base}/{mine}", {})
        self.check(f"{obj} edit", r.status_code == (200 if can["edit"] else 403), yes(can["edit"]), r)
        doomed = admin_create(self.w, obj, self.user_id)
        r = c.delete(f"{base}/{doomed}")
        self.check(f"{obj} delete", r.status_code == (204 if can["delete"] else 403), yes(can["delete"]), r)

        # field read: the user's own record, one and in the list
        names = list(fields)
        if can["read"]:
            r = c.get(f"{base}/{mine}")
            self.check(f"{obj} get own record", r.status_code == 200, "yes", r)
            record = r.get_json() if r.status_code == 200 else {}
            listed = c.get(base, filter=f"id == '{mine}'").get_json()["records"]
            self.check(f"{obj} own record listed", len(listed) == 1, "listed", r)
            row = listed[0] if listed else {}
            for s in SYSTEM_FIELDS:
                self.check(f"{obj}.{s} read (system)", s in record and s in row, "yes", r)
            readable = [n for n in names if self.allowed(f"{obj}.{n}", "read")]
            for n in names:
                want = n in readable
                self.check(f"{obj}.{n} read", (n in record) == want and (n in row) == want, yes(want), r)
            self.read_probes(obj, base, readable, [n for n in names if n not in readable])
        else:  # a field of an unreadable object is never shown: refused at the object level
            r = c.get(f"{base}/{mine}")
            self.check(f"{obj} get own record", r.status_code == 403, "no", r)

        # field edit: PATCH the user's record
        if can["edit"]:
            self.edit_probes(obj, f"{base}/{mine}", fields)
        else:  # a field of an uneditable object is never written: refused at the object level
            n = next(n for n, f in fields.items() if writable(f))
            r = c.patch(f"{base}/{mine}", {n: value_for(self.w, self.user_id, fields[n])})
            self.check(f"{obj} edit a field", r.status_code == 403, "no", r)

    def read_probes(self, obj, base, readable, hidden):
        """filter / sort / fields: every readable field is accepted (all together in one request,
        then one by one only if that fails); every hidden one is a 400 naming it, each alone."""
        c = self.client

        def probes(ns):
            return (("filter", " and ".join(f"(ISBLANK({n}) or not ISBLANK({n}))" for n in ns)),
                    ("sort", ",".join(ns)), ("fields", ",".join(ns)))

        if readable:
            r = c.get(base, limit="1", **{param: value for param, value in probes(readable)})
            if r.status_code != 200:
                for n in readable:
                    for param, value in probes([n]):
                        r = c.get(base, limit="1", **{param: value})
                        self.check(f"{obj}.{n} read ({param})", r.status_code == 200, "yes", r)
            else:
                self.checked += 3 * len(readable)
        for n in hidden:
            for param, value in probes([n]):
                r = c.get(base, limit="1", **{param: value})
                ok = r.status_code == 400 and re.search(rf"\b{n}\b", r.get_json()["error"]["message"])
                self.check(f"{obj}.{n} read ({param})", bool(ok), "no", r)

    def edit_probes(self, obj, url, fields):
        """One PATCH naming every field: exactly the fields the policy denies are refused (403);
        then the read-only/computed ones the policy allows: exactly those are 422 read-only; then
        the writable allowed ones: saved (200). A failing batch is retried field by field."""
        c = self.client
        denied = {n for n in fields if not self.allowed(f"{obj}.{n}", "edit")}
        values = {n: value_for(self.w, self.user_id, f) if writable(f) else "1" for n, f in fields.items()}

        def refused(r, status):
            body = r.get_json(silent=True) or {}
            return set((body.get("error") or {}).get("fields") or {}) if r.status_code == status else set()

        r = c.patch(url, values)
        got = refused(r, 403)
        for n in fields:
            self.check(f"{obj}.{n} edit (all fields at once)", (n in got) == (n in denied), yes(n not in denied), r)

        read_only = [n for n, f in fields.items() if not writable(f) and n not in denied]
        if read_only:
            r = c.patch(url, {n: values[n] for n in read_only})
            got = refused(r, 422)
            for n in read_only:
                self.check(f"{obj}.{n} edit (read-only field)", n in got, "yes→422", r)

        allowed = [n for n, f in fields.items() if writable(f) and n not in denied]
        if allowed:
            r = c.patch(url, {n: values[n] for n in allowed})
            if self.saved(r):
                self.checked += len(allowed)
            else:  # localize: one field at a time
                for n in allowed:
                    r = c.patch(url, {n: value_for(self.w, self.user_id, fields[n])})
                    self.check(f"{obj}.{n} edit", self.saved(r), "yes", r)

    @staticmethod
    def saved(r) -> bool:
        """The write passed the permission checks: saved, or stopped only by a validation rule
        (e.g. 'a campaign member is a lead or a contact', when a field sets the other one)."""
        if r.status_code == 200:
            return True
        body = r.get_json(silent=True) or {}
        return r.status_code == 422 and bool((body.get("error") or {}).get("rules"))


def yes(flag: bool) -> str:
    return "yes" if flag else "no"


def test_every_stock_profile_is_in_the_matrix(world):
    md = world.services.runtimes.current().metadata
    assert sorted(md.profiles) == stock_profiles()
    assert set(world.users) == set(md.profiles)
    # the export names every user of the org (active), with their profile
    rows = list(csv.reader(open(world.policy_dir / "policy.csv", encoding="utf-8")))
    links = {(r[1], r[2]) for r in rows if r[0] == "g"}
    for profile, (username, _id, _c) in world.users.items():
        assert (f"user:{username}", f"profile:{profile}") in links


@pytest.mark.parametrize("profile", stock_profiles())
def test_authorization_matrix(world, profile):
    m = Matrix(world, profile)
    m.run()
    report = "\n".join(m.mismatches)
    print(f"{profile}: {m.checked} cells checked, {len(m.mismatches)} mismatches")
    assert not m.mismatches, f"{len(m.mismatches)} of {m.checked} cells differ from the policy:\n{report}"
