"""Expression text → syntax tree, using Python's own parser and a whitelist of node kinds.

Python's `ast` gives us a correct, well-tested grammar (precedence, string escapes, chained
comparisons) for free. Everything it can express that we do not list here is refused with a
message naming the construct, so no Python semantics ever leak into the language.
"""
from __future__ import annotations

import ast
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from .aliases import OPERATORS_HELP, Rewritten
from .errors import ExprError
from .nodes import SBinary, SBool, SCall, SCompare, SIn, SLiteral, SName, SUnary, Syntax

MAX_LENGTH = 10_000
MAX_DEPTH = 100        # nesting of the syntax tree; keeps every later (recursive) pass safe
MAX_PATH_LENGTH = 5    # account.owner.manager.… at most five names deep
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_NUMBER_EXPONENT = 30  # number literals between 1e-30 and 1e31: beyond, almost surely a typo

_ARITHMETIC = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_REFUSED_OPERATORS = {
    ast.FloorDiv: "//", ast.Mod: "%", ast.Pow: "**", ast.LShift: "<<", ast.RShift: ">>",
    ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&", ast.MatMult: "@",
}
_REFUSED_HINTS = {"|": " (write 'or' or '||')", "&": " (write 'and' or '&&')"}
# Salesforce-style logical functions: calls in the text, the language's own operators in the tree.
_LOGICAL_FUNCTIONS = {"AND": "and", "OR": "or", "NOT": "not"}
_COMPARISONS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_REFUSED_NODES = {
    ast.Lambda: "'lambda'",
    ast.IfExp: "'... if ... else ...' (use IF(condition, a, b))",
    ast.ListComp: "a list comprehension", ast.SetComp: "a set comprehension",
    ast.DictComp: "a dict comprehension", ast.GeneratorExp: "a generator expression",
    ast.Dict: "a dict", ast.Set: "a set", ast.Tuple: "a tuple",
    ast.Subscript: "subscripting ([...])", ast.Slice: "a slice", ast.Starred: "'*'",
    ast.NamedExpr: "':='", ast.Await: "'await'", ast.Yield: "'yield'", ast.YieldFrom: "'yield from'",
    ast.JoinedStr: "an f-string", ast.FormattedValue: "an f-string",
}


def parse(text: str) -> Syntax:
    if not isinstance(text, str):
        raise ExprError("an expression must be text")
    return _parse(text)


# Syntax trees are immutable (frozen dataclasses) and a pure function of the text: kept, so a
# Runtime built for each metadata version (and each process) parses a formula it has seen once.
@lru_cache(maxsize=8192)
def _parse(text: str) -> Syntax:
    if not text.strip():
        raise ExprError("the expression is empty")
    if len(text) > MAX_LENGTH:
        raise ExprError(f"the expression is longer than {MAX_LENGTH} characters")
    if "\x00" in text:
        raise ExprError("the expression contains a NUL character", text.index("\x00") + 1)
    # Aliases (&&, ||, <>) become the language's own operators; columns map back to `text`.
    rewritten = Rewritten(text)
    # Wrapped in parentheses so an expression may span lines and start with spaces (YAML block
    # scalars); _Positions maps positions back and _Converter refuses text that closes the wrapper.
    source = f"({rewritten.text}\n)"
    positions = _Positions(rewritten)
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        column = positions.column(exc.lineno or 1, (exc.offset or 1) - 1, in_bytes=False)
        if "never closed" in (exc.msg or ""):
            unclosed = _last_unclosed_open(rewritten.text)  # not our wrapper's "("
            column = rewritten.column(unclosed) if unclosed else column
        raise _syntax_error(column) from None
    except (ValueError, MemoryError, RecursionError):
        raise ExprError("the expression is too complex") from None
    root = tree.body
    if (root.lineno, root.col_offset) == (1, 0):
        # The wrapper's "(" belongs to a sub-expression: either the text closes a parenthesis it
        # never opened ("a) or (b"), or the whole text is a tuple ("a, b", refused below).
        column = _first_unbalanced_close(rewritten.text)
        if column is not None:
            raise _syntax_error(rewritten.column(column))
    return _Converter(source, positions).convert(root, 0)


def _syntax_error(column: int) -> ExprError:
    return ExprError(f"syntax error at column {column} ({OPERATORS_HELP})", column)


