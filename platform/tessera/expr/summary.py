"""Summary formulas: expressions over a group's aggregates (reports, issue 15).

    win_rate = SUM(is_won) / COUNT()
    avg_deal = SUM(amount) / COUNT_DISTINCT(account)

The formula is the one expression language, read with aggregate calls as its only way to reach
fields: SUM(f), AVG(f), MIN(f), MAX(f), COUNT_DISTINCT(f) of a field or path, and COUNT() for the
number of records. Each call becomes a metric of the record service's aggregate operation
(`sum:is_won`, `count`), computed in SQL with the group; the formula is then evaluated over those
figures per group, subtotal and grand total. A field outside an aggregate call has no single
value in a group and is refused. Division by zero is blank, as everywhere in the language.

MIN and MAX with one argument are aggregates; with two or more they stay the scalar functions.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Mapping

from . import types as t
from .check import Checker
from .compiled import Compiled
from .errors import ExprError
from .nodes import SBinary, SBool, SCall, SCompare, SIn, SName, SUnary, Syntax
from .parse import parse

AGGREGATE_CALLS = {"SUM": "sum", "AVG": "avg", "MIN": "min", "MAX": "max", "COUNT_DISTINCT": "count_distinct"}


class SummaryFormula:
    """A checked summary formula: `metrics` lists the aggregates it needs (aggregate metric names,
    first use first); evaluate() takes their values by those names."""

    def __init__(self, text: str, compiled: Compiled, metrics: list[str]):
        self.text = text
        self.compiled = compiled
        self.metrics = metrics
        self.type = compiled.type

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        return self.compiled.evaluate({(_slot(i),): values.get(name) for i, name in enumerate(self.metrics)})


def _slot(i: int) -> str:
    return f"aggregate_{i}"


def compile_summary(text: str, metric_type: Callable[[str], str | None]) -> SummaryFormula:
    """Check `text`; metric_type(name) gives the expression type of an aggregate's value
    ("sum:amount" → number), or raises ExprError naming what is wrong with it."""
    metrics: list[str] = []

    def metric_slot(node: SCall) -> SName:
        function = AGGREGATE_CALLS.get(node.name) if node.name != "COUNT" else "count"
        if node.name == "COUNT":
            if node.args:
                raise ExprError("COUNT() takes no argument: it counts the group's records "
                                "(COUNT_DISTINCT(field) counts different values)", node.column)
            name = "count"
        else:
            if len(node.args) != 1 or not isinstance(node.args[0], SName):
                raise ExprError(f"{node.name} takes one field or path, like {node.name}(amount)", node.column)
            name = f"{function}:{'.'.join(node.args[0].path)}"
        if name not in metrics:
            metrics.append(name)
        return SName(node.column, (_slot(metrics.index(name)),))

    def rewrite(node: Syntax) -> Syntax:
        if isinstance(node, SCall):
            if node.name == "COUNT" or (node.name in AGGREGATE_CALLS and (node.name not in ("MIN", "MAX")
                                                                          or len(node.args) == 1)):
                return metric_slot(node)
            return replace(node, args=tuple(rewrite(a) for a in node.args))
        if isinstance(node, SName):
            raise ExprError(f"'{'.'.join(node.path)}' has no single value in a group: use it inside "
                            "SUM, AVG, MIN, MAX or COUNT_DISTINCT", node.column)
        if isinstance(node, SUnary):
            return replace(node, operand=rewrite(node.operand))
        if isinstance(node, (SBinary, SCompare)):
            return replace(node, left=rewrite(node.left), right=rewrite(node.right))
        if isinstance(node, SIn):
            return replace(node, operand=rewrite(node.operand), items=tuple(rewrite(i) for i in node.items))
        if isinstance(node, SBool):
            return replace(node, operands=tuple(rewrite(o) for o in node.operands))
        return node   # a literal

    tree = rewrite(parse(text))
    types = [metric_type(name) for name in metrics]

    def resolve(path):
        name = path[0] if len(path) == 1 else ""
        if name.startswith("aggregate_") and name[10:].isdigit() and int(name[10:]) < len(types):
            return types[int(name[10:])]
        return None

    checker = Checker(resolve, "read")
    try:
        typed = checker.check(tree)
    except RecursionError:
        raise ExprError("the expression is too complex") from None
    if typed.type not in (t.NUMBER, t.INTEGER, t.NULL):
        raise ExprError(f"a summary formula must give a number, but gives {typed.type}")
    return SummaryFormula(text, Compiled(text, typed, frozenset(checker.paths), False), metrics)
