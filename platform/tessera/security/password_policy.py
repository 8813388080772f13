"""Password policy: a minimum length, a minimum zxcvbn strength score, and never the username.

zxcvbn (Dropbox's estimator) scores a password 0–4 by the guesses an attacker would need, with
dictionaries of common passwords, names and words, keyboard patterns, dates and l33t
substitutions; its feedback says what is wrong. The org's minimums are settings (platform table
`tessera_setting`, keys below; `tessera user password-policy` shows and sets them).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from zxcvbn import zxcvbn

from ..storage.engine import begin_read, begin_write
from ..storage.platform_tables import settings

MIN_LENGTH_KEY, MIN_SCORE_KEY = "password_min_length", "password_min_score"
DEFAULT_MIN_LENGTH, DEFAULT_MIN_SCORE = 8, 3
_ZXCVBN_MAX = 100   # zxcvbn is slow on very long input; past this length only the prefix is scored


@dataclass(frozen=True)
class PasswordPolicy:
    min_length: int = DEFAULT_MIN_LENGTH
    min_score: int = DEFAULT_MIN_SCORE

    def problems(self, password, username: str = "") -> list[str]:
        """What is wrong with `password` for `username` ([] when it is acceptable)."""
        if not isinstance(password, str) or not password:
            return ["a password is required"]
        if len(password) < self.min_length:
            return [f"must be at least {self.min_length} characters"]
        name = (username or "").strip().lower()
        if name and name in password.lower():
            return ["must not contain the username"]
        if self.min_score > 0:
            result = zxcvbn(password[:_ZXCVBN_MAX], user_inputs=[name] if name else [])
            if result["score"] < self.min_score:
                feedback = result["feedback"]
                hints = " ".join(x for x in [feedback.get("warning") or "", *feedback.get("suggestions", [])] if x)
                return [f"is too weak (strength {result['score']} of 4, at least {self.min_score} needed)"
                        + (f": {hints}" if hints else "")]
        return []


def load(engine) -> PasswordPolicy:
    with begin_read(engine) as conn:
        stored = dict(conn.execute(select(settings.c.key, settings.c.value)
                                   .where(settings.c.key.in_([MIN_LENGTH_KEY, MIN_SCORE_KEY]))).all())
    return PasswordPolicy(_int(stored.get(MIN_LENGTH_KEY), DEFAULT_MIN_LENGTH),
                          _int(stored.get(MIN_SCORE_KEY), DEFAULT_MIN_SCORE))


def save(engine, *, min_length: int | None = None, min_score: int | None = None) -> PasswordPolicy:
    """Store new minimums (None: unchanged). Length 8–128, score 0–4."""
    if min_length is not None and not 8 <= min_length <= 128:
        raise ValueError("the minimum length must be from 8 to 128")
    if min_score is not None and not 0 <= min_score <= 4:
        raise ValueError("the minimum score must be from 0 to 4")
    with begin_write(engine) as conn:
        for key, value in ((MIN_LENGTH_KEY, min_length), (MIN_SCORE_KEY, min_score)):
            if value is None:
                continue
            if conn.execute(settings.update().where(settings.c.key == key).values(value=str(value))).rowcount == 0:
                conn.execute(settings.insert().values(key=key, value=str(value)))
    return load(engine)


def _int(value, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default
