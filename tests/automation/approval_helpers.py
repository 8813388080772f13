"""Helpers of the approval tests: org layers with approval processes (and workflows, templates),
users with a manager or a role, clients acting as them."""
from __future__ import annotations

PASSWORD = "Tq7-violet-harbor-92"


def org_with(*, approval_processes: dict | None = None, workflows: dict | None = None,
             email_templates: dict | None = None) -> dict:
    components = {}
    for dirname, docs in (("approval_processes", approval_processes), ("workflows", workflows),
                          ("email_templates", email_templates)):
        if docs:
            components[dirname] = {name: {"source": f"{dirname}/{name}.yaml", "doc": {"name": name, **doc}}
                                   for name, doc in docs.items()}
    return {"manifest": None, "components": components}


def apply(services, **kinds):
    return services.changes.apply_org(org_with(**kinds), author="test", message="approvals")


def user(services, name, profile="tp_rep", **fields):
    created, _ = services.identity.create_user(name, password=PASSWORD, profile=profile, **fields)
    return created


def manager_process(**extra) -> dict:
    """Deals above 100 need the submitter's manager; approval marks them Working."""
    return {"object": "deal", "entry_condition": "amount > 100",
            "steps": [{"label": "Manager review", "approvers": [{"type": "manager"}]}],
            "on_approve": [{"type": "update_record", "values": {"stage": "'Working'"}}],
            "on_reject": [{"type": "update_record", "values": {"probability": "0"}}], **extra}


def titles(client) -> list[str]:
    return [n["title"] for n in client.get("/api/v1/notifications").json["notifications"]]
