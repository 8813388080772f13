"""The two trees of the expression language.

`parse` turns text into a *syntax* tree: what was written, with positions for error messages.
`check` turns that into a *typed* tree: every node knows its result type and operators are already
resolved to what they mean for those types (text `+` is Concat, `date + n` is ADD_DAYS,
`x == None` is IsBlank), so the compilers to Python and to SQL never re-derive meaning from types.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# ---------------------------------------------------------------------------------------------
# Syntax tree (output of parse). `column` is the 1-based character position in the source.


@dataclass(frozen=True, slots=True)
class Syntax:
    column: int


@dataclass(frozen=True, slots=True)
class SLiteral(Syntax):
    value: Any  # None, bool, int, Decimal or str


@dataclass(frozen=True, slots=True)
class SName(Syntax):
    path: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SUnary(Syntax):
    op: str  # "-", "+", "not"
    operand: Syntax


@dataclass(frozen=True, slots=True)
class SBinary(Syntax):
    op: str  # "+", "-", "*", "/"
    left: Syntax
    right: Syntax


@dataclass(frozen=True, slots=True)
class SCompare(Syntax):
    op: str  # "==", "!=", "<", "<=", ">", ">="
    left: Syntax
    right: Syntax


@dataclass(frozen=True, slots=True)
class SIn(Syntax):
    operand: Syntax
    items: tuple[Syntax, ...]
    negated: bool


@dataclass(frozen=True, slots=True)
class SBool(Syntax):
    op: str  # "and", "or"
    operands: tuple[Syntax, ...]


@dataclass(frozen=True, slots=True)
class SCall(Syntax):
    name: str  # upper-cased
    args: tuple[Syntax, ...]


# ---------------------------------------------------------------------------------------------
# Typed tree (output of check). Every node has `type`, one of types.EXPRESSION_TYPES.


@dataclass(frozen=True, slots=True)
class Node:
    type: str


@dataclass(frozen=True, slots=True)
class Literal(Node):
    value: Any


@dataclass(frozen=True, slots=True)
class Field(Node):
    path: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Negate(Node):
    operand: Node


@dataclass(frozen=True, slots=True)
class Arith(Node):
    """Numeric + - * /. Both operands numeric; `/` always has type number."""
    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Concat(Node):
    """Text + text; a blank operand counts as ''."""
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Compare(Node):
    """A comparison of two operands of compatible types; `operand_type` is their common type.
    `tolerant`: numbers compared within NUMBER_TOLERANCE (see semantics.py)."""
    op: str
    left: Node
    right: Node
    operand_type: str
    tolerant: bool = False


@dataclass(frozen=True, slots=True)
class IsBlank(Node):
    operand: Node


@dataclass(frozen=True, slots=True)
class InList(Node):
    operand: Node
    items: tuple[Node, ...]
    operand_type: str
    tolerant: bool = False


@dataclass(frozen=True, slots=True)
class Not(Node):
    operand: Node


@dataclass(frozen=True, slots=True)
class Logic(Node):
    op: str  # "and", "or"
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Call(Node):
    """A library function (see functions.py), with checked arguments."""
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Prior(Node):
    """PRIORVALUE(field): the field's value before the write being validated."""
    path: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Changed(Node):
    """ISCHANGED(field)."""
    path: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Under(Node):
    """UNDER(field, node): the record owning `path`'s hierarchy field is the node or below it (see
    expr/hierarchy.py). `object` is that record's object; the node is matched by id or by `name_field`."""
    path: tuple[str, ...]
    object: str
    name_field: str | None
    node: Node
    by: str  # "id" | "name"


@dataclass(frozen=True, slots=True)
class InPeriod(Node):
    """A relative date function (THIS_QUARTER(d), LAST_N_DAYS(d, 30), ...; see expr/relative_dates.py):
    whether `operand` falls in the named period around today. `count` is the n of the _N_ functions;
    `fiscal_start_month` the first month of the org's fiscal year (the fiscal functions use it)."""
    name: str
    operand: Node
    count: int | None
    fiscal_start_month: int = 1


def walk(node: Node):
    """Every node of a typed tree, parents first."""
    yield node
    for child in children(node):
        yield from walk(child)


def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, (Negate, Not, IsBlank, InPeriod)):
        return (node.operand,)
    if isinstance(node, (Arith, Concat, Compare)):
        return (node.left, node.right)
    if isinstance(node, InList):
        return (node.operand, *node.items)
    if isinstance(node, Logic):
        return node.operands
    if isinstance(node, Call):
        return node.args
    if isinstance(node, Under):
        return (node.node,)
    return ()
