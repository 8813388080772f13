"""The record service's aggregate operation: one GROUP BY query over an object's table, under the
viewer's sharing predicate and field access (the same ones query() applies), for reports and
integrations (issue 15).

    aggregate(actor, "deal", group_by=["stage", "close_date:month"], metrics=["count", "sum:amount"],
              filter="amount > 0", sort=["-sum:amount"], limit=100)

group_by  field paths (`company.industry`) and date buckets
          `FIELD:day|week|month|quarter|year|fiscal_quarter|fiscal_year` (weeks start on Monday;
          fiscal years on the first day of the org's fiscal_year_start_month; a datetime is bucketed
          by its UTC date). A bucket is the ISO date of its first day. Records whose key is blank
          form their own group (key null).
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

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Date, DateTime, Float, Integer, case, cast, distinct, func, literal, null, select

from ..currency import conversion
from ..encryption.queries import mode_resolver
from ..meta.aggregates import (DEFAULT_LIMIT, MAX_GROUPS, MAX_KEYS, MAX_METRICS, AggregateSpecError, GroupKey,
                               Metric, KEY_PATTERN, split_items, grouping_problem, metric_problem, parse_group_by, parse_metrics)
from ..meta.currencies import CURRENCY_FIELD
from ..meta.fieldtypes import TEXT_TYPES, USER_LINKS
from ..security.actor import Actor
from ..storage.engine import retry_on_stale_statements
from .errors import BadQuery, EncryptedFieldRefused
from .reads import _now, list_search_text
from .fiscal import fiscal_bucket
from .select import SelectBuilder
from .serialize import to_api

__all__ = ["AggregateResult", "RecordAggregates", "DEFAULT_LIMIT", "MAX_GROUPS", "GroupKey", "Metric"]

@dataclass
class AggregateResult:
    group_by: list[str]
    metrics: list[str]
    groups: list[dict]          # [{"key": {name: value}, "values": {name: value}}]
    truncated: bool             # more groups exist than `limit`


def date_bucket(column, unit: str, field_type: str, dialect_name: str, fiscal_start_month: int = 1):
    """The first day of the day/week/month/quarter/year (or fiscal quarter/year, starting in
    `fiscal_start_month`) holding `column`, computed in SQL. A datetime is bucketed by its UTC date
    (the stored value is UTC on both databases). Weeks start on Monday (ISO 8601)."""
    if unit.startswith("fiscal_"):
        return fiscal_bucket(column, 3 if unit == "fiscal_quarter" else 12, fiscal_start_month, field_type,
                             dialect_name)
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


def metric_input(b: SelectBuilder, metric: Metric, field_type: str | None):
    """(the per-row value a metric aggregates, the raw amount when that value is a conversion or
    None) — the single place that decides what is summed. A checkbox sums as 1 when ticked (win
    rate = sum:is_won / count). An amount of a multi-currency object is summed, averaged and
    compared in the corporate currency, at the rates of the record's conversion date or today's
    (currency/conversion.py); the raw amount
    lets the aggregate tell a missing rate (blank) from no rows."""
    column = b.column(metric.path)
    if field_type == "boolean" and metric.function in ("sum", "avg"):
        return case((column.is_(True), literal(1)), (column.is_(False), literal(0)), else_=null()), None
    if metric.function == "count_not_blank":
        return _blank_as_null(column, b.field_type(metric.path)), None
    if metric.function not in ("sum", "avg", "min", "max") or b.field_type(metric.path) != "currency":
        return column, None
    _alias, owner = b._join(metric.path[:-1])
    if not owner.obj.multi_currency:
        return column, None
    settings = b.runtime.metadata.org_settings
    prefix = metric.path[:-1]
    day = conversion.conversion_day(owner.obj, lambda name: b.column((*prefix, name)),
                                    b.now.date() if b.now is not None else date.today())
    code = b.column((*prefix, CURRENCY_FIELD))
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
    if metric.function in ("count", "count_distinct", "count_not_blank") or (metric.function == "sum" and field_type == "boolean"):
        return "integer"
    if metric.function == "avg":
        return "number"
    return field_type


class RecordAggregates:
    """aggregate(): uses self.runtime, _object, _access, _read, _builder, _readable_paths and
    _filter_condition of RecordService / RecordReads."""

    def aggregate(self, actor: Actor, object_name: str, *, group_by=None, metrics=None, filter: str | None = None,
                  sort=None, limit: int = DEFAULT_LIMIT, search: str | None = None) -> AggregateResult:
        return self.aggregate_sets(actor, object_name, grouping_sets=[group_by], metrics=metrics, filter=filter,
                                   sort=sort, limit=limit, search=search)[0]

    @retry_on_stale_statements
    def aggregate_sets(self, actor: Actor, object_name: str, *, grouping_sets, metrics=None,
                       filter: str | None = None, sort=None, limit: int = DEFAULT_LIMIT,
                       labels: bool = False, search: str | None = None) -> list[AggregateResult]:
        """The same metrics over the same rows grouped several ways (a report's groups, its subtotals
        and its grand total: [[stage, close_date:month], [stage], []]), in one read. Each set is
        sorted by the `sort` entries it holds and limited to `limit` groups. With `labels`, a group
        keyed by a lookup also carries the linked record's name (`labels`: {key: name}) when the
        viewer may read it — grouped along with the id, so two records of one name stay apart.
        `search`: a list's search box, as query(search=...) (a list's column figures)."""
        rt = self.runtime()
        cobj = self._object(rt, object_name)
        access = self._access(rt, actor, object_name, "read")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_GROUPS:
            raise BadQuery(f"limit must be an integer from 1 to {MAX_GROUPS}")
        try:
            sets = [parse_group_by(group_by) for group_by in grouping_sets]
            measures = parse_metrics(metrics)
            self._aggregate_order([k for keys in sets for k in keys], measures, sort)   # every entry is known
        except AggregateSpecError as exc:
            raise BadQuery(str(exc)) from None
        keys = list({k.name: k for keys in sets for k in keys}.values())   # every key once, first seen first
        self._readable_paths(rt, access, cobj, [".".join(k.path) for k in keys], "group_by")
        self._readable_paths(rt, access, cobj, [".".join(m.path) for m in measures if m.path], "metrics")
        encrypted = mode_resolver(rt.metadata, cobj.obj)   # ciphertext has no groups, sums or order
        for parameter, path in [("group_by", k.path) for k in keys] + [("metrics", m.path) for m in measures if m.path]:
            if encrypted(path):
                raise EncryptedFieldRefused(f"{parameter}: '{'.'.join(path)}' is encrypted: it cannot be grouped or "
                                            "summarized", details={"field": ".".join(path), "parameter": parameter})
        orders = [self._aggregate_order(set_keys, measures, sort, skip_missing=len(sets) > 1) for set_keys in sets]
        search = list_search_text(search)
        results = []
        with self._read() as conn:
            dialect = conn.dialect.name
            b = self._builder(rt, object_name, conn, _now(), access)
            key_types, inner = {}, []
            for i, key in enumerate(keys):
                ftype = self._group_type(rt, cobj, b, key)
                column = b.column(key.path)
                if key.unit is not None:
                    column, ftype = date_bucket(column, key.unit, ftype, dialect,
                                                rt.metadata.org_settings.fiscal_year_start_month), "date"
                key_types[key.name] = ftype
                inner.append(column.label(f"k{i}"))
                label_path = self._label_path(rt, access, cobj, key) if labels else None
                if label_path is not None:
                    inner.append(b.column(label_path).label(f"l{i}"))
            metric_types = []
            for i, metric in enumerate(measures):
                ftype = self._metric_type(b, metric)
                metric_types.append(_result_type(metric, ftype))
                if metric.path is not None:
                    value, raw = metric_input(b, metric, ftype)
                    inner.append(value.label(f"m{i}"))
                    if raw is not None:
                        inner.append(raw.label(f"r{i}"))
            where = []
            visible = access.visible(object_name, b.base, dialect)
            if visible is not None:
                where.append(visible)
            if filter is not None:
                where.append(self._filter_condition(rt, access, cobj, b, filter))
            if search is not None:
                where.extend(self._list_search(conn, rt, access, cobj, b, search))
            rows_q = select(*inner or [literal(1).label("one")]).select_from(b.from_clause).where(*where).subquery()
            index = {k.name: i for i, k in enumerate(keys)}
            picklists = {k.name: self._picklist_values(rt, cobj, k) for k in keys}
            for set_keys, order in zip(sets, orders):
                key_cols = [rows_q.c[f"k{index[k.name]}"] for k in set_keys]
                label_cols = [(k.name, rows_q.c[f"l{index[k.name]}"]) for k in set_keys
                              if f"l{index[k.name]}" in rows_q.c]
                metric_cols = [_aggregated(m, rows_q, i).label(f"v{i}") for i, m in enumerate(measures)]
                stmt = select(*[c.label(f"g{i}") for i, c in enumerate(key_cols)], *metric_cols,
                              *[c.label(f"n{i}") for i, (_name, c) in enumerate(label_cols)]).select_from(rows_q)
                if key_cols:
                    stmt = stmt.group_by(*key_cols, *[c for _name, c in label_cols])
                for kind, position, descending in order:
                    column = key_cols[position] if kind == "key" else metric_cols[position]
                    expr = column if kind == "key" else column.element
                    values = picklists[set_keys[position].name] if kind == "key" else None
                    if values:       # a picklist sorts in its values' order (a funnel's stages), not A–Z
                        expr = case({v: i for i, v in enumerate(values)}, value=column, else_=len(values))
                    # blanks last in both directions, on both databases (their defaults differ)
                    stmt = stmt.order_by(case((expr.is_(None), literal(1)), else_=literal(0)),
                                         expr.desc() if descending else expr.asc())
                rows = conn.execute(stmt.limit(limit + 1)).all()
                n = len(set_keys)
                groups = [{"key": {k.name: to_api(row[i], key_types[k.name]) for i, k in enumerate(set_keys)},
                           "values": {m.name: to_api(row[n + i], metric_types[i]) for i, m in enumerate(measures)}}
                          for row in rows[:limit]]
                if labels:
                    at = n + len(measures)
                    for group, row in zip(groups, rows):
                        group["labels"] = {name: row[at + i] for i, (name, _c) in enumerate(label_cols)}
                results.append(AggregateResult([k.name for k in set_keys], [m.name for m in measures], groups,
                                               len(rows) > limit))
        return results

    @staticmethod
    def _picklist_values(rt, cobj, key: GroupKey) -> list[str] | None:
        steps = rt.metadata.resolve_path(cobj.obj, key.path)
        owner, name = steps[-1]
        f = owner.fields.get(name)
        return f.picklist_values if f is not None and f.type == "picklist" and key.unit is None else None

    @staticmethod
    def _label_path(rt, access, cobj, key: GroupKey) -> tuple[str, ...] | None:
        """The path of the name of the record a lookup key links to, when the viewer may read it."""
        if key.unit is not None:
            return None
        steps = rt.metadata.resolve_path(cobj.obj, key.path)
        owner, name = steps[-1]
        f = owner.fields.get(name)
        target = f.target if f is not None else ("user" if name in USER_LINKS else None)
        target_obj = rt.metadata.objects.get(target) if target else None
        if target_obj is None or not target_obj.name_field:
            return None
        path = (*key.path, target_obj.name_field)
        return path if access.readable_path(cobj.name, path) else None

    @staticmethod
    def _aggregate_order(keys, measures, sort, *, skip_missing=False) -> list[tuple[str, int, bool]]:
        """ORDER BY as (kind, index, descending); by default the group keys, ascending. With
        skip_missing (one set of several), a key the set does not group by is passed over."""
        names = {k.name: ("key", i) for i, k in enumerate(keys)}
        names.update({m.name: ("metric", i) for i, m in enumerate(measures)})
        if sort is None or sort == "" or sort == []:
            return [("key", i, False) for i in range(len(keys))]
        order = []
        for item in split_items(sort, "sort", 2 * MAX_KEYS + MAX_METRICS):
            found = names.get(item.removeprefix("-"))
            if found is None and skip_missing and KEY_PATTERN.fullmatch(item.removeprefix("-")):
                continue
            if found is None:
                raise AggregateSpecError(f"sort: '{item[:80]}' is neither a group_by entry nor a metric of this aggregate")
            order.append((found[0], found[1], item.startswith("-")))
        return order

    @staticmethod
    def _value_type(b: SelectBuilder, path) -> str | None:
        """The field type at the end of a path; the timestamps are datetimes (not "system")."""
        return "datetime" if path[-1] in ("created_at", "updated_at") else b.field_type(path)

    @classmethod
    def _group_type(cls, rt, cobj, b: SelectBuilder, key: GroupKey) -> str:
        ftype = cls._value_type(b, key.path)
        problem = grouping_problem(key, ftype)
        if problem:
            raise BadQuery(f"group_by: {problem}")
        return ftype

    @classmethod
    def _metric_type(cls, b: SelectBuilder, metric: Metric) -> str | None:
        if metric.path is None:
            return None
        ftype = cls._value_type(b, metric.path)
        problem = metric_problem(metric, ftype)
        if problem:
            raise BadQuery(f"metrics: {problem}")
        return ftype
