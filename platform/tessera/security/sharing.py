"""Record-level sharing compiled to one SQL predicate per (actor, object, access level).

A record is visible to a user when any of these holds (org-wide default `private`):
  - the user owns it;
  - hierarchy: its owner's role is below the user's role (unless the object turns it off);
  - a sharing rule shares it with the user's role (or a role above it, when the rule includes
    subordinates) or one of the user's groups — owner-based rules by the owner's role/group,
    criteria-based rules by an expression of the one expression language;
  - a manual share grants it to the user, the user's role or one of the user's groups.
`read` / `read_write` defaults open reading (and editing) to everyone with object rights;
`controlled_by_parent` objects inherit from their master record (with several master_detail
fields, from the one that is set: records/rows.py). view_all / modify_all object
rights (or view_all_data / modify_all_data) bypass sharing for reading / editing.

Everything is SQLAlchemy Core: role names and ids are bound parameters, expressions compile through
tessera.expr — nothing a user typed becomes SQL text.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

from sqlalchemy import ARRAY, String, any_, exists, false, literal, or_, select
from sqlalchemy.sql import ColumnElement

from ..storage.platform_tables import share_principal, shares


def role_tree(md) -> dict[str, list[str]]:
    children: dict[str, list[str]] = {}
    for name, comp in md.roles.items():
        children.setdefault(comp.get("parent") or "", []).append(name)
    return children


def descendants(md, role: str | None, _tree=None) -> list[str]:
    """Roles strictly below `role` in the hierarchy."""
    if not role:
        return []
    tree = _tree or role_tree(md)
    out, stack = [], list(tree.get(role, ()))
    while stack:
        r = stack.pop()
        out.append(r)
        stack.extend(tree.get(r, ()))
    return sorted(out)


def one_of(column, values, dialect_name: str) -> ColumnElement:
    """`column IN values` with values fixed when the predicate is built. SQLAlchemy renders an IN
    list into the statement text at every execution (an "expanding" parameter: the whole statement
    is rewritten per query, 0.2–0.5 ms of Python on a loaded machine) while everything else in a
    cached predicate is reused as it is; so one value is an equality and, on PostgreSQL, several
    are one array parameter, `= ANY(...)` — what PostgreSQL turns an IN list into anyway."""
    values = list(values)
    if len(values) == 1:
        return column == values[0]
    if dialect_name == "postgresql":
        # an unbounded element type: the column's VARCHAR(n)[] would cut longer values to n
        # characters on the way in, and a cut value can equal another one
        element = String() if isinstance(column.type, String) else column.type
        return column == any_(literal(values, ARRAY(element)))
    return column.in_(values)


def ancestors(md, role: str | None) -> list[str]:
    out, seen = [], set()
    current = md.roles.get(role) if role else None
    while current is not None and current.get("parent") and current["parent"] not in seen:
        seen.add(current["parent"])
        out.append(current["parent"])
        current = md.roles.get(current["parent"])
    return out


# Predicates kept per Runtime (least recently used first out). Building one costs ~0.3–1.5 ms of
# Python (Core constructs, the criteria compiled through tessera.expr) — as much as running the
# query itself — while what it depends on is small: the actor's principals (user id, role, groups)
# and rights, the object, the access level, the alias and the dialect. Everything that changes
# between requests (who has which role, group members, manual shares) is a subquery evaluated by
# the database at run time, so a cached predicate never goes stale; a version change builds a new
# Runtime and with it a new, empty cache.
PREDICATE_CACHE_SIZE = 4096


class SharingCompiler:
    """Per Runtime: builds the visibility predicate for an actor on an object alias."""

    def __init__(self, runtime):
        self.runtime = runtime
        self.md = runtime.metadata
        self._tree = role_tree(self.md)
        self._rules = {}
        for comp in self.md.sharing_rules.values():
            self._rules.setdefault(comp["object"], []).append(comp)
        self._predicates: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    # which principals the actor is: their role, roles above it (for include_subordinates), groups
    def _in_target(self, actor, target: dict) -> bool:
        if "role" in target:
            if actor.role == target["role"]:
                return True
            return bool(target.get("include_subordinates")) and actor.role in descendants(self.md, target["role"], self._tree)
        if "group" in target:
            return target["group"] in actor.groups
        return False

    def _users_with_roles(self, roles, dialect_name):
        users = self.runtime.tables["user"]
        return select(users.c.id).where(one_of(users.c.role, roles, dialect_name))

    def _owner_in(self, alias, target: dict, dialect_name):
        if "role" in target:
            roles = [target["role"]] + (descendants(self.md, target["role"], self._tree)
                                        if target.get("include_subordinates") else [])
            return alias.c.owner.in_(self._users_with_roles(roles, dialect_name))
        members = self.runtime.tables.get("group_member")
        groups = self.runtime.tables.get("group")
        if members is None or groups is None:
            return false()
        group_ids = select(groups.c.id).where(groups.c.name == target["group"])  # groups are named by `name`
        return alias.c.owner.in_(select(members.c.user).where(members.c.group.in_(group_ids)))

    def predicate(self, actor, rights, object_name: str, alias, *, access: str,
                  dialect_name: str) -> ColumnElement | None:
        """None means every record; otherwise a boolean expression over `alias` (built once per
        actor principals, object, access level, alias and dialect: see PREDICATE_CACHE_SIZE)."""
        if actor.is_system:
            return None
        key = (actor.user_id, actor.role, actor.groups, rights, object_name, access, alias, dialect_name)
        with self._lock:
            if key in self._predicates:
                self._predicates.move_to_end(key)
                return self._predicates[key]
        reasons = self.reasons(actor, rights, object_name, alias, access=access, dialect_name=dialect_name)
        built = None if reasons is None else (or_(*(clause for _why, clause in reasons)) if reasons else false())
        with self._lock:
            self._predicates[key] = built
            if len(self._predicates) > PREDICATE_CACHE_SIZE:
                self._predicates.popitem(last=False)
        return built

    def reasons(self, actor, rights, object_name: str, alias, *, access: str, dialect_name: str):
        """The labelled clauses that can grant access (None: everything is granted). Labels say
        why, for `tessera policy explain`; the predicate is their OR."""
        if actor.is_system:
            return None
        obj = self.md.objects[object_name]
        bypass = "modify_all" if access == "edit" else "view_all"
        if rights.can(object_name, bypass):
            return None
        model = obj.sharing_model
        if model == "controlled_by_parent":
            masters = self.md.masters_of(obj)
            if not masters:
                model = "private"
            else:
                # a child of one of several parents (exactly one master_detail set) is reached
                # through the parent it belongs to: one clause per master_detail field
                reasons = []
                for master in masters:
                    parent = self.runtime.tables[master.target].alias()
                    parent_pred = self.predicate(actor, rights, master.target, parent, access=access,
                                                 dialect_name=dialect_name)
                    column = alias.c[master.name]
                    if parent_pred is None and len(masters) == 1:
                        return None
                    clause = column.isnot(None) if parent_pred is None else \
                        column.in_(select(parent.c.id).where(parent_pred))
                    reasons.append((f"access to the parent {master.target} record", clause))
                return reasons
        if model == "read_write" or (model == "read" and access == "read"):
            return None
        reasons = []
        if actor.user_id is not None:
            reasons.append(("the user owns the record", alias.c.owner == actor.user_id))
        if obj.hierarchy_access and actor.role:
            below = descendants(self.md, actor.role, self._tree)
            if below:
                reasons.append((f"role hierarchy: the owner's role is below {actor.role}",
                                alias.c.owner.in_(self._users_with_roles(below, dialect_name))))
        for rule in self._rules.get(object_name, ()):
            if access == "edit" and rule.get("access") != "read_write":
                continue
            if not self._in_target(actor, rule["share_with"]):
                continue
            if rule.get("criteria"):
                clause = self._criteria(object_name, alias, rule["criteria"], dialect_name)
            elif rule.get("owned_by"):
                clause = self._owner_in(alias, rule["owned_by"], dialect_name)
            else:
                continue
            reasons.append((f"sharing rule {rule.name}", clause))
        reasons.append(("a manual share", self._manual(actor, object_name, alias, access, dialect_name)))
        return reasons

    def _criteria(self, object_name, alias, text, dialect_name):
        from ..expr import compile_expression
        from ..meta.validate import resolver
        from ..records.select import SelectBuilder
        compiled = compile_expression(text, resolver(self.md, self.md.objects[object_name]), expected="boolean")
        builder = SelectBuilder(self.runtime, object_name, dialect_name=dialect_name, alias=alias)
        return builder.condition(compiled)

    def _manual(self, actor, object_name, alias, access, dialect_name):
        # a correlated EXISTS, not `id IN (shares of the actor)`: PostgreSQL then plans both a
        # per-record probe of ix_tessera_share_record and one hashed pass over the actor's shares
        # (an index-only scan of ix_tessera_share_grants) and keeps the cheaper for the rows it
        # expects to filter; the IN form only has the hashed pass, which grows with the actor's
        # shares however few rows the query reads
        principals = [share_principal("user", actor.user_id)]
        if actor.role:
            principals.append(share_principal("role", actor.role))
            principals += [share_principal("role_and_subordinates", r)
                           for r in (actor.role, *ancestors(self.md, actor.role))]
        principals += [share_principal("group", g) for g in sorted(actor.groups)]
        conditions = [shares.c.object == object_name, shares.c.record_id == alias.c.id,
                      one_of(shares.c.principal, principals, dialect_name)]
        if access == "edit":       # every share grants reading: only editing narrows the levels
            conditions.append(shares.c.access == "edit")
        return exists(select(literal(1)).where(*conditions))
