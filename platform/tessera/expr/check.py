"""Syntax tree → typed tree: resolve fields, check types, and lower operators to their meaning.

Every type error is found here, at compile time; the compiled targets never meet a value of an
unexpected type. Lowering (text + text → Concat, date - date → DAYS_BETWEEN, x == None → IsBlank)
also happens here, once, so both targets share one reading of the expression.
"""
from __future__ import annotations

import uuid
from typing import Callable

from . import types as t
from .errors import ExprError
from .geo import TAKES_GEOLOCATION
from .images import TAKES_IMAGE, infer as image_infer
from .functions import SIGNATURES, ArgumentError
from .hierarchy import check_under
from .relative_dates import PERIODS, check_period
from .nodes import (Arith, Call, Changed, Compare, Concat, Field, InList, IsBlank, Literal, Logic, Negate,
                    Node, Not, Prior, SBinary, SBool, SCall, SCompare, SIn, SLiteral, SName, SUnary, Syntax)

ResolveType = Callable[[tuple], "str | None"]

_ORDERING = {"<", "<=", ">", ">="}

CURRENT_USER_REFUSED = ("CURRENT_USER() can only be used in filters (queries, list views, reports), validation "
                        "rules and workflow trigger conditions: formula fields, roll-ups, defaults, sharing "
                        "rules and workflow actions are not evaluated for one known user")


