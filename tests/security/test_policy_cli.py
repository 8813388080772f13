"""`tessera policy export` and `tessera policy explain`, on the stock metadata.

export: model.conf + policy.csv that stock pycasbin loads and that answer like the running system
(`runtime.security.access_for(actor)`) for every stock profile — every object × action, field ×
action and system permission — and for users combining a profile with permission sets and a
permission set group.

explain: yes/no and why, exit status 0 (yes), 3 (no), 1 (errors): a profile grant, a permission
set grant (direct and through a group), a denial, a field restriction, and record access through
ownership, the role hierarchy, an owner-based and a criteria-based sharing rule, a manual share and
the org-wide default.
"""
from __future__ import annotations

import csv
import uuid
from pathlib import Path

import casbin
import pytest
from click.testing import CliRunner

from databases import fresh_database_url
from tessera.cli import _register, cli
from tessera.meta.source import load_package
from tessera.security.actor import SYSTEM
from tessera.security.policy import FIELD_ACTIONS, MODEL_TEXT, OBJECT_ACTIONS, SYSTEM_PERMISSIONS, user_subject
from tessera.services import Services

ROOT = Path(__file__).resolve().parents[2]
STOCK = [ROOT / "metadata" / "core", ROOT / "apps" / "sales", ROOT / "apps" / "marketing", ROOT / "apps" / "service"]

if not cli.commands:
    _register()


def stock_profiles() -> list[str]:
    """Profile names of the stock packages, at collection time (a component's file is named after
    it; the tests check this list against the runtime's metadata)."""
    return sorted(p.stem for package in STOCK for p in (package / "profiles").glob("*.y*ml"))


# users of the export test: one per stock profile, plus combinations (profile, permission sets,
# permission set groups) whose rights are a union
COMBOS = {
    "combo_rep_prices": ("sales_rep", ["price_book_manager"], []),
    "combo_mkt_budgets": ("marketing_user", ["campaign_manager"], []),        # field edit restored
    "combo_std_sales_ops": ("standard_user", ["sales_app_access"], ["sales_operations"]),
    "combo_no_profile": (None, ["knowledge_author"], []),
}
EXPORT_USERS = [f"px_{p}" for p in stock_profiles()] + sorted(COMBOS)


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    yield from fresh_database_url(tmp_path_factory.mktemp("policy"))


def add_user(svc, username, profile=None, role=None, permission_sets=(), groups=(), active=True) -> str:
    """A user record (no password: neither command needs one) with its assignments."""
    user = svc.records.create(SYSTEM, "user", {k: v for k, v in dict(
        username=username, last_name=username, profile=profile, role=role, active=active).items() if v is not None})
    for name in permission_sets:
        svc.records.create(SYSTEM, "permission_set_assignment",
                           {"user": user["id"], "permission_set": name, "kind": "permission_set"})
    for name in groups:
        svc.records.create(SYSTEM, "permission_set_assignment",
                           {"user": user["id"], "permission_set": name, "kind": "permission_set_group"})
    return user["id"]


class Org:
    def __init__(self, url, svc):
        self.url, self.svc, self.ids, self.records = url, svc, {}, {}

    def run(self, *args):
        return CliRunner().invoke(cli, [*args[:2], "--database", self.url, *args[2:]], catch_exceptions=False)

    def actor(self, username):
        return self.svc.identity.actor_for_user(self.svc.identity.find_user(username))


