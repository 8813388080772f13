"""The record service's aggregate operation: one GROUP BY query over an object's table, under the
viewer's sharing predicate and field access (the same ones query() applies), for reports and
integrations (issue 15).

    aggregate(actor, "deal", group_by=["stage", "close_date:month"], metrics=["count", "sum:amount"],
              filter="amount > 0", sort=["-sum:amount"], limit=100)

group_by  field paths (`company.industry`) and date buckets `FIELD:day|week|month|quarter|year`
          (weeks start on Monday; a datetime is bucketed by its UTC date). A bucket is the ISO date
          of its first day. Records whose key is blank form their own group (key null).
metrics   `count`, `sum:F`, `avg:F`, `min:F`, `max:F`, `count_distinct:F`, `count_not_blank:F` (records
          whose F is not blank: '' counts as blank for text, as ISBLANK says).
sort      group keys and metrics as written above, `-` for descending; blanks sort last.

The statement: an inner SELECT computes each key and each metric's input per row (lookups joined,
formulas and roll-ups inline, through SelectBuilder) with the WHERE clause; the outer SELECT groups
its columns. Grouping on the inner columns rather than on the expressions themselves keeps
PostgreSQL from refusing a GROUP BY whose bound parameters differ from the SELECT list's.

A part of RecordService (records/service.py), like records/reads.py.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Date, DateTime, Float, Integer, case, cast, distinct, func, literal, null, select

from ..currency import conversion
from ..meta.currencies import CURRENCY_FIELD
from ..meta.fieldtypes import TEXT_TYPES
from ..security.actor import Actor
from ..storage.engine import retry_on_stale_statements
from .errors import BadQuery
from .reads import _now
from .select import SelectBuilder
from .serialize import to_api

MAX_GROUPS = 2000          # rows an aggregate may return; a bigger limit is refused, not truncated
DEFAULT_LIMIT = 1000
MAX_KEYS, MAX_METRICS = 8, 32
DATE_UNITS = ("day", "week", "month", "quarter", "year")
FUNCTIONS = ("count", "sum", "avg", "min", "max", "count_distinct", "count_not_blank")
SUMMABLE = frozenset(("number", "currency", "percent", "integer", "duration"))
ORDERED = SUMMABLE | {"date", "datetime", "time"}
UNGROUPABLE = frozenset(("json", "geolocation", "rich_text", "textarea"))   # no equality worth grouping on

_PATH = r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){0,4}"
_KEY = re.compile(rf"(?P<path>{_PATH})(:(?P<unit>[a-z]+))?")
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


@dataclass
class AggregateResult:
    group_by: list[str]
    metrics: list[str]
    groups: list[dict]          # [{"key": {name: value}, "values": {name: value}}]
    truncated: bool             # more groups exist than `limit`


def _items(value, what: str, most: int) -> list[str]:
    """Entries of a comma-separated string or a list; a blank string is no entry, a blank entry an error."""
    if isinstance(value, str):
        value = value.split(",") if value.strip() else []
    if value is None:
        value = []
    if not isinstance(value, (list, tuple)) or not all(isinstance(i, str) for i in value):
        raise BadQuery(f"{what}: a comma-separated list of names")
    items = [i.strip() for i in value]
    if len(items) > most:
        raise BadQuery(f"{what}: at most {most} entries ({len(items)} given)")
    if len(set(items)) != len(items):
        raise BadQuery(f"{what}: an entry is repeated")
    return items


def parse_group_by(value) -> list[GroupKey]:
    keys = []
    for item in _items(value, "group_by", MAX_KEYS):
        m = _KEY.fullmatch(item)
        if m is None:
            raise BadQuery(f"group_by: {item[:80]!r} is not a field path or FIELD:{'|'.join(DATE_UNITS)}")
        if m["unit"] is not None and m["unit"] not in DATE_UNITS:
            raise BadQuery(f"group_by: '{item}': the date grouping must be one of {', '.join(DATE_UNITS)}")
        keys.append(GroupKey(item, tuple(m["path"].split(".")), m["unit"]))
    return keys


def parse_metrics(value) -> list[Metric]:
    metrics = []
    for item in _items(value, "metrics", MAX_METRICS) or ["count"]:
        m = _METRIC.fullmatch(item)
        if m is None or m["fn"] not in FUNCTIONS:
            raise BadQuery(f"metrics: {item[:80]!r} is not count or FUNCTION:FIELD ({', '.join(FUNCTIONS[1:])})")
        if (m["fn"] == "count") != (m["path"] is None):
            raise BadQuery(f"metrics: '{item}': count takes no field; {m['fn']} needs one ({m['fn']}:FIELD)")
        metrics.append(Metric(item, m["fn"], tuple(m["path"].split(".")) if m["path"] else None))
    return metrics


def date_bucket(column, unit: str, field_type: str, dialect_name: str):
    """The first day of the day/week/month/quarter/year holding `column`, computed in SQL. A
    datetime is bucketed by its UTC date (the stored value is UTC on both databases). Weeks start on
    Monday (ISO 8601)."""
    if dialect_name == "postgresql":
        if field_type == "datetime":
            column = func.timezone("UTC", column)    # timestamptz → the UTC wall clock
        else:
            column = cast(column, DateTime())
        return cast(func.date_trunc(unit, column), Date())
    # SQLite keeps dates and datetimes as ISO text ('2026-04-30', '2026-04-30 13:05:00.000000')
    if unit == "day":
        return func.date(column)
    if unit == "week":   # to the coming Sunday (or stay on one), then back to its Monday
        return func.date(column, "weekday 0", "-6 days")
    if unit == "month":
        return func.strftime("%Y-%m-01", column)
    if unit == "year":
        return func.strftime("%Y-01-01", column)
    month = cast(func.strftime("%m", column), Integer())
    first = (month - 1) // 3 * 3 + 1   # the quarter's first month: 1, 4, 7, 10
    return case((column.is_(None), null()), else_=func.printf("%s-%02d-01", func.strftime("%Y", column), first))


def metric_input(b: SelectBuilder, metric: Metric):
    """(the per-row value a metric aggregates, the raw amount when that value is a conversion or
    None) — the single place that decides what is summed. An amount of a multi-currency object is
    summed, averaged and compared in the corporate currency, at today's rates (currency/conversion.py);
    the raw amount lets the aggregate tell a missing rate (blank) from no rows."""
    column = b.column(metric.path)
    if metric.function == "count_not_blank":
        return _blank_as_null(column, b.field_type(metric.path)), None
    if metric.function not in ("sum", "avg", "min", "max") or b.field_type(metric.path) != "currency":
        return column, None
    _alias, owner = b._join(metric.path[:-1])
    if not owner.obj.multi_currency:
        return column, None
    settings = b.runtime.metadata.org_settings
    day = b.now.date() if b.now is not None else date.today()
    code = b.column((*metric.path[:-1], CURRENCY_FIELD))
    return conversion.convert(column, code, None, day, settings.corporate_currency), column


def _blank_as_null(column, field_type: str):
    """NULL for a blank value, so COUNT(value) counts what ISBLANK calls not blank."""
    # a multi-picklist is stored as "a;b" text, '' when none is chosen
    return func.nullif(column, "") if field_type in TEXT_TYPES or field_type == "multi_picklist" else column


def metric_aggregate(metric: Metric, column):
    if metric.function == "count":
        return func.count()
    if metric.function == "count_distinct":
        return func.count(distinct(column))
    if metric.function == "count_not_blank":
        return func.count(column)
    if metric.function == "avg":
        return func.avg(column, type_=Float())   # floats, as the record API shows numbers
    return getattr(func, metric.function)(column)


def _aggregated(metric: Metric, rows_q, i: int):
    """Metric i over the inner rows; a converted amount is blank when any row lacked a rate."""
    if not metric.path:
        return metric_aggregate(metric, None)
    if f"r{i}" in rows_q.c:
        return conversion.complete_or_null(rows_q.c[f"r{i}"], rows_q.c[f"m{i}"],
                                           lambda column: metric_aggregate(metric, column))
    return metric_aggregate(metric, rows_q.c[f"m{i}"])


def _result_type(metric: Metric, field_type: str | None) -> str | None:
    if metric.function in ("count", "count_distinct", "count_not_blank"):
        return "integer"
    if metric.function == "avg":
        return "number"
    return field_type


class RecordAggregates:
    """aggregate(): uses self.runtime, _object, _access, _read, _builder, _readable_paths and
    _filter_condition of RecordService / RecordReads."""

    @retry_on_stale_statements
    def aggregate(self, actor: Actor, object_name: str, *, group_by=None, metrics=None, filter: str | None = None,
                  sort=None, limit: int = DEFAULT_LIMIT) -> AggregateResult:
        rt = self.runtime()
        cobj = self._object(rt, object_name)
        access = self._access(rt, actor, object_name, "read")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_GROUPS:
            raise BadQuery(f"limit must be an integer from 1 to {MAX_GROUPS}")
        keys, measures = parse_group_by(group_by), parse_metrics(metrics)
        self._readable_paths(rt, access, cobj, [".".join(k.path) for k in keys], "group_by")
        self._readable_paths(rt, access, cobj, [".".join(m.path) for m in measures if m.path], "metrics")
        order = self._aggregate_order(keys, measures, sort)
        with self._read() as conn:
            dialect = conn.dialect.name
            b = self._builder(rt, object_name, conn, _now(), access)
            key_types, inner = [], []
            for i, key in enumerate(keys):
                ftype = self._group_type(rt, cobj, b, key)
                column = b.column(key.path)
                if key.unit is not None:
                    column, ftype = date_bucket(column, key.unit, ftype, dialect), "date"
                key_types.append(ftype)
                inner.append(column.label(f"k{i}"))
            metric_types = []
            for i, metric in enumerate(measures):
                ftype = self._metric_type(b, metric)
                metric_types.append(_result_type(metric, ftype))
                if metric.path is not None:
                    value, raw = metric_input(b, metric)
                    inner.append(value.label(f"m{i}"))
                    if raw is not None:
                        inner.append(raw.label(f"r{i}"))
            where = []
            visible = access.visible(object_name, b.base, dialect)
            if visible is not None:
                where.append(visible)
            if filter is not None:
                where.append(self._filter_condition(rt, access, cobj, b, filter))
            rows_q = select(*inner or [literal(1).label("one")]).select_from(b.from_clause).where(*where).subquery()
            key_cols = [rows_q.c[f"k{i}"] for i in range(len(keys))]
            metric_cols = [_aggregated(m, rows_q, i).label(f"v{i}") for i, m in enumerate(measures)]
            stmt = select(*[c.label(f"g{i}") for i, c in enumerate(key_cols)], *metric_cols).select_from(rows_q)
            if key_cols:
                stmt = stmt.group_by(*key_cols)
            for kind, index, descending in order:
                column = key_cols[index] if kind == "key" else metric_cols[index]
                expr = column if kind == "key" else column.element
                # blanks last in both directions, on both databases (their defaults differ)
                stmt = stmt.order_by(case((expr.is_(None), literal(1)), else_=literal(0)),
                                     expr.desc() if descending else expr.asc())
            rows = conn.execute(stmt.limit(limit + 1)).all()
        truncated = len(rows) > limit
        n = len(keys)
        groups = [{"key": {k.name: to_api(row[i], key_types[i]) for i, k in enumerate(keys)},
                   "values": {m.name: to_api(row[n + i], metric_types[i])
                              for i, m in enumerate(measures)}}
                  for row in rows[:limit]]
        return AggregateResult([k.name for k in keys], [m.name for m in measures], groups, truncated)

    @staticmethod
    def _aggregate_order(keys, measures, sort) -> list[tuple[str, int, bool]]:
        """ORDER BY as (kind, index, descending); by default the group keys, ascending."""
        names = {k.name: ("key", i) for i, k in enumerate(keys)}
        names.update({m.name: ("metric", i) for i, m in enumerate(measures)})
        if sort is None or sort == "" or sort == []:
            return [("key", i, False) for i in range(len(keys))]
        order = []
        for item in _items(sort, "sort", MAX_KEYS + MAX_METRICS):
            found = names.get(item.removeprefix("-"))
            if found is None:
                raise BadQuery(f"sort: '{item[:80]}' is neither a group_by entry nor a metric of this aggregate")
            order.append((found[0], found[1], item.startswith("-")))
        return order

    @staticmethod
    def _group_type(rt, cobj, b: SelectBuilder, key: GroupKey) -> str:
        ftype = b.field_type(key.path)
        if ftype in UNGROUPABLE:
            raise BadQuery(f"group_by: cannot group by '{key.name}' (a {ftype} field)")
        if key.unit is not None:
            if key.path[-1] in ("created_at", "updated_at"):
                return "datetime"
            if ftype not in ("date", "datetime"):
                raise BadQuery(f"group_by: '{key.name}': a date grouping needs a date or datetime field, "
                               f"'{'.'.join(key.path)}' is {ftype}")
        return ftype

    @staticmethod
    def _metric_type(b: SelectBuilder, metric: Metric) -> str | None:
        if metric.path is None:
            return None
        ftype = b.field_type(metric.path)
        if metric.path[-1] in ("created_at", "updated_at"):
            ftype = "datetime"
        allowed = {"sum": SUMMABLE, "avg": SUMMABLE, "min": ORDERED, "max": ORDERED}.get(metric.function)
        if allowed is not None and ftype not in allowed:
            kinds = "number, currency, percent, integer or duration" if allowed is SUMMABLE else \
                "number, currency, percent, integer, duration, date, datetime or time"
            raise BadQuery(f"metrics: '{metric.name}': {metric.function} needs a {kinds} field, "
                           f"'{'.'.join(metric.path)}' is {ftype}")
        if metric.function == "count_distinct" and ftype in ("json", "geolocation"):
            raise BadQuery(f"metrics: '{metric.name}': cannot count distinct values of a {ftype} field")
        return ftype
