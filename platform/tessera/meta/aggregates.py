"""The grammar of aggregates, shared by the record service's aggregate operation and report
metadata: group keys (`stage`, `account.industry`, `close_date:month`) and metrics (`count`,
`sum:amount`), and which field types each may take."""
from __future__ import annotations

import re
from dataclasses import dataclass


class AggregateSpecError(ValueError):
    """A group key or metric that is not well formed (the record service answers 400)."""


MAX_GROUPS = 2000          # rows an aggregate may return; a bigger limit is refused, not truncated
DEFAULT_LIMIT = 1000
MAX_KEYS, MAX_METRICS = 8, 32
DATE_UNITS = ("day", "week", "month", "quarter", "year", "fiscal_quarter", "fiscal_year")
FUNCTIONS = ("count", "sum", "avg", "min", "max", "count_distinct", "count_not_blank")
NUMERIC = frozenset(("number", "currency", "percent", "integer", "duration"))
SUMMABLE = NUMERIC | {"boolean"}
ORDERED = NUMERIC | {"date", "datetime", "time"}
# no equality worth grouping on (an image: a picture, or the file of an image field)
UNGROUPABLE = frozenset(("json", "geolocation", "rich_text", "textarea", "image"))

_PATH = r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){0,4}"
KEY_PATTERN = re.compile(rf"(?P<path>{_PATH})(:(?P<unit>[a-z_]+))?")
_METRIC = re.compile(rf"(?P<fn>[a-z_]+)(:(?P<path>{_PATH}))?")


@dataclass(frozen=True)
class GroupKey:
    name: str                   # as the caller wrote it: "close_date:month"
    path: tuple[str, ...]
    unit: str | None


@dataclass(frozen=True)
class Metric:
    name: str                   # "sum:amount", "count"
    function: str
    path: tuple[str, ...] | None


def split_items(value, what: str, most: int) -> list[str]:
    """Entries of a comma-separated string or a list; a blank string is no entry, a blank entry an error."""
    if isinstance(value, str):
        value = value.split(",") if value.strip() else []
    if value is None:
        value = []
    if not isinstance(value, (list, tuple)) or not all(isinstance(i, str) for i in value):
        raise AggregateSpecError(f"{what}: a comma-separated list of names")
    items = [i.strip() for i in value]
    if len(items) > most:
        raise AggregateSpecError(f"{what}: at most {most} entries ({len(items)} given)")
    if len(set(items)) != len(items):
        raise AggregateSpecError(f"{what}: an entry is repeated")
    return items


def parse_group_by(value) -> list[GroupKey]:
    keys = []
    for item in split_items(value, "group_by", MAX_KEYS):
        m = KEY_PATTERN.fullmatch(item)
        if m is None:
            raise AggregateSpecError(f"group_by: {item[:80]!r} is not a field path or FIELD:{'|'.join(DATE_UNITS)}")
        if m["unit"] is not None and m["unit"] not in DATE_UNITS:
            raise AggregateSpecError(f"group_by: '{item}': the date grouping must be one of {', '.join(DATE_UNITS)}")
        keys.append(GroupKey(item, tuple(m["path"].split(".")), m["unit"]))
    return keys


def parse_metrics(value) -> list[Metric]:
    metrics = []
    for item in split_items(value, "metrics", MAX_METRICS) or ["count"]:
        m = _METRIC.fullmatch(item)
        if m is None or m["fn"] not in FUNCTIONS:
            raise AggregateSpecError(f"metrics: {item[:80]!r} is not count or FUNCTION:FIELD ({', '.join(FUNCTIONS[1:])})")
        if (m["fn"] == "count") != (m["path"] is None):
            raise AggregateSpecError(f"metrics: '{item}': count takes no field; {m['fn']} needs one ({m['fn']}:FIELD)")
        metrics.append(Metric(item, m["fn"], tuple(m["path"].split(".")) if m["path"] else None))
    return metrics


def metric_problem(metric: Metric, field_type: str | None) -> str | None:
    """Why `metric` cannot aggregate a field of `field_type` (None: it can) — shared by the
    aggregate operation (400) and report metadata checks."""
    allowed = {"sum": SUMMABLE, "avg": SUMMABLE, "min": ORDERED, "max": ORDERED}.get(metric.function)
    if allowed is not None and field_type not in allowed:
        kinds = "number, currency, percent, integer, duration or checkbox" if allowed is SUMMABLE else \
            "number, currency, percent, integer, duration, date, datetime or time"
        return (f"'{metric.name}': {metric.function} needs a {kinds} field, "
                f"'{'.'.join(metric.path)}' is {field_type}")
    if metric.function == "count_distinct" and field_type in ("json", "geolocation", "image"):
        return f"'{metric.name}': cannot count distinct values of a {field_type} field"
    return None


def grouping_problem(key: GroupKey, field_type: str | None) -> str | None:
    """Why a report or aggregate cannot group by `key` (None: it can)."""
    if field_type in UNGROUPABLE:
        return f"cannot group by '{key.name}' (a {field_type} field)"
    if key.unit is not None and field_type not in ("date", "datetime"):
        return (f"'{key.name}': a date grouping needs a date or datetime field, "
                f"'{'.'.join(key.path)}' is {field_type}")
    return None
