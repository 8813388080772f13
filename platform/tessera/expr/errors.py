"""The one error type of the expression language."""
from __future__ import annotations


class ExprError(ValueError):
    """An expression cannot be compiled (or compiled to the requested target).

    The message is written for the person who typed the expression; `column` is the 1-based
    character position in the expression text the error points at, when one is known.
    """

    def __init__(self, message: str, column: int | None = None):
        super().__init__(message)
        self.message = message
        self.column = column

    def __repr__(self) -> str:
        return f"ExprError({self.message!r}, column={self.column!r})"
