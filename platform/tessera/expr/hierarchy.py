"""UNDER(field, node): is a record in the subtree of a hierarchy?

`field` names a hierarchy field (a self-lookup declared `hierarchy: true`), optionally through
lookups (`account.parent`); the record tested is the one owning that field. `node` is the root of
the subtree: an id, or text — a UUID literal is an id, any other text is matched against the
object's name field (`UNDER(parent, 'EMEA')`). The node itself counts as under itself, as
Salesforce's BELOW does for data categories ("the category and all its subcategories"): a filter
for EMEA shows EMEA and everything below it. A name shared by several records roots several
subtrees.

The type checker learns which fields are hierarchies from the resolver: `resolve_type.hierarchy(path)`
gives a Hierarchy for a hierarchy field's path (meta.validate.resolver provides it); a resolver
without it knows no hierarchies, so UNDER refuses every field there.

SQL: `record.id IN (WITH RECURSIVE subtree ...)` — the recursive CTE starts at the node and walks
down the parent column, at most MAX_DEPTH levels (the record service refuses deeper trees and
cycles on write: records/hierarchy.py). Python: the record itself is compared with the node; above
it, the caller's `under` callback answers from the database (whether the record's parent is the
node or below it). Without one (a value computed with no database at hand) UNDER raises ExprError,
and metadata validation refuses UNDER in formulas and default values for that reason.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Integer, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Alias

from . import types as t
from .errors import ExprError
from .nodes import Literal, SName, Under

if TYPE_CHECKING:
    from .check import Checker

MAX_DEPTH = 100   # levels below a root; the record service refuses trees deeper than this


@dataclass(frozen=True)
class Hierarchy:
    """What the checker needs to know of a hierarchy field."""
    object: str                # the object whose records form the tree
    name_field: str | None     # how a node may be named in UNDER(field, 'name')


def check_under(checker: "Checker", node) -> Under:
    if len(node.args) != 2:
        raise ExprError(f"function UNDER takes 2 arguments (a hierarchy field and a node), got {len(node.args)}",
                        node.column)
    target, root = node.args
    if not isinstance(target, SName):
        raise ExprError("function UNDER takes a hierarchy field first, e.g. UNDER(parent, 'EMEA')", target.column)
    path = tuple(target.path)
    checker._field_type(target)   # unknown or unreadable fields are reported as everywhere else
    lookup = getattr(checker.resolve_type, "hierarchy", None)
    hierarchy = lookup(path) if lookup is not None else None
    if hierarchy is None:
        raise ExprError(f"function UNDER: '{'.'.join(path)}' is not a hierarchy field (a lookup to its own "
                        f"object declared hierarchy: true)", target.column)
    value = checker.check(root)
    prefix = path[:-1]
    if value.type == t.ID:
        by = "id"
    elif value.type == t.TEXT and isinstance(value, Literal) and _is_uuid(value.value):
        by, value = "id", Literal(t.ID, str(uuid.UUID(value.value)))
    elif value.type == t.TEXT:
        if hierarchy.name_field is None:
            raise ExprError(f"function UNDER: {hierarchy.object} has no name field, so the node must be given "
                            "by its id", root.column)
        by = "name"
    else:
        raise ExprError(f"function UNDER: argument 2 must be the node's id or name, got {t.describe(value.type)}",
                        root.column)
    # the Python target reads the record's own id, parent and name
    checker.paths.update({prefix + ("id",), path} | ({prefix + (hierarchy.name_field,)} if by == "name" else set()))
    checker.uses_under = True
    return Under(t.BOOLEAN, path, hierarchy.object, hierarchy.name_field, value, by)


def _is_uuid(text) -> bool:
    try:
        uuid.UUID(text)
        return True
    except (ValueError, TypeError, AttributeError):
        return False


# -- SQL -------------------------------------------------------------------------------------------

def subtree_ids(table, parent: str, root_condition) -> "select":
    """SELECT of the ids of the nodes matching `root_condition(alias)` and everything below them."""
    start = table.alias()
    tree = (select(start.c.id.label("node"), literal(0, Integer()).label("depth"))
            .where(root_condition(start)).cte(recursive=True))
    child = table.alias()
    tree = tree.union_all(select(child.c.id, tree.c.depth + 1)
                          .where(child.c[parent] == tree.c.node, tree.c.depth < MAX_DEPTH))
    return select(tree.c.node)


def ancestor_chains(table, parent: str, starts):
    """A recursive CTE (start, node, up, depth): each start record (depth 0) and its ancestors,
    stopping where a chain meets its start again (a cycle) or passes MAX_DEPTH + 1 levels."""
    first = table.alias()
    chain = (select(first.c.id.label("start"), first.c.id.label("node"), first.c[parent].label("up"),
                    literal(0, Integer()).label("depth"))
             .where(first.c.id.in_(starts)).cte(recursive=True))
    above = table.alias()
    return chain.union_all(
        select(chain.c.start, above.c.id, above.c[parent], chain.c.depth + 1)
        .where(above.c.id == chain.c.up, chain.c.depth <= MAX_DEPTH,
               or_(chain.c.depth == 0, chain.c.node != chain.c.start)))


def under_sql(compiler, node: Under) -> ColumnElement:
    parent_column = compiler.column_for(node.path)
    record_id = compiler.column_for(node.path[:-1] + ("id",))
    table = parent_column.table
    while isinstance(table, Alias):
        table = table.element
    root = compiler.compile(node.node)

    def root_condition(alias):
        if node.by == "name":
            return alias.c[node.name_field] == root
        if isinstance(node.node, Literal):   # bound as the id column's own type
            from .to_sql import _id_parameter
            return alias.c.id == _id_parameter(node.node.value, alias.c.id)
        return alias.c.id == root
    return record_id.in_(subtree_ids(table, parent_column.key, root_condition))


# -- Python ----------------------------------------------------------------------------------------

def under_python(node: Under, compile_python):
    prefix = node.path[:-1]
    id_path, name_path = prefix + ("id",), prefix + ((node.name_field,) if node.name_field else ())
    root_of = compile_python(node.node)

    def under(env):
        root = root_of(env)
        if root is None:
            return None
        own = env.values.get(name_path) if node.by == "name" else env.values.get(id_path)
        if own is not None and _same(own, root, node.by):
            return True
        parent = env.values.get(node.path)
        if parent is None:
            return False
        if env.under is None:
            raise ExprError("UNDER needs the database to look up the hierarchy: it can be used in filters, "
                            "sharing criteria, validation rules and workflow conditions")
        return bool(env.under(node.object, node.path[-1], parent, root, node.by))
    return under


def _same(value, root, by: str) -> bool:
    if by == "name":
        return value == root
    return str(value).replace("-", "").lower() == str(root).replace("-", "").lower()