class Checker:
    def __init__(self, resolve_type: ResolveType, context: str, current_user: bool = False):
        self.resolve_type = resolve_type
        self.context = context
        self.current_user = current_user   # whether CURRENT_USER() means someone here
        self.paths: set[tuple[str, ...]] = set()
        self.uses_prior = False
        self.uses_under = False   # UNDER needs the database in Python (expr/hierarchy.py)

    def check(self, node: Syntax) -> Node:
        typed = getattr(self, "_" + type(node).__name__)(node)
        if typed.type == t.NULL and not isinstance(typed, Literal):
            # Anything of type null (IF(c, None, None), MIN(None, None)) is always blank.
            return Literal(t.NULL, None)
        return typed

    # -- leaves --------------------------------------------------------------------------------
    def _SLiteral(self, node: SLiteral) -> Node:
        value = node.value
        if value is None:
            return Literal(t.NULL, None)
        if isinstance(value, bool):
            return Literal(t.BOOLEAN, value)
        if isinstance(value, int):
            return Literal(t.INTEGER, value)
        if isinstance(value, str):
            return Literal(t.TEXT, value)
        return Literal(t.NUMBER, value)

    def _SName(self, node: SName) -> Node:
        return Field(self._field_type(node), node.path)

    def _field_type(self, node: SName) -> str:
        dotted = ".".join(node.path)
        found = self.resolve_type(tuple(node.path))
        if found is None:
            hint = ""
            if len(node.path) == 1 and (node.path[0].upper() in SIGNATURES or node.path[0].upper() in PERIODS
                                        or node.path[0].upper() == "UNDER"):
                hint = f" ({node.path[0].upper()} is a function: write {node.path[0].upper()}(...))"
            raise ExprError(f"unknown field '{dotted}'{hint}", node.column)
        try:
            kind = t.normalize_type(found)
        except ValueError:
            raise ExprError(f"field '{dotted}' cannot be used in expressions", node.column) from None
        if kind == t.NULL:
            raise ExprError(f"field '{dotted}' cannot be used in expressions", node.column)
        self.paths.add(tuple(node.path))
        return kind

    # -- operators -----------------------------------------------------------------------------
    def _SUnary(self, node: SUnary) -> Node:
        operand = self.check(node.operand)
        if node.op == "not":
            if operand.type not in (t.BOOLEAN, t.NULL):
                raise ExprError(f"'not' needs a boolean, got {t.describe(operand.type)}", node.column)
            return Not(t.BOOLEAN, _typed(operand, t.BOOLEAN))
        if operand.type not in (t.INTEGER, t.NUMBER, t.NULL):
            raise ExprError(f"'{node.op}' cannot be applied to {t.describe_operand(operand.type)}", node.column)
        return Negate(operand.type, operand) if node.op == "-" else operand

    def _SBinary(self, node: SBinary) -> Node:
        left, right = self.check(node.left), self.check(node.right)
        a, b = left.type, right.type
        op = node.op
        if op == "+" and t.TEXT in (a, b) and {a, b} <= {t.TEXT, t.NULL}:
            return Concat(t.TEXT, _typed(left, t.TEXT), _typed(right, t.TEXT))
        numeric = t.unify(a, b)
        if numeric in t.NUMERIC or (numeric == t.NULL and op in "+-*/"):
            kind = t.NUMBER if op == "/" or numeric == t.NULL else numeric
            return Arith(kind, op, _typed(left, kind), _typed(right, kind))
        if op in "+-" and a == t.DATE and b in (t.INTEGER, t.NULL):
            days = _typed(right, t.INTEGER)
            return Call(t.DATE, "ADD_DAYS", (left, days if op == "+" else Negate(t.INTEGER, days)))
        if op == "+" and a in (t.INTEGER, t.NULL) and b == t.DATE:
            return Call(t.DATE, "ADD_DAYS", (right, _typed(left, t.INTEGER)))
        if op == "-" and a == t.DATE and b == t.DATE:
            return Call(t.INTEGER, "DAYS_BETWEEN", (right, left))
        hint = ""
        if op == "+" and t.TEXT in (a, b):
            hint = " (use TEXT() to turn a value into text)"
        elif t.DATETIME in (a, b):
            hint = " (use ADD_DAYS or DAYS_BETWEEN for datetimes)"
        raise ExprError(f"'{op}' cannot be applied to {t.describe_operand(a)} and {t.describe_operand(b)}{hint}",
                      node.column)

    def _SCompare(self, node: SCompare) -> Node:
        left, right = self.check(node.left), self.check(node.right)
        if _is_none(left) or _is_none(right):
            if node.op in _ORDERING:
                raise ExprError(f"'{node.op}' cannot compare {t.describe_operand(left.type)} with "
                                f"{t.describe_operand(right.type)}",
                                node.column)
            # x == None asks whether x is blank (SQL's IS NULL), never "unknown".
            blank = IsBlank(t.BOOLEAN, right if _is_none(left) else left)
            return blank if node.op == "==" else Not(t.BOOLEAN, blank)
        kind, left, right = self._comparable(node.op, left, right, node.column)
        return Compare(t.BOOLEAN, node.op, left, right, kind, _tolerant(kind, left, right))

    def _comparable(self, op: str, left: Node, right: Node, column: int) -> tuple[str, Node, Node]:
        a, b = left.type, right.type
        kind = t.unify(a, b)
        if kind is None and {a, b} == {t.ID, t.TEXT} and op in ("==", "!="):
            text_side = right if b == t.TEXT else left
            if not isinstance(text_side, Literal):
                raise ExprError(f"'{op}' can compare an id only with another id or a text literal", column)
            id_side = left if a == t.ID else right
            if text_side.value is not None and not _is_id_text(text_side.value):
                # a record's name is not its id: this would silently match nothing
                named = ".".join(id_side.path) if isinstance(id_side, (Field, Prior)) else "an id"
                hint = (f" (to compare a field of the record it points to, name it: e.g. {named}.name == {text_side.value!r})"
                        if isinstance(id_side, Field) and id_side.path[-1] not in ("id",) else "")
                raise ExprError(f"'{named}' is a record id and {text_side.value!r} is not one: '{op}' would never "
                                f"match{hint}", column)
            id_literal = Literal(t.ID, _canonical_id(text_side.value))
            return t.ID, (left if a == t.ID else id_literal), (right if b == t.ID else id_literal)
        if t.IMAGE in (a, b):
            raise ExprError(f"'{op}' cannot compare pictures (an IMAGE() value is only shown: compare its "
                            f"url or alternative text instead)", column)
        if t.GEOLOCATION in (a, b):
            raise ExprError(f"'{op}' cannot compare geolocations: compare DISTANCE(a, b, 'km'), LATITUDE(x) or "
                            f"LONGITUDE(x)", column)
        if kind is None or (op in _ORDERING and kind not in t.ORDERED):
            raise ExprError(f"'{op}' cannot compare {t.describe_operand(a)} with {t.describe_operand(b)}", column)
        return kind, _typed(left, kind), _typed(right, kind)

    def _SIn(self, node: SIn) -> Node:
        operand = self.check(node.operand)
        items = [self.check(item) for item in node.items]
        with_blank = any(_is_none(item) for item in items)
        values = [item for item in items if not _is_none(item)]
        op = "not in" if node.negated else "in"
        if _is_none(operand):
            raise ExprError(f"'{op}' needs a value on its left, got None (use ISBLANK)", node.column)
        kind = operand.type
        checked = []
        for item in values:
            kind_here, _, item = self._comparable("==", operand, item, node.column)
            kind = t.unify(kind, kind_here) or kind
            checked.append(item)
        parts: list[Node] = []
        if checked:
            parts.append(InList(t.BOOLEAN, operand, tuple(checked), kind, _tolerant(kind, operand, *checked)))
        if with_blank:  # [..., None] also matches a blank value, as x == None does
            parts.append(IsBlank(t.BOOLEAN, operand))
        if not parts:
            result: Node = Literal(t.BOOLEAN, False)
        else:
            result = parts[0] if len(parts) == 1 else Logic(t.BOOLEAN, "or", tuple(parts))
        return Not(t.BOOLEAN, result) if node.negated else result

    def _SBool(self, node: SBool) -> Node:
        operands = [self.check(o) for o in node.operands]
        for syntax, operand in zip(node.operands, operands):
            if operand.type not in (t.BOOLEAN, t.NULL):
                raise ExprError(f"'{node.op}' needs boolean operands, got {t.describe(operand.type)}", syntax.column)
        return Logic(t.BOOLEAN, node.op, tuple(_typed(o, t.BOOLEAN) for o in operands))

    # -- functions -----------------------------------------------------------------------------
    def _SCall(self, node: SCall) -> Node:
        if node.name == "CASE":
            return self._case(node)
        if node.name == "UNDER":
            return check_under(self, node)
        if node.name in PERIODS:
            return check_period(self, node)
        signature = SIGNATURES.get(node.name)
        if signature is None:
            raise ExprError(f"unknown function '{node.name}'", node.column)
        if signature.write_only and self.context != "write":
            raise ExprError(f"{node.name} can only be used in validation rules and workflow conditions",
                            node.column)
        if node.name == "CURRENT_USER" and not self.current_user:
            raise ExprError(CURRENT_USER_REFUSED, node.column)
        count = len(node.args)
        if count < signature.min_args or (signature.max_args is not None and count > signature.max_args):
            raise ExprError(signature.arity_message(count), node.column)
        if signature.takes_field:
            return self._field_function(node)
        args = [self.check(arg) for arg in node.args]
        try:
            result, arg_types = (image_infer(args, self._is_file_field) if node.name == "IMAGE"
                                 else signature.infer(args))
        except ArgumentError as exc:
            raise ExprError(f"function {node.name}: {exc.message}", node.args[exc.index].column) from None
        _check_geolocation_use(node, args, result)
        _check_image_use(node, args)
        args = [_typed(arg, kind) for arg, kind in zip(args, arg_types)]
        return Call(result, node.name, tuple(args))

    def _case(self, node: SCall) -> Node:
        """CASE(value, match1, result1, ..., default): the result of the first match equal to the
        value, else the default (a blank value matches nothing). Lowered to IF(value == match1,
        result1, IF(...)), so both targets compare exactly as `==` does."""
        count = len(node.args)
        if count < 4 or count % 2:
            raise ExprError("function CASE takes a value, then pairs of match and result, then a default "
                            f"(an even number of arguments, at least 4), got {count}", node.column)
        value = self.check(node.args[0])
        if _is_none(value):
            raise ExprError("function CASE: argument 1 must be a value, got None", node.args[0].column)
        pairs = [(node.args[i], node.args[i + 1]) for i in range(1, count - 1, 2)]
        results = [self.check(result) for _match, result in pairs] + [self.check(node.args[-1])]
        kind = t.NULL
        for syntax, result in zip([r for _m, r in pairs] + [node.args[-1]], results):
            unified = t.unify(kind, result.type)
            if unified is None:
                raise ExprError(f"function CASE: every result must be {t.describe(kind)} like the one before, "
                                f"got {t.describe(result.type)}", syntax.column)
            kind = unified
        if kind == t.GEOLOCATION:
            raise ExprError("function CASE cannot give a geolocation (only GEOLOCATION() makes one)", node.column)
        out = _typed(results[-1], kind)
        for (match_syntax, _r), result in reversed(list(zip(pairs, results))):
            match = self.check(match_syntax)
            if _is_none(match):
                raise ExprError("function CASE: a match cannot be None (a blank value matches nothing; "
                                "use ISBLANK in an IF)", match_syntax.column)
            operand_kind, left, right = self._comparable("==", value, match, match_syntax.column)
            condition = Compare(t.BOOLEAN, "==", left, right, operand_kind, _tolerant(operand_kind, left, right))
            out = Call(kind, "IF", (condition, _typed(result, kind), out))
        return out

    def _is_file_field(self, node: Node) -> bool:
        """Is `node` a file or image field (IMAGE's url may be one)? The resolver knows
        (`resolve_type.file_field(path)`, meta.validate.resolver)."""
        known = getattr(self.resolve_type, "file_field", None)
        return isinstance(node, Field) and known is not None and bool(known(node.path))

    def _field_function(self, node: SCall) -> Node:
        target = node.args[0]
        if not isinstance(target, SName):
            raise ExprError(f"function {node.name} takes a field name, e.g. {node.name}(stage)", target.column)
        kind = self._field_type(target)
        self.uses_prior = True
        path = tuple(target.path)
        return Changed(t.BOOLEAN, path) if node.name == "ISCHANGED" else Prior(kind, path)


