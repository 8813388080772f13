"""The change steps of duplicate rules (tessera/dedupe): an active rule added, or its conditions,
their fields' types or its object changed — its keys are built from every row, in the change's
transaction; a rule removed or deactivated — its keys go; an object's last rule gone — its keys
table goes. They run after every field and object step of the plan: they read the final columns.

A rule's action, threshold, message and `where` are read when matching: changing them builds
nothing (meta/duplicate_rules.py key_signature)."""
from __future__ import annotations

from ..dedupe import maintain, storage
from ..dedupe.keys import RuleKeys
from ..meta.duplicate_rules import DuplicateRule, active_rules, key_signature
from ..meta.model import Metadata
from .operations import Context, Impact, Operation, _count


class BuildDuplicateKeys(Operation):
    def __init__(self, object_name: str, rule: str, *, rebuild: bool, create_table: bool):
        self.object_name, self.rule = object_name, rule
        self.rebuild, self.create_table = rebuild, create_table

    def describe(self) -> str:
        verb = "rebuild" if self.rebuild else "build"
        return f"{verb} duplicate keys of {self.object_name} for rule {self.rule}"

    def check(self, conn, ctx: Context) -> Impact:
        if ctx.old_md is None or self.object_name not in ctx.old_md.objects:
            return Impact()
        rows = _count(conn, ctx.old_table(self.object_name))
        return Impact(rows=rows, notes=[f"keys {rows} record{'s' if rows != 1 else ''}"] if rows else [])

    def apply(self, ops, ctx: Context) -> None:
        conn = ctx.conn
        if self.create_table:
            storage.create(conn, self.object_name)
        elif self.rebuild:
            storage.delete_rule(conn, self.object_name, self.rule)
        rule = DuplicateRule.from_component(ctx.new_md.duplicate_rules[self.rule])
        maintain.build(conn, self.object_name, ctx.table(self.object_name), RuleKeys(rule))


class DropDuplicateKeys(Operation):
    """`rule` None: the object has no active rule left (or is gone): its keys table is dropped."""

    def __init__(self, object_name: str, rule: str | None):
        self.object_name, self.rule = object_name, rule

    def describe(self) -> str:
        if self.rule is None:
            return f"drop duplicate keys of {self.object_name}"
        return f"drop duplicate keys of {self.object_name} for rule {self.rule}"

    def apply(self, ops, ctx: Context) -> None:
        if self.rule is None:
            storage.drop(ctx.conn, self.object_name)
        else:
            storage.delete_rule(ctx.conn, self.object_name, self.rule)


def _keyed(md: Metadata | None) -> dict[str, dict[str, tuple]]:
    """object -> {active rule: key signature}."""
    out: dict[str, dict[str, tuple]] = {}
    for rule in active_rules(md) if md is not None else ():
        out.setdefault(rule.object, {})[rule.name] = key_signature(md, rule)
    return out


def dedupe_steps(old: Metadata | None, new: Metadata) -> list[Operation]:
    before, after = _keyed(old), _keyed(new)
    steps: list[Operation] = []
    for name in [*after, *(n for n in before if n not in after)]:
        was, now = before.get(name, {}), after.get(name, {})
        if not now:
            steps.append(DropDuplicateKeys(name, None))
            continue
        first = not was    # the object's first active rule: its keys table is made with it
        for rule, signature in now.items():
            if was.get(rule) != signature:
                steps.append(BuildDuplicateKeys(name, rule, rebuild=rule in was, create_table=first))
                first = False
        steps += [DropDuplicateKeys(name, rule) for rule in was if rule not in now]
    return steps