class _Positions:
    """Maps (line, offset) in the wrapped source to a 1-based character column in the
    original text (through the alias rewriting)."""

    def __init__(self, rewritten: Rewritten):
        self.rewritten = rewritten
        text = rewritten.text
        self.lines = f"({text}\n)".split("\n")
        self.starts = []  # character offset in `text` of each source line
        offset = -1  # line 1 starts with the wrapper "("
        for line in self.lines:
            self.starts.append(offset)
            offset += len(line) + 1
        self.length = len(text)

    def column(self, lineno: int, offset: int, *, in_bytes: bool = True) -> int:
        index = min(max(lineno, 1), len(self.lines)) - 1
        line = self.lines[index]
        if in_bytes:  # ast positions are UTF-8 byte offsets
            offset = len(line.encode("utf-8")[:offset].decode("utf-8", errors="ignore"))
        return self.rewritten.column(min(max(self.starts[index] + offset + 1, 1), self.length + 1))


def _brackets(text: str):
    """(1-based column, character) of each bracket outside string literals (a rough scan, only
    used to point error messages at the right place)."""
    quote = None
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch in "()[]{}":
            yield i + 1, ch


def _first_unbalanced_close(text: str) -> int | None:
    depth = 0
    for column, ch in _brackets(text):
        depth += 1 if ch in "([{" else -1
        if depth < 0:
            return column
    return None


def _last_unclosed_open(text: str) -> int | None:
    opened = []
    for column, ch in _brackets(text):
        if ch in "([{":
            opened.append(column)
        elif opened:
            opened.pop()
    return opened[-1] if opened else None


