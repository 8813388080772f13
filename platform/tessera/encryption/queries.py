"""Which uses of an encrypted field a query may make, decided on the expression's typed tree.

The column type's comparator (column.py) already refuses what ciphertext cannot answer, but a
function around the column (LOWER(email) == 'x', CONTAINS(notes, 'x'), LEN(ssn) > 3) hides the
column from it and would silently compare ciphertext. So the record service checks the tree
first and names the field in a 400:

- any encrypted field: ISBLANK(field) (blanks are stored as they are);
- a deterministic field: `field == value`, `field != value`, `field in [values]` with literal
  values (matched under every key of the keyring);
- nothing else: a randomized field cannot be filtered at all.
"""
from __future__ import annotations

from typing import Callable

from ..expr.nodes import Call, Compare, Field, InList, IsBlank, Literal, walk

DETERMINISTIC = "deterministic"


def refused_use(tree, mode_of: Callable[[tuple], str | None]) -> tuple[str, str] | None:
    """(field path, mode) of the first encrypted field the expression uses in a way its
    ciphertext cannot answer; None when every use is allowed. mode_of(path): the field's
    encryption mode, None when it is not encrypted."""
    allowed: set[int] = set()
    for node in walk(tree):
        if isinstance(node, IsBlank) or (isinstance(node, Call) and node.name == "ISBLANK"):
            operands = (node.operand,) if isinstance(node, IsBlank) else node.args
            allowed.update(id(o) for o in operands if isinstance(o, Field))
        elif isinstance(node, Compare) and node.op in ("==", "!="):
            for field, other in ((node.left, node.right), (node.right, node.left)):
                if isinstance(field, Field) and isinstance(other, Literal) and mode_of(field.path) == DETERMINISTIC:
                    allowed.add(id(field))
        elif isinstance(node, InList) and isinstance(node.operand, Field) \
                and all(isinstance(i, Literal) for i in node.items) and mode_of(node.operand.path) == DETERMINISTIC:
            allowed.add(id(node.operand))
    for node in walk(tree):
        if isinstance(node, Field) and id(node) not in allowed:
            mode = mode_of(node.path)
            if mode:
                return ".".join(node.path), mode
    return None


def refusal_message(path: str, mode: str, what: str) -> str:
    if mode == DETERMINISTIC:
        return (f"{what}: '{path}' is encrypted: only {path} == 'value', {path} != 'value', {path} in [values] "
                f"and ISBLANK({path}) can test it")
    return f"{what}: '{path}' is encrypted (randomized): only ISBLANK({path}) can test it"


def mode_resolver(md, obj) -> Callable[[tuple], str | None]:
    """mode_of(path) for paths of `obj` (through lookups)."""
    def mode_of(path):
        steps = md.resolve_path(obj, tuple(path))
        if not steps or len(steps) < len(path):
            return None
        owner, name = steps[-1]
        f = owner.fields.get(name)
        return f.encryption_mode if f is not None else None
    return mode_of
