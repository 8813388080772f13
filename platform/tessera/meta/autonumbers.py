"""Autonumber formats: `CASE-{00000}`, `LEAD-{YYYY}-{00000}`.

One `{0…}` group is the counter, zero-padded to the group's width; the date tokens {YYYY}, {YY},
{MM} and {DD} are the record's creation date in UTC. The counter never resets per period (as
Salesforce's does not): LEAD-2026-00041 may be followed by LEAD-2027-00042, so a number alone
stays unique whatever the format shows.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

_GROUP = re.compile(r"\{([^{}]*)\}")
_NUMBER = re.compile(r"0+")
DATE_TOKENS = {"YYYY": "%Y", "YY": "%y", "MM": "%m", "DD": "%d"}


def format_problem(fmt: str) -> str | None:
    """Why `fmt` is not an autonumber format (None when it is one)."""
    leftover = _GROUP.sub("", fmt)
    if "{" in leftover or "}" in leftover:
        return f"{fmt!r} has an unmatched brace"
    tokens = _GROUP.findall(fmt)
    unknown = [t for t in tokens if t not in DATE_TOKENS and not _NUMBER.fullmatch(t)]
    if unknown:
        return (f"{{{unknown[0]}}} is not an autonumber token (use {{0000…}} for the number and "
                f"{{YYYY}}, {{YY}}, {{MM}}, {{DD}} for the creation date)")
    numbers = [t for t in tokens if _NUMBER.fullmatch(t)]
    if len(numbers) != 1:
        return f"{fmt!r} needs exactly one {{0…}} group for the number, e.g. 'CASE-{{00000}}'"
    return None


def format_autonumber(fmt: str, n: int, created_at: datetime | None = None) -> str:
    """The number `n` in `fmt`, with date tokens from `created_at` (UTC; now when not given)."""
    when = created_at or datetime.now(timezone.utc)
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc)

    def token(match):
        text = match.group(1)
        if text in DATE_TOKENS:
            return when.strftime(DATE_TOKENS[text])
        return str(n).zfill(len(text)) if _NUMBER.fullmatch(text) else match.group(0)
    return _GROUP.sub(token, fmt)