def _tolerant(kind: str, *operands: Node) -> bool:
    """Whether a comparison of numbers involves a computed one (see semantics.NUMBER_TOLERANCE_*)."""
    return kind == t.NUMBER and not all(isinstance(o, (Field, Literal, Prior)) for o in operands)


def _is_none(node: Node) -> bool:
    return isinstance(node, Literal) and node.value is None


def _typed(node: Node, kind: str) -> Node:
    """A literal None given the type of the position it is in (SQL needs typed NULLs)."""
    if _is_none(node) and kind not in (t.NULL, None):
        return Literal(kind, None)
    return node


def _is_id_text(text) -> bool:
    try:
        uuid.UUID(text)
        return True
    except (ValueError, TypeError, AttributeError):
        return False


def _canonical_id(text: str) -> str:
    """Ids compare in their canonical form, so 'ABC…' and 'abc…' name the same record."""
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return text  # never equal to a real id; kept so the expression reads back as written


def _check_geolocation_use(node: SCall, args, result: str) -> None:
    """A geolocation is a point stored in two columns: only the geo functions and ISBLANK take one
    (expr/geo.py), and only GEOLOCATION() makes one — IF(c, a, b) over points has no single SQL value."""
    for syntax, arg in zip(node.args, args):
        if arg.type == t.GEOLOCATION and node.name not in TAKES_GEOLOCATION:
            raise ExprError(f"function {node.name} cannot take a geolocation (use DISTANCE, LATITUDE or LONGITUDE)",
                            syntax.column)
    if result == t.GEOLOCATION and node.name != "GEOLOCATION":
        raise ExprError(f"function {node.name} cannot give a geolocation (only GEOLOCATION() makes one)", node.column)


def _check_image_use(node: SCall, args) -> None:
    """A picture (IMAGE()'s value) is only shown: IF, BLANKVALUE and ISBLANK take one, nothing else."""
    for syntax, arg in zip(node.args, args):
        if arg.type == t.IMAGE and node.name not in TAKES_IMAGE:
            raise ExprError(f"function {node.name} cannot take a picture (an IMAGE() value is only shown; "
                            f"IF, BLANKVALUE and ISBLANK take one)", syntax.column)
