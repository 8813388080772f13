"""Smoke test: the stock packages install together, then an org extension applies on top."""
from __future__ import annotations

from pathlib import Path

from changes_helpers import write_org
from tessera.meta.merge import build_metadata
from tessera.meta.source import load_org, load_package

ROOT = Path(__file__).resolve().parents[2]
STOCK = [ROOT / "metadata" / "core", ROOT / "apps" / "sales", ROOT / "apps" / "marketing", ROOT / "apps" / "service"]


def test_stock_packages_and_org_extension(env, tmp_path):
    sources = [load_package(p) for p in STOCK]
    result = env.svc.install_packages(sources, author="tester")
    assert result.version.number == 1
    described = [op.describe() for op in result.plan]
    assert {"install package core 1.1.0", "install package sales 1.3.0"} <= set(described)
    assert all(op.safety == "safe" for op in result.plan)
    assert "build duplicate keys of contact for rule contact_by_email" in described   # the Sales app's rules
    tables = env.table_names()
    assert {"obj_user", "obj_account", "obj_opportunity", "obj_campaign", "obj_case"} <= tables
    created = [d.split()[2] for d in described if d.startswith("create object")]
    assert created.index("user") < created.index("account")

    env.insert("account", {"name": "Acme"})
    org = write_org(tmp_path / "org", {
        "account": {"extends": "account", "label": "Customer",
                    "fields": {"region": {"type": "picklist", "values": ["EMEA", "AMER", "APAC"]}}},
        "project": {"name": "project", "label": "Project",
                    "fields": {"name": {"type": "text", "required": True},
                               "account": {"type": "lookup", "to": "account"},
                               "budget": {"type": "currency"}}},
    })
    result = env.svc.apply_org(load_org(org), author="tester", message="customer extension")
    assert result.version.number == 2
    described = [op.describe() for op in result.plan]
    assert "add field account.region (picklist)" in described
    assert "create object project (3 stored fields)" in described
    assert env.rows("account", "name", "region") == [{"name": "Acme", "region": None}]

    # the same packages again: nothing to do; the export applies as a no-op
    assert env.svc.install_packages(sources, author="tester").version is None
    env.svc.export_org(tmp_path / "export")
    assert env.svc.apply_org(load_org(tmp_path / "export"), author="tester").version is None


def test_admins_choose_tracked_fields_of_stock_objects(env, tmp_path):
    env.svc.install_packages([load_package(p) for p in STOCK], author="tester")
    org = write_org(tmp_path / "org", {
        "opportunity": {"extends": "opportunity", "fields": {"description": {"track_history": False}}},
        "product": {"extends": "product", "track_history": True},
    })
    result = env.svc.apply_org(load_org(org), author="tester", message="history choices")
    assert {"change field opportunity.description: track_history",
            "change object product: track_history"} <= {op.describe() for op in result.plan}
    md = build_metadata(env.svc.active().snapshot)
    assert "description" not in md.objects["opportunity"].history_fields
    assert "stage" in md.objects["opportunity"].history_fields
    assert md.objects["product"].history_fields
