"""Durations: stored and exchanged as whole seconds, typed and shown as `1h 30m`.

Parsing is pytimeparse's (it reads `1h 30m`, `90m`, `1.5 hours`, `2d 4h`, `1:30:00`, `3w`); a
bare number is seconds. Formatting writes the largest units first, leaving out the empty ones
(`1d 2h 5m`), so what is shown reads back as the same value.
"""
from __future__ import annotations

from pytimeparse import parse as _parse

MAX_SECONDS = 2 ** 53 - 1      # whole seconds that survive a JSON number exactly
_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
HINT = "a duration such as 1h 30m, 45m, 2d 4h or 1:30:00, or a number of seconds"


def parse_duration(value) -> int:
    """Seconds (an int) from a number of seconds or a duration text; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"must be {HINT}")
    if isinstance(value, (int, float)):
        seconds = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            seconds = float(text) if text.replace(".", "", 1).isdigit() else _parse(text)
        except (ValueError, TypeError, OverflowError):
            seconds = None
        if seconds is None:
            raise ValueError(f"'{value}' is not {HINT}")
    else:
        raise ValueError(f"must be {HINT}")
    if seconds != seconds:
        raise ValueError(f"must be {HINT}")
    if seconds < 0:
        raise ValueError("must not be negative")
    if seconds > MAX_SECONDS:
        raise ValueError("is too long")
    return int(round(seconds))


def format_duration(seconds) -> str:
    """`1d 2h 5m`; `0s` for nothing."""
    if seconds is None:
        return ""
    if isinstance(seconds, str):   # a default as metadata writes it ("15m")
        try:
            seconds = parse_duration(seconds)
        except ValueError:
            return seconds
    rest = int(seconds)
    parts = []
    for unit, size in _UNITS:
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts) or "0s"
