"""Permission metadata → a Casbin model and an allow-only policy.

Subjects are `profile:<name>`, `permission_set:<name>` and `permission_set_group:<name>` (groups
inherit their sets through `g`); a user (`user:<username>`, in exports: see `user_subject`)
inherits their profile and assignments. Objects are object names, `<object>.<field>` for field
rights and `system` for system permissions. The policy is *materialized*: field rights a
container inherits from its object rights are written out, so stock pycasbin with the exported
files gives the same answers as the running system without knowing our defaulting rules.
Allow-only (no deny effect): deny combined with role inheritance surprises in Casbin (see
ARCHITECTURE.md).
"""
from __future__ import annotations

OBJECT_ACTIONS = ("create", "read", "edit", "delete", "view_all", "modify_all")
FIELD_ACTIONS = ("read", "edit")
SYSTEM_PERMISSIONS = ("customize_metadata", "manage_users", "api_access", "export_data", "transfer_records",
                      "view_all_data", "modify_all_data", "view_encrypted_data")

MODEL_TEXT = """\
[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, obj, act

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub) && r.obj == p.obj && r.act == p.act
"""

# Actions that imply others (Salesforce semantics): modify_all ⊃ view_all, edit, delete ⊃ read.
_IMPLIES = {"modify_all": {"view_all", "edit", "delete", "read"}, "view_all": {"read"},
            "edit": {"read"}, "delete": {"read"}, "create": set(), "read": set()}


def expand_actions(actions) -> set[str]:
    out = set()
    for a in actions:
        out.add(a)
        out |= _IMPLIES.get(a, set())
    return out


def container_grants(md, comp) -> set[tuple[str, str]]:
    """Every (object, action) a profile or permission set grants, field rights materialized."""
    system = set(comp.get("system_permissions") or ())
    grants = {("system", p) for p in system}
    object_rights = {name: expand_actions(acts) for name, acts in (comp.get("objects") or {}).items()}
    if "view_all_data" in system or "modify_all_data" in system:
        blanket = {"modify_all"} if "modify_all_data" in system else {"view_all"}
        for name in md.objects:
            object_rights[name] = object_rights.get(name, set()) | expand_actions(blanket)
            if "modify_all_data" in system:
                object_rights[name].add("create")
    field_overrides = comp.get("fields") or {}
    for name, acts in object_rights.items():
        obj = md.objects.get(name)
        if obj is None:
            continue
        grants |= {(name, a) for a in acts}
        overrides = field_overrides.get(name) or {}
        for field in obj.fields.values():
            if field.name in overrides:
                field_acts = set(overrides[field.name]) & set(FIELD_ACTIONS)
                if "edit" in field_acts:
                    field_acts.add("read")
            else:
                field_acts = {a for a in FIELD_ACTIONS if a in acts}
            grants |= {(f"{name}.{field.name}", a) for a in field_acts}
    return grants


def policy_rules(md) -> tuple[list[list[str]], list[list[str]]]:
    """(p rules, g rules) for the whole metadata version."""
    p_rules: list[list[str]] = []
    for kind, components in (("profile", md.profiles), ("permission_set", md.permission_sets)):
        for name, comp in sorted(components.items()):
            for obj, act in sorted(container_grants(md, comp)):
                p_rules.append([f"{kind}:{name}", obj, act])
    g_rules = [[f"permission_set_group:{name}", f"permission_set:{ps}"]
               for name, comp in sorted(md.permission_set_groups.items())
               for ps in comp.get("permission_sets") or ()]
    return p_rules, g_rules


# pycasbin's file adapter splits a policy line on top-level commas (a comma inside brackets or
# parentheses does not split; an unbalanced closing one crashes the loader), ignores CSV quoting and
# trims spaces around each value. Usernames are free text, so these characters are percent-encoded.
_UNSAFE_IN_POLICY = set('%,"()[]')


def user_subject(username: str) -> str:
    """The Casbin subject of a user in exported policies: `user:<username>`, with `%`, `,`, `"`,
    brackets, parentheses, whitespace and control characters percent-encoded (UTF-8), so that any
    username survives stock pycasbin's file adapter (`o'brien, jr.` → `user:o'brien%2C%20jr.`)."""
    return "user:" + "".join(
        "".join(f"%{b:02X}" for b in ch.encode("utf-8"))
        if ch in _UNSAFE_IN_POLICY or ch.isspace() or not ch.isprintable() else ch
        for ch in username)


def subjects_of(profile: str | None, permission_sets=(), groups=()) -> list[str]:
    subjects = [f"profile:{profile}"] if profile else []
    subjects += [f"permission_set:{p}" for p in permission_sets]
    subjects += [f"permission_set_group:{g}" for g in groups]
    return subjects