@pytest.fixture(scope="module")
def org(url):
    svc = Services.open(url, poll_seconds=0)
    svc.changes.install_packages([load_package(p) for p in STOCK], author="test", message="stock apps")
    o = Org(url, svc)
    md = svc.runtimes.current().metadata
    for profile in sorted(md.profiles):
        o.ids[f"px_{profile}"] = add_user(svc, f"px_{profile}", profile)
    for name, (profile, sets, groups) in COMBOS.items():
        o.ids[name] = add_user(svc, name, profile, permission_sets=sets, groups=groups)
    o.ids["px_gone"] = add_user(svc, "px_gone", "system_administrator", active=False)
    # the explain scenarios: a sales team, a marketing manager, a VP, a price book manager
    for name, profile, role in (("rep_a", "sales_rep", "sales_rep"), ("rep_b", "sales_rep", "sales_rep"),
                                ("mgr", "sales_manager", "sales_manager"), ("vp", "sales_manager", "vp_sales"),
                                ("mkt", "marketing_user", "marketing_manager")):
        o.ids[name] = add_user(svc, name, profile, role)
    create = svc.records.create
    o.records["acct_a"] = create(o.actor("rep_a"), "account", {"name": "Shared with B"})["id"]
    o.records["acct_a2"] = create(o.actor("rep_a"), "account", {"name": "A's own"})["id"]
    svc.shares.share(o.actor("rep_a"), "account", o.records["acct_a"],
                     {"grantee_type": "user", "grantee": o.ids["rep_b"], "access": "read"})
    o.records["big_deal"] = create(o.actor("vp"), "opportunity", {
        "name": "Big", "amount": 2_000_000, "stage": "Prospecting", "close_date": "2030-01-01"})["id"]
    o.records["product"] = create(SYSTEM, "product", {"name": "Widget"})["id"]
    yield o
    svc.engine.dispose()


