"""The authorization matrix: every stock profile × object × operation × field, through HTTP,
compared with the exported Casbin policy loaded by stock pycasbin — zero mismatches.

One database per module (per xdist worker) holds the stock packages (core, sales, marketing,
service), an admin, and one user per stock profile (no role: record sharing is not the question
here — every record a check touches is owned by the user under test, parents included). The
policy comes from `tessera policy export DIR` and is loaded with `casbin.Enforcer(model.conf,
policy.csv)`; every decision below is `enforce("user:<name>", obj, act)` (field cells through
`casbin.FastEnforcer` over the same files: see `Matrix.allowed`).

What the API must do, per decision:
  object create  POST a minimal valid body → 201, 403 without the right; a required field the
                 profile cannot edit makes an allowed create a 403 naming exactly those fields
  object read    GET the list → 200 / 403
  object edit    PATCH {} a record the user owns → 200 / 403
  object delete  DELETE a record the user owns → 204 / 403
  view_all,      GET / PATCH {} a record someone else owns → 200 when view_all / modify_all (or
  modify_all     the org-wide default) lets the user reach it, else 404 (hidden) / 403 (read-only)
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
import re
import uuid
from dataclasses import dataclass, field as dc_field
from pathlib import Path

import casbin
import pytest
from click.testing import CliRunner

from databases import fresh_database_url
from tessera.cli import _register, cli
from tessera.meta.source import load_package
from tessera.meta.related import targets as related_targets
from tessera.security.actor import SYSTEM
from tessera.services import Services
from tessera.web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
STOCK = [ROOT / "metadata" / "core", ROOT / "apps" / "sales", ROOT / "apps" / "marketing", ROOT / "apps" / "service"]
COMPUTED = {"formula", "rollup", "autonumber"}
SYSTEM_FIELDS = ("id", "owner", "created_at", "created_by", "updated_at", "updated_by")

if not cli.commands:
    _register()


def stock_profiles() -> list[str]:
    """Profile names of the stock packages, at collection time (a component's file is named after
    it; the tests check this list against the runtime's metadata)."""
    return sorted(p.stem for package in STOCK for p in (package / "profiles").glob("*.y*ml"))


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
    fast: casbin.FastEnforcer
    policy_dir: Path
    describe: dict                               # object -> {field name -> describe entry}
    users: dict = dc_field(default_factory=dict)  # profile -> (username, user id, Client)
    parents: dict = dc_field(default_factory=dict)
    recipes: dict = dc_field(default_factory=dict)
    usable: dict = dc_field(default_factory=dict)
    others: dict = dc_field(default_factory=dict)   # object -> a record the admin owns
    admin_id: str = ""
    counter: int = 0

    def next(self) -> int:
        self.counter += 1
        return self.counter


@pytest.fixture(scope="module")
def stock_url(tmp_path_factory):
    yield from fresh_database_url(tmp_path_factory.mktemp("matrix"))


@pytest.fixture(scope="module")
def world(stock_url, tmp_path_factory):
    svc = Services.open(stock_url, poll_seconds=0)
    svc.changes.install_packages([load_package(p) for p in STOCK], author="test", message="stock apps")
    # users as plain user records (API tokens need no password, and hashing one costs ~0.2 s)
    admin = svc.records.create(SYSTEM, "user", {"username": "admin", "last_name": "Admin",
                                                "profile": "system_administrator"})
    app = create_app(services=svc)
    _tid, token = svc.identity.tokens.create(uuid.UUID(admin["id"]))
    admin_client = Client(app, token)
    md = svc.runtimes.current().metadata
    users = {}
    for profile in sorted(md.profiles):
        username = f"mx_{profile}"
        user = svc.records.create(SYSTEM, "user", {"username": username, "last_name": username, "profile": profile})
        _tid, token = svc.identity.tokens.create(uuid.UUID(user["id"]))
        users[profile] = (username, user["id"], Client(app, token))
    policy_dir = tmp_path_factory.mktemp("policy")
    result = CliRunner().invoke(cli, ["policy", "export", "--database", stock_url, str(policy_dir)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    enforcer = casbin.Enforcer(str(policy_dir / "model.conf"), str(policy_dir / "policy.csv"))
    fast = casbin.FastEnforcer(str(policy_dir / "model.conf"), str(policy_dir / "policy.csv"), cache_key_order=[1, 2])
    describe = {}
    for name in sorted(md.objects):
        r = admin_client.get(f"/api/v1/objects/{name}")
        assert r.status_code == 200, r.get_json()
        describe[name] = {f["name"]: {**f, "object": name} for f in r.get_json()["fields"] if not f["system"]}
    w = World(svc, app, admin_client, enforcer, fast, policy_dir, describe, users, admin_id=admin["id"])
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
    # names the active metadata must know (records/user_rights.py refuses others)
    known = {"profile": "standard_user", "role": "ceo", "permission_set": "export_data",
             "default_currency": "USD"}   # an active currency of the org
    if f.get("name") in known and t == "text":
        return known[f["name"]]
    if is_relation(f):
        return parent_of(w, owner_id, f["to"])
    if t == "related_to":   # a record of the first object it may point to
        md = w.services.runtimes.current().metadata
        target = related_targets(md, md.objects[f["object"]].fields[f["name"]])[0]
        return {"object": target, "id": parent_of(w, owner_id, target)}
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
    if t == "geolocation":
        return {"latitude": 48.8566, "longitude": 2.3522}
    if t == "duration":
        return 3600
    if t == "file":   # an uploaded file's id (tests/api/test_files_api.py): none here
        return None
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
    w.recipes[obj] = None  # in progress: an optional lookup back to this object is no candidate
    candidates = [()] + [(n,) for n, f in w.describe[obj].items() if not f["required"] and writable(f)
                         and not (is_relation(f) and f["to"] in w.recipes and w.recipes[f["to"]] is None)]
    for extra in candidates:
        r = w.admin.post(f"/api/v1/records/{obj}", {**body_for(w, obj, owner_id, extra), "owner": owner_id})
        if r.status_code == 201:
            w.recipes[obj] = extra
            return extra
    del w.recipes[obj]
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


# -- filter / sort / fields probes ----------------------------------------------------------------------
PROBES = ("filter", "sort", "fields")


def probe(param: str, names) -> str:
    if param == "filter":
        return " and ".join(f"(ISBLANK({n}) or not ISBLANK({n}))" for n in names)
    return ",".join(names)


def admin_usable(w: World, obj: str, base: str) -> dict:
    """Per probe, the fields the admin (who reads every field) may use; `status` keeps the admin's
    status for the others. Computed once per object."""
    if obj not in w.usable:
        names = list(w.describe[obj])
        usable: dict = {"status": {}}
        for param in PROBES:
            if w.admin.get(base, limit="1", **{param: probe(param, names)}).status_code == 200:
                usable[param] = {n: 200 for n in names}
                continue
            usable[param] = {}
            for n in names:
                status = w.admin.get(base, limit="1", **{param: probe(param, [n])}).status_code
                if status == 200:
                    usable[param][n] = 200
                else:
                    usable["status"][param, n] = status
        w.usable[obj] = usable
    return w.usable[obj]


# -- the matrix ------------------------------------------------------------------------------------------
class Matrix:
    def __init__(self, w: World, profile: str):
        self.w = w
        self.profile = profile
        self.username, self.user_id, self.client = w.users[profile]
        self.subject = f"user:{self.username}"
        self.mismatches: list[str] = []
        self.checked = 0
        self._decisions: dict[tuple[str, str], bool] = {}

    def allowed(self, obj: str, act: str) -> bool:
        """The exported policy's decision. Object and system rights ask casbin.Enforcer; field
        rights (ten times as many) ask casbin.FastEnforcer over the same two files, which only
        pre-selects the policy lines whose (obj, act) equal the request's — exactly what the
        matcher compares them with, so the answer is the same (test_fast_enforcer_agrees)."""
        key = (obj, act)
        if key not in self._decisions:
            enforcer = self.w.fast if "." in obj else self.w.enforcer
            self._decisions[key] = enforcer.enforce(self.subject, obj, act)
        return self._decisions[key]

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
        deleted = 409 if obj == "user" else 204   # users are deactivated, never deleted
        self.check(f"{obj} delete", r.status_code == (deleted if can["delete"] else 403), yes(can["delete"]), r)

        # view_all / modify_all: a record someone else (the admin) owns, parents included
        self.others_record(obj, base, can)

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

    def reaches(self, obj: str, level: str) -> bool:
        """Whether the policy lets this role-less user reach a record owned by someone else: the
        view_all / modify_all right, or the org-wide default (a controlled_by_parent object follows
        its master record, itself owned by someone else)."""
        if self.allowed(obj, "view_all" if level == "read" else "modify_all"):
            return True
        o = self.w.services.runtimes.current().metadata.objects[obj]
        if o.sharing_model == "controlled_by_parent":
            master = next((f for f in o.fields.values() if f.type == "master_detail"), None)
            return master is not None and self.reaches(master.options["to"], level)
        return o.sharing_model == "read_write" or (o.sharing_model == "read" and level == "read")

    def others_record(self, obj, base, can):
        c = self.client
        if obj not in self.w.others:
            self.w.others[obj] = admin_create(self.w, obj, self.w.admin_id)
        url = f"{base}/{self.w.others[obj]}"
        see, change = can["read"] and self.reaches(obj, "read"), self.reaches(obj, "edit")
        r = c.get(url)
        want = 200 if see else 404 if can["read"] else 403
        self.check(f"{obj} read someone else's record", r.status_code == want,
                   f"{want} (view_all {yes(self.allowed(obj, 'view_all'))})", r)
        r = c.patch(url, {})
        want = 403 if not can["edit"] else 404 if not see else 200 if change else 403
        self.check(f"{obj} edit someone else's record", r.status_code == want,
                   f"{want} (modify_all {yes(self.allowed(obj, 'modify_all'))})", r)

    def read_probes(self, obj, base, readable, hidden):
        """filter / sort / fields: every readable field is accepted as it is for the admin (all
        together in one request, then one by one only if that fails); every hidden one is a 400
        naming it, each alone. (Some types are refused for everyone — a json field cannot be
        filtered on —: the admin's answer is the baseline.)"""
        c = self.client
        usable = admin_usable(self.w, obj, base)
        for param in PROBES:
            ok_fields = [n for n in readable if n in usable[param]]
            if ok_fields:
                r = c.get(base, limit="1", **{param: probe(param, ok_fields)})
                if r.status_code == 200:
                    self.checked += len(ok_fields)
                else:
                    for n in ok_fields:
                        r = c.get(base, limit="1", **{param: probe(param, [n])})
                        self.check(f"{obj}.{n} read ({param})", r.status_code == 200, "yes", r)
            for n in readable:
                if n not in usable[param]:  # refused for the admin too: the same answer
                    r = c.get(base, limit="1", **{param: probe(param, [n])})
                    admin_status = usable["status"][param, n]
                    self.check(f"{obj}.{n} read ({param}: {admin_status} for the admin too)",
                               r.status_code == admin_status, "yes", r)
            for n in hidden:
                r = c.get(base, limit="1", **{param: probe(param, [n])})
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


def test_fast_enforcer_agrees(world):
    """The FastEnforcer used for field cells answers like casbin.Enforcer: a deterministic sample
    of field cells of every profile (including granted and refused ones)."""
    md = world.services.runtimes.current().metadata
    cells = [f"{o}.{f}" for o in sorted(md.objects) for f in md.objects[o].fields]
    seen = {True: 0, False: 0}
    for i, (profile, (username, _id, _c)) in enumerate(sorted(world.users.items())):
        for cell in cells[i::29]:
            for act in ("read", "edit"):
                want = world.enforcer.enforce(f"user:{username}", cell, act)
                assert world.fast.enforce(f"user:{username}", cell, act) == want, (username, cell, act)
                seen[want] += 1
    assert seen[True] and seen[False]


@pytest.mark.parametrize("profile", stock_profiles())
def test_authorization_matrix(world, profile):
    m = Matrix(world, profile)
    m.run()
    report = "\n".join(m.mismatches)
    print(f"{profile}: {m.checked} cells checked, {len(m.mismatches)} mismatches")
    assert not m.mismatches, f"{len(m.mismatches)} of {m.checked} cells differ from the policy:\n{report}"


# -- found while building the matrix: record-level gaps on write (records/service.py) -----------------
# Reported, not fixed here (the record service is not this file's to change). strict: when the
# service is fixed these XPASS and fail, so the markers get removed.
def sales_pair(world):
    """Two sales reps with the same role: peers, who see nothing of each other's (private) records."""
    out = []
    for name in ("peer_a", "peer_b"):
        user = world.services.identity.find_user(name)
        if user is None:
            user = world.services.records.create(
                SYSTEM, "user", {"username": name, "last_name": name, "profile": "sales_rep", "role": "sales_rep"})
        _tid, token = world.services.identity.tokens.create(uuid.UUID(user["id"]))
        out.append((user["id"], Client(world.app, token)))
    a_id, a = out[0]
    account = a.post("/api/v1/records/account", {"name": "A's account"}).get_json()["id"]
    deal = a.post("/api/v1/records/opportunity", {"name": "A's deal", "close_date": "2030-01-01",
                                                  "account": account}).get_json()["id"]
    product = parent_of(world, a_id, "product")
    return out, account, deal, product


def test_detail_create_needs_access_to_the_master(world):
    ((_a_id, a), (_b_id, b)), _account, deal, product = sales_pair(world)
    assert b.get(f"/api/v1/records/opportunity/{deal}").status_code == 404
    r = b.post("/api/v1/records/opportunity_line_item",
               {"opportunity": deal, "product": product, "quantity": 5, "unit_price": 1000})
    total = a.get(f"/api/v1/records/opportunity/{deal}").get_json()["products_total"]
    assert r.status_code in (403, 404, 422), r.get_json()
    assert not total


def test_detail_reparent_needs_access_to_the_master(world):
    ((_a_id, _a), (_b_id, b)), _account, deal, product = sales_pair(world)
    mine = b.post("/api/v1/records/opportunity", {"name": "B's deal", "close_date": "2030-01-01"}).get_json()["id"]
    item = b.post("/api/v1/records/opportunity_line_item",
                  {"opportunity": mine, "product": product, "quantity": 1, "unit_price": 1}).get_json()["id"]
    r = b.patch(f"/api/v1/records/opportunity_line_item/{item}", {"opportunity": deal})
    assert r.status_code in (403, 404, 422), r.get_json()


def test_lookup_to_a_hidden_record_is_refused_like_a_missing_one(world):
    ((_a_id, _a), (_b_id, b)), account, _deal, _product = sales_pair(world)
    missing = b.post("/api/v1/records/contact", {"last_name": "x", "account": str(uuid.uuid4())})
    assert missing.status_code == 422
    hidden = b.post("/api/v1/records/contact", {"last_name": "x", "account": account})
    assert hidden.status_code == 422, hidden.get_json()


def json_fields(world):
    return [(o, n) for o, fields in sorted(world.describe.items()) for n, f in fields.items() if f["type"] == "json"]


def test_sort_by_a_json_field_is_not_a_server_error(world):
    fields = json_fields(world)
    if not fields:
        pytest.skip("no json field in the stock metadata")
    for obj, name in fields:
        r = world.admin.get(f"/api/v1/records/{obj}", sort=name)
        assert r.status_code in (200, 400), (obj, name, r.status_code, r.get_json())
