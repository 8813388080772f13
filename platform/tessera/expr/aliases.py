"""Spreadsheet- and Salesforce-style spellings accepted as aliases of the language's own.

`&&` means `and`, `||` means `or` and `<>` means `!=` (the functions `AND()`, `OR()` and `NOT()`
are handled by the parser, since they parse as calls). Python's grammar has none of these
operators, so the text is rewritten before `ast.parse`, outside string literals only, and every
character of the rewritten text remembers where it came from: error columns still point into
what the user typed.
"""
from __future__ import annotations

_ALIASES = {"&&": " and ", "||": " or ", "<>": "!="}

# Shown with every syntax error, so the person typing learns the language's vocabulary.
OPERATORS_HELP = ("operators: + - * / == != < <= > >= and (&&) or (||) not, x in [a, b], x not in [a, b]; "
                  "functions such as AND(a, b), OR(a, b), NOT(a), IF(c, a, b)")


class Rewritten:
    """The text handed to Python's parser, and a map back to columns of the original text."""

    def __init__(self, text: str):
        out: list[str] = []
        origin: list[int] = []   # origin[i] = index in `text` of rewritten character i
        quote = None
        i = 0
        while i < len(text):
            if quote:
                if text.startswith("\\", i):          # an escape (also in raw strings) never ends a literal
                    out.append(text[i:i + 2])
                    origin.extend([i, i + 1][:len(text[i:i + 2])])
                    i += 2
                    continue
                if text.startswith(quote, i):
                    out.append(quote)
                    origin.extend(range(i, i + len(quote)))
                    i += len(quote)
                    quote = None
                    continue
                out.append(text[i])
                origin.append(i)
                i += 1
                continue
            if text[i] in "'\"":
                quote = text[i] * 3 if text.startswith(text[i] * 3, i) else text[i]
                out.append(quote)
                origin.extend(range(i, i + len(quote)))
                i += len(quote)
                continue
            alias = _ALIASES.get(text[i:i + 2])
            if alias is not None:
                out.append(alias)
                origin.extend([i] * len(alias))
                i += 2
                continue
            out.append(text[i])
            origin.append(i)
            i += 1
        self.text = "".join(out)
        self._origin = origin
        self._length = len(text)

    def column(self, column: int) -> int:
        """The 1-based column in the original text of 1-based `column` of the rewritten text."""
        if column < 1:
            return 1
        if column > len(self._origin):
            return self._length + 1
        return self._origin[column - 1] + 1