class _Converter:
    def __init__(self, source: str, positions: _Positions):
        self.source = source
        self.positions = positions

    def column(self, node: ast.AST) -> int:
        return self.positions.column(node.lineno, node.col_offset)

    def fail(self, node: ast.AST, message: str):
        raise ExprError(message, self.column(node))

    def convert(self, node: ast.AST, depth: int) -> Syntax:
        if depth > MAX_DEPTH:
            self.fail(node, "the expression is nested too deeply")
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            what = _REFUSED_NODES.get(type(node), type(node).__name__)
            self.fail(node, f"{what} is not allowed in expressions")
        return method(node, depth + 1)

    def _Constant(self, node: ast.Constant, depth: int) -> Syntax:
        value = node.value
        if isinstance(value, str):
            return SLiteral(self.column(node), self._text(node, value))
        if value is None or isinstance(value, bool):
            return SLiteral(self.column(node), value)
        if isinstance(value, int):
            return SLiteral(self.column(node), self._integer(node, value))
        if isinstance(value, float):
            return SLiteral(self.column(node), self._number(node))
        self.fail(node, f"the literal {ast.get_source_segment(self.source, node)} is not allowed in expressions")

    def _text(self, node: ast.AST, value: str) -> str:
        # Escapes can spell what no database column holds: refuse them here, not at query time.
        if "\x00" in value:
            self.fail(node, "a text literal cannot contain the NUL character")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            self.fail(node, "a text literal must be valid Unicode (no lone surrogates)")
        return value

    def _integer(self, node: ast.AST, value: int) -> int:
        if not INT64_MIN <= value <= INT64_MAX:
            self.fail(node, "integer literal out of range")
        return value

    def _number(self, node: ast.AST) -> Decimal:
        # From the source text, not the float Python made of it: 0.1 means exactly one tenth.
        written = ast.get_source_segment(self.source, node)
        try:
            value = Decimal(written)
        except (InvalidOperation, TypeError):
            self.fail(node, f"cannot read the number {written}")
        if value and not -MAX_NUMBER_EXPONENT <= value.adjusted() <= MAX_NUMBER_EXPONENT:
            self.fail(node, "number literal out of range")
        return value

    def _Name(self, node: ast.Name, depth: int) -> Syntax:
        self._check_name(node, node.id)
        return SName(self.column(node), (node.id,))

    def _Attribute(self, node: ast.Attribute, depth: int) -> Syntax:
        path = []
        current: ast.AST = node
        while isinstance(current, ast.Attribute):
            self._check_name(current, current.attr)
            path.append(current.attr)
            current = current.value
        if not isinstance(current, ast.Name):
            self.fail(node, "'.' may only join field names (account.industry)")
        self._check_name(current, current.id)
        path.append(current.id)
        if len(path) > MAX_PATH_LENGTH:
            self.fail(node, f"a field path may have at most {MAX_PATH_LENGTH} parts")
        return SName(self.column(current), tuple(reversed(path)))

    def _check_name(self, node: ast.AST, name: str):
        if name.startswith("_"):
            self.fail(node, f"'{name}' is not allowed in expressions")

    def _UnaryOp(self, node: ast.UnaryOp, depth: int) -> Syntax:
        if isinstance(node.op, ast.Not):
            return SUnary(self.column(node), "not", self.convert(node.operand, depth))
        if isinstance(node.op, ast.Invert):
            self.fail(node, "'~' is not allowed in expressions")
        operand = node.operand
        if isinstance(node.op, ast.USub) and isinstance(operand, ast.Constant) \
                and isinstance(operand.value, (int, float)) and not isinstance(operand.value, bool):
            # A negative literal is one literal (so -9223372036854775808 fits, and ROUND's digits
            # may be written -2).
            if isinstance(operand.value, int):
                return SLiteral(self.column(node), self._integer(node, -operand.value))
            return SLiteral(self.column(node), -self._number(operand))
        op = "-" if isinstance(node.op, ast.USub) else "+"
        return SUnary(self.column(node), op, self.convert(operand, depth))

    def _BinOp(self, node: ast.BinOp, depth: int) -> Syntax:
        op = _ARITHMETIC.get(type(node.op))
        if op is None:
            symbol = _REFUSED_OPERATORS.get(type(node.op), type(node.op).__name__)
            self.fail(node, f"'{symbol}' is not allowed in expressions{_REFUSED_HINTS.get(symbol, '')}")
        return SBinary(self.column(node), op, self.convert(node.left, depth), self.convert(node.right, depth))

    def _BoolOp(self, node: ast.BoolOp, depth: int) -> Syntax:
        op = "and" if isinstance(node.op, ast.And) else "or"
        return SBool(self.column(node), op, tuple(self.convert(v, depth) for v in node.values))

    def _Compare(self, node: ast.Compare, depth: int) -> Syntax:
        # a < b < c means (a < b) and (b < c), as in Python; b is converted once and shared.
        parts = []
        left = self.convert(node.left, depth)
        for op, right_node in zip(node.ops, node.comparators):
            if isinstance(op, (ast.In, ast.NotIn)):
                if not isinstance(right_node, (ast.List, ast.Tuple)):
                    self.fail(right_node, f"'{'in' if isinstance(op, ast.In) else 'not in'}' needs a list: x in ['a', 'b']")
                items = tuple(self.convert(item, depth) for item in right_node.elts)
                parts.append(SIn(self.column(node), left, items, isinstance(op, ast.NotIn)))
                left = None  # a list cannot be the left side of the next comparison
                continue
            if left is None:
                self.fail(node, "a list can only appear after 'in'")
            symbol = _COMPARISONS.get(type(op))
            if symbol is None:
                self.fail(node, "'is' is not allowed in expressions (write x == None or ISBLANK(x))")
            right = self.convert(right_node, depth)
            parts.append(SCompare(self.column(node), symbol, left, right))
            left = right
        return parts[0] if len(parts) == 1 else SBool(self.column(node), "and", tuple(parts))

    def _List(self, node: ast.List, depth: int) -> Syntax:
        self.fail(node, "a list can only appear after 'in'")

    def _Call(self, node: ast.Call, depth: int) -> Syntax:
        if isinstance(node.func, ast.Attribute):
            self.fail(node, "method calls are not allowed in expressions (use functions: UPPER(name))")
        if not isinstance(node.func, ast.Name):
            self.fail(node, "only functions of the expression language can be called")
        self._check_name(node.func, node.func.id)
        if node.keywords:
            self.fail(node, "keyword arguments are not allowed in expressions")
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                self.fail(arg, "'*' arguments are not allowed in expressions")
        args = tuple(self.convert(arg, depth) for arg in node.args)
        name = node.func.id.upper()
        if name in _LOGICAL_FUNCTIONS:
            return self._logical(node, name, args)
        return SCall(self.column(node), name, args)

    def _logical(self, node: ast.Call, name: str, args: tuple[Syntax, ...]) -> Syntax:
        column = self.column(node)
        if name == "NOT":
            if len(args) != 1:
                self.fail(node, f"NOT takes one argument, like NOT(flag); got {len(args)}")
            return SUnary(column, "not", args[0])
        if not args:
            self.fail(node, f"{name} needs at least one argument, like {name}(a, b)")
        return SBool(column, _LOGICAL_FUNCTIONS[name], args)