@pytest.fixture(scope="module")
def exported(org, tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    r = org.run("policy", "export", str(out))
    assert r.exit_code == 0, r.output
    assert "model.conf" in r.output and "policy.csv" in r.output
    return out


@pytest.fixture(scope="module")
def enforcers(exported):
    model, policy = str(exported / "model.conf"), str(exported / "policy.csv")
    # casbin.Enforcer is the reference; FastEnforcer (stock pycasbin too) pre-selects the policy lines
    # whose (obj, act) equal the request's — what the matcher compares them with — and answers in
    # microseconds instead of ~5 ms, so every cell can be asked (their agreement is checked below)
    return casbin.Enforcer(model, policy), casbin.FastEnforcer(model, policy, cache_key_order=[1, 2])


# -- export ------------------------------------------------------------------------------------------
def test_export_writes_files_stock_pycasbin_loads(org, exported, enforcers):
    assert (exported / "model.conf").read_text(encoding="utf-8") == MODEL_TEXT
    rows = list(csv.reader(open(exported / "policy.csv", encoding="utf-8")))
    assert rows and {r[0] for r in rows} == {"p", "g"}
    assert all(len(r) == 4 for r in rows if r[0] == "p"), "allow-only: sub, obj, act (no effect column)"
    assert all(len(r) == 3 for r in rows if r[0] == "g")
    plain, _fast = enforcers
    assert len(plain.get_policy()) == sum(r[0] == "p" for r in rows)
    # every active user is linked to their profile; inactive users are left out
    links = {(r[1], r[2]) for r in rows if r[0] == "g"}
    assert ("user:px_sales_rep", "profile:sales_rep") in links
    assert ("user:combo_std_sales_ops", "permission_set_group:sales_operations") in links
    assert ("permission_set_group:sales_operations", "permission_set:price_book_manager") in links
    assert not any(sub == "user:px_gone" for sub, _ in links)
    assert not plain.enforce("user:px_gone", "account", "read")


@pytest.mark.parametrize("username", EXPORT_USERS)
def test_exported_policy_answers_like_the_running_system(org, enforcers, username):
    plain, fast = enforcers
    md = org.svc.runtimes.current().metadata
    access = org.svc.runtimes.current().security.access_for(org.actor(username))
    subject = f"user:{username}"
    # the whole grant set, as stock pycasbin infers it through the role links
    implicit = {(obj, act) for _sub, obj, act in plain.get_implicit_permissions_for_user(subject)}
    assert implicit == set(access.rights.grants)
    # and cell by cell: every object x action, field x action and system permission
    cells = [(o, a, access.can(o, a)) for o in sorted(md.objects) for a in OBJECT_ACTIONS]
    cells += [(f"{o}.{f}", a, access.can_read_field(o, f) if a == "read" else access.can_edit_field(o, f))
              for o in sorted(md.objects) for f in md.objects[o].fields for a in FIELD_ACTIONS]
    cells += [("system", p, access.system(p)) for p in SYSTEM_PERMISSIONS]
    wrong = [(obj, act, want) for obj, act, want in cells if fast.enforce(subject, obj, act) != want]
    assert not wrong, f"{len(wrong)} of {len(cells)} decisions differ (obj, act, running system): {wrong[:20]}"
    # the reference enforcer (~5 ms a decision) on a deterministic sample of the same cells
    sample = cells[::23] + [c for c in cells if c[2]][::31]
    wrong = [(obj, act, want) for obj, act, want in sample if plain.enforce(subject, obj, act) != want]
    assert not wrong, wrong[:20]
    assert any(want for *_x, want in cells) or username == "combo_no_profile"


def test_stock_profiles_are_all_exported(org):
    assert sorted(org.svc.runtimes.current().metadata.profiles) == stock_profiles()
    assert {f"px_{p}" for p in stock_profiles()} <= set(EXPORT_USERS)


def test_export_survives_usernames_pycasbin_would_split(org, tmp_path):
    """Usernames are free text; the file adapter splits on commas and brackets and trims spaces."""
    # (leading/trailing whitespace and control characters are refused in usernames: test_user_rights.py)
    awkward = ["o'brien, jr. (ops)", "inner  spaces", "unbalanced)", "100%", 'quote"d', "josé"]
    for name in awkward:
        add_user(org.svc, name, "read_only", permission_sets=["export_data"])
    try:
        r = org.run("policy", "export", str(tmp_path))
        assert r.exit_code == 0, r.output
        enforcer = casbin.Enforcer(str(tmp_path / "model.conf"), str(tmp_path / "policy.csv"))
        for name in awkward:
            subject = user_subject(name)
            assert enforcer.enforce(subject, "account", "read"), subject
            assert enforcer.enforce(subject, "system", "export_data"), subject
            assert not enforcer.enforce(subject, "account", "edit"), subject
        assert user_subject("o'brien, jr. (ops)") == "user:o'brien%2C%20jr.%20%28ops%29"
        assert user_subject("jane.doe@example.com") == "user:jane.doe@example.com"
        assert not enforcer.enforce("user:o'brien", "account", "read")
    finally:  # leave the org as the other tests expect it (the export test lists every user)
        for name in awkward:
            user = org.svc.identity.find_user(name)
            org.svc.records.update(SYSTEM, "user", user["id"], {"active": False})


# -- explain ------------------------------------------------------------------------------------------
def explain(org, *args):
    r = org.run("policy", "explain", *args)
    return r.exit_code, r.output


def test_explain_profile_grant(org):
    code, out = explain(org, "rep_a", "account", "read")
    assert code == 0 and out.startswith("yes: rep_a may read account"), out
    assert "granted by profile sales_rep" in out


def test_explain_permission_set_grants(org):
    code, out = explain(org, "combo_rep_prices", "product", "create")
    assert code == 0 and "granted by permission set price_book_manager" in out, out
    assert "profile sales_rep" not in out.split("granted by", 1)[1]  # the profile only reads products
    code, out = explain(org, "combo_std_sales_ops", "price_book", "delete")
    assert code == 0 and "permission set price_book_manager (group sales_operations)" in out, out
    code, out = explain(org, "combo_no_profile", "knowledge_article", "delete")
    assert code == 0 and "granted by permission set knowledge_author" in out, out


def test_explain_denial(org):
    code, out = explain(org, "rep_a", "account", "delete")
    assert code == 3 and out.startswith("no: rep_a may not delete account"), out
    assert "not granted by any of: profile sales_rep" in out
    code, out = explain(org, "combo_rep_prices", "campaign", "read")
    assert code == 3 and "profile sales_rep, permission set price_book_manager" in out, out


def test_explain_field_restriction(org):
    code, out = explain(org, "rep_a", "account", "edit", "--field", "account_number")
    assert code == 3 and "edit on account.account_number: not granted" in out, out
    code, out = explain(org, "rep_a", "account", "read", "--field", "account_number")
    assert code == 0 and "read on account.account_number: granted by profile sales_rep" in out, out
    code, out = explain(org, "px_marketing_user", "contact", "read", "--field", "birthdate")
    assert code == 3 and "may not read contact.birthdate" in out, out
    # a permission set gives back what the profile withholds
    code, out = explain(org, "combo_mkt_budgets", "campaign", "edit", "--field", "budgeted_cost")
    assert code == 0 and "granted by permission set campaign_manager" in out, out


def test_explain_record_access_by_owner(org):
    code, out = explain(org, "rep_a", "account", "edit", "--record", org.records["acct_a2"])
    assert code == 0 and "edit access because of the user owns the record" in out, out


def test_explain_record_access_by_role_hierarchy(org):
    code, out = explain(org, "mgr", "account", "edit", "--record", org.records["acct_a2"])
    assert code == 0 and "role hierarchy: the owner's role is below sales_manager" in out, out
    assert "owns the record" not in out


def test_explain_record_access_by_sharing_rules(org):
    # owner-based: accounts owned in the sales organization are shared read-only with marketing managers
    code, out = explain(org, "mkt", "account", "read", "--record", org.records["acct_a2"])
    assert code == 0 and "sharing rule sales_accounts_to_marketing" in out, out
    # criteria-based: big open deals reach every sales manager, read-only (the VP is above, not below)
    code, out = explain(org, "mgr", "opportunity", "read", "--record", org.records["big_deal"])
    assert code == 0 and "sharing rule big_open_deals_to_sales_managers" in out, out
    assert "role hierarchy" not in out
    code, out = explain(org, "mgr", "opportunity", "edit", "--record", org.records["big_deal"])
    assert code == 3 and "no edit access" in out, out


def test_explain_record_access_by_manual_share(org):
    code, out = explain(org, "rep_b", "account", "read", "--record", org.records["acct_a"])
    assert code == 0 and "read access because of a manual share" in out, out
    code, out = explain(org, "rep_b", "account", "edit", "--record", org.records["acct_a"])
    assert code == 3 and "no edit access" in out, out  # the share grants read only


def test_explain_no_record_access_and_org_wide_default(org):
    code, out = explain(org, "rep_b", "account", "read", "--record", org.records["acct_a2"])
    assert code == 3 and "no read access: not the owner" in out, out
    code, out = explain(org, "rep_b", "product", "read", "--record", org.records["product"])
    assert code == 0 and "the org-wide default is read" in out, out
    code, out = explain(org, "px_system_administrator", "account", "delete", "--record", org.records["acct_a2"])
    assert code == 0 and "view_all / modify_all" in out, out
    code, out = explain(org, "rep_b", "account", "read", "--record", str(uuid.uuid4()))
    assert code == 3 and "there is no such account record" in out, out


def test_explain_inactive_user_is_refused(org):
    code, out = explain(org, "px_gone", "account", "read")
    assert code == 3 and out.startswith("no: px_gone may not read account") and "inactive" in out, out


@pytest.mark.parametrize("args, message", [
    (("ghost", "account", "read"), "there is no user 'ghost'"),
    (("rep_a", "spaceship", "read"), "there is no object 'spaceship'"),
    (("rep_a", "account", "read", "--field", "shoe_size"), "'account' has no field 'shoe_size'"),
    (("rep_a", "account", "delete", "--field", "name"), "field rights are read or edit"),
    (("rep_a", "account", "read", "--record", "not-an-id"), "not-an-id"),
    (("rep_a", "account", "create", "--record", "00000000-0000-0000-0000-000000000001"), "--record"),
])
def test_explain_errors_exit_1(org, args, message):
    r = org.run("policy", "explain", *args)
    assert r.exit_code == 1, r.output
    assert r.stderr.startswith("error: ") and message in r.stderr, r.stderr
    assert "Traceback" not in r.output


def test_explain_unknown_action_is_a_usage_error(org):
    r = org.run("policy", "explain", "rep_a", "account", "destroy")
    assert r.exit_code == 2 and "destroy" in r.output
