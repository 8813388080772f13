"""`tessera policy explain`: yes or no, and which profile, permission set, role, rule or share
decides it — computed from the same policy and sharing clauses the record service enforces."""
from __future__ import annotations

from sqlalchemy import select

from ..storage.engine import begin_read
from .policy import container_grants


def _containers(md, actor):
    out = []
    if actor.profile and actor.profile in md.profiles:
        out.append((f"profile {actor.profile}", md.profiles[actor.profile]))
    for ps in actor.permission_sets:
        if ps in md.permission_sets:
            out.append((f"permission set {ps}", md.permission_sets[ps]))
    for group in actor.permission_set_groups:
        for ps in (md.permission_set_groups.get(group) or {}).get("permission_sets") or ():
            if ps in md.permission_sets:
                out.append((f"permission set {ps} (group {group})", md.permission_sets[ps]))
    return out


def explain(runtime, engine, actor, object_name: str, action: str, *, field: str | None = None,
            record_id=None) -> tuple[bool, list[str]]:
    md = runtime.metadata
    access = runtime.security.access_for(actor)
    target = f"{object_name}.{field}" if field else object_name
    grantors = [label for label, comp in _containers(md, actor) if (target, action) in container_grants(md, comp)]
    allowed = access.can(object_name, action) if not field else (
        access.can_read_field(object_name, field) if action == "read" else access.can_edit_field(object_name, field))
    lines = []
    if allowed:
        lines.append(f"{action} on {target}: granted by " + ", ".join(grantors or ["the system"]))
    else:
        assigned = ", ".join(label for label, _ in _containers(md, actor)) or "no profile or permission set"
        lines.append(f"{action} on {target}: not granted by any of: {assigned}")
        return False, lines
    if record_id is None:
        return True, lines
    level = "read" if action in ("read", "view_all") else "edit"  # delete and modify_all need edit access
    table = runtime.tables[object_name]
    with begin_read(engine) as conn:
        if conn.execute(select(table.c.id).where(table.c.id == record_id)).first() is None:
            return False, lines + [f"record {record_id}: there is no such {object_name} record"]
        reasons = runtime.security.sharing.reasons(actor, access.rights, object_name, table, access=level,
                                                   dialect_name=conn.dialect.name) if access.rights else None
        if reasons is None:
            obj = md.objects[object_name]
            why = ("view_all / modify_all on the object" if access.rights and (
                access.can(object_name, "view_all") or access.can(object_name, "modify_all"))
                else f"the org-wide default is {obj.sharing_model}" if access.rights else "system access")
            return True, lines + [f"record {record_id}: {level} access because of {why}"]
        matched = [why for why, clause in reasons
                   if conn.execute(select(table.c.id).where(table.c.id == record_id, clause)).first() is not None]
    if matched:
        return True, lines + [f"record {record_id}: {level} access because of " + "; ".join(matched)]
    return False, lines + [f"record {record_id}: no {level} access: not the owner, not above the owner in the role "
                           f"hierarchy, and no sharing rule or manual share grants it"]
