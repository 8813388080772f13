"""A report document (reports/<name>.yaml, or an ad-hoc definition sent to the API) checked against
the metadata and compiled into a ReportDefinition: what the runner (analytics/run.py) asks the
record service for. The same checks serve metadata validation (check_reports: a MetaError per
problem) and ad-hoc runs (400 naming the problem); the viewer's own access is checked later, by
the record service. analytics/definitions.py compiles each stored report once per metadata version.
"""
from __future__ import annotations

from dataclasses import dataclass, field as dc_field

from ..expr import ExprError, compile_expression
from ..expr.periods import previous_period
from ..expr.summary import SummaryFormula, compile_summary
from .aggregates import AggregateSpecError, Metric, grouping_problem, metric_problem, parse_group_by, parse_metrics
from .errors import MetaError
from .fieldtypes import SYSTEM_FIELDS, value_type
from .model import Metadata, ObjectDef

DEFAULT_LIMIT = 500
MAX_ROW_GROUPINGS = {"summary": 3, "matrix": 2}
CHART_TYPES = ("bar", "column", "line", "area", "pie", "donut", "funnel", "scatter", "gauge", "metric")
METRIC_LABELS = {"count": "Record count", "sum": "Sum of", "avg": "Average", "min": "Smallest", "max": "Largest",
                 "count_distinct": "Distinct"}


@dataclass(frozen=True)
class Summary:
    name: str                       # the metric ("sum:amount") or the formula's name
    label: str
    metric: str | None = None
    formula: SummaryFormula | None = None
    format: str | None = None       # how figures show: integer, number, currency, percent, date…


@dataclass(frozen=True)
class Grouping:
    key: str                        # as written: "close_date:month"
    label: str
    field_type: str                 # of the group's values (date for a bucket)
    unit: str | None
    source_type: str                # of the field grouped by (a bucket's date or datetime)


@dataclass(frozen=True)
class ReportDefinition:
    name: str
    label: str
    object: str
    format: str                     # tabular, summary, matrix
    columns: tuple[str, ...]
    column_labels: tuple[str, ...]
    filter: str | None
    groupings: tuple[Grouping, ...]
    column_groupings: tuple[Grouping, ...]
    summaries: tuple[Summary, ...]
    sort: tuple[str, ...]
    limit: int
    chart: dict | None
    folder: str | None = None
    description: str | None = None
    doc: dict = dc_field(default_factory=dict, compare=False)

    @property
    def metrics(self) -> list[str]:
        """Every aggregate the summaries need, each once: the summaries' own, then the formulas'."""
        names = [s.metric for s in self.summaries if s.metric]
        for s in self.summaries:
            if s.formula is not None:
                names += [m for m in s.formula.metrics if m not in names]
        return list(dict.fromkeys(names))

    def summary(self, name: str) -> Summary | None:
        return next((s for s in self.summaries if s.name == name), None)


def title(name: str) -> str:
    return name.replace("_", " ").strip().capitalize()


def path_type(md: Metadata, obj: ObjectDef, path: tuple[str, ...]) -> str | None:
    """The value type at the end of a field path (None: no such path)."""
    steps = md.resolve_path(obj, path)
    if not steps:
        return None
    owner, name = steps[-1]
    if name in ("created_at", "updated_at"):
        return "datetime"
    if name in SYSTEM_FIELDS:
        return "lookup" if name in ("owner", "created_by", "updated_by") else "system"
    return value_type(md, owner.fields[name])


def path_label(md: Metadata, obj: ObjectDef, path: tuple[str, ...]) -> str:
    steps = md.resolve_path(obj, path) or []
    labels = []
    for owner, name in steps:
        f = owner.fields.get(name)
        labels.append(f.label if f is not None and f.label else title(name))
    return " › ".join(labels) or ".".join(path)


class _Problems:
    def __init__(self):
        self.items: list[tuple[str, str]] = []

    def add(self, where: str, message: str):
        self.items.append((where, message))


def compile_report(md: Metadata, doc: dict) -> tuple[ReportDefinition | None, list[tuple[str, str]]]:
    """(the definition, []) or (None, [(path in the document, message), ...])."""
    problems = _Problems()
    obj = md.objects.get(doc["object"])
    if obj is None:
        return None, [("object", f"there is no object '{doc['object']}'")]
    fmt = doc.get("format", "tabular")
    columns = tuple(doc.get("columns") or ())
    for i, col in enumerate(columns):
        if path_type(md, obj, tuple(col.split("."))) is None:
            problems.add(f"columns.{i}", f"'{obj.name}' has no field '{col}'")
    if fmt == "tabular" and not columns:
        problems.add("columns", "a tabular report lists columns")
    if fmt != "tabular" and not doc.get("groupings"):
        problems.add("groupings", f"a {fmt} report needs at least one grouping")
    if fmt == "tabular" and doc.get("groupings"):
        problems.add("groupings", "a tabular report has no groupings (make it a summary report)")
    if fmt != "matrix" and doc.get("column_groupings"):
        problems.add("column_groupings", "only a matrix report has column groupings")
    if fmt == "matrix" and not doc.get("column_groupings"):
        problems.add("column_groupings", "a matrix report needs at least one column grouping")
    if fmt in MAX_ROW_GROUPINGS and len(doc.get("groupings") or ()) > MAX_ROW_GROUPINGS[fmt]:
        problems.add("groupings", f"a {fmt} report has at most {MAX_ROW_GROUPINGS[fmt]} row groupings")
    rows = _groupings(md, obj, doc.get("groupings") or (), "groupings", problems)
    cols = _groupings(md, obj, doc.get("column_groupings") or (), "column_groupings", problems)
    if {g.key for g in rows} & {g.key for g in cols}:
        problems.add("column_groupings", "a field cannot group both rows and columns")
    filter_text = doc.get("filter")
    if filter_text:
        try:
            compile_expression(filter_text, lambda p: md.path_expr_type(obj, tuple(p)), expected="boolean",
                               current_user=True)
        except ExprError as exc:
            problems.add("filter", str(exc))
    summaries = _summaries(md, obj, doc.get("summaries") or ["count"], problems)
    names = {s.name for s in summaries}
    sort = tuple(doc.get("sort") or ())
    for i, key in enumerate(sort):
        bare = key.removeprefix("-")
        if fmt == "tabular":
            if path_type(md, obj, tuple(bare.split("."))) is None:
                problems.add(f"sort.{i}", f"'{obj.name}' has no field '{bare}'")
        elif bare not in names and bare not in {g.key for g in (*rows, *cols)}:
            problems.add(f"sort.{i}", f"'{bare}' is neither a grouping nor a summary of this report")
        elif bare in names and summaries[[s.name for s in summaries].index(bare)].formula is not None:
            problems.add(f"sort.{i}", f"'{bare}' is a formula: groups can be sorted by groupings and aggregates")
    chart = doc.get("chart")
    if chart:
        if chart.get("summary") and chart["summary"] not in names:
            problems.add("chart.summary", f"'{chart['summary']}' is not a summary of this report "
                         f"(one of: {', '.join(sorted(names))})")
        if fmt == "tabular" and chart["type"] not in ("metric", "gauge"):
            problems.add("chart.type", f"a tabular report has no groups to draw as a {chart['type']} chart "
                         "(make it a summary report, or use a metric or gauge)")
        if chart["type"] == "gauge" and chart.get("target") is None:
            problems.add("chart.target", "a gauge needs a target")
        if chart["type"] == "scatter" and len(summaries) < 2:
            problems.add("chart.type", "a scatter chart plots two summaries against each other")
    if problems.items:
        return None, problems.items
    return ReportDefinition(
        name=doc["name"], label=doc.get("label") or title(doc["name"]), object=obj.name, format=fmt,
        columns=columns, column_labels=tuple(path_label(md, obj, tuple(c.split("."))) for c in columns),
        filter=filter_text or None, groupings=tuple(rows), column_groupings=tuple(cols),
        summaries=tuple(summaries), sort=sort, limit=doc.get("limit", DEFAULT_LIMIT), chart=chart or None,
        folder=doc.get("folder"), description=doc.get("description"), doc=doc), []


def _groupings(md, obj, items, where, problems) -> list[Grouping]:
    out = []
    try:
        keys = parse_group_by(list(items))
    except AggregateSpecError as exc:
        problems.add(where, str(exc).removeprefix("group_by: "))
        return out
    for i, key in enumerate(keys):
        ftype = path_type(md, obj, key.path)
        if ftype is None:
            problems.add(f"{where}.{i}", f"'{obj.name}' has no field '{'.'.join(key.path)}'")
            continue
        problem = grouping_problem(key, ftype)
        if problem:
            problems.add(f"{where}.{i}", problem)
            continue
        label = path_label(md, obj, key.path) + (f" ({key.unit.replace('_', ' ')})" if key.unit else "")
        out.append(Grouping(key.name, label, "date" if key.unit else ftype, key.unit, ftype))
    return out


def _metric_type(md, obj, metric: Metric) -> str | None:
    """The metric's field type, or a problem as ExprError (for formulas) — None for count."""
    if metric.path is None:
        return None
    ftype = path_type(md, obj, metric.path)
    if ftype is None:
        raise ExprError(f"'{obj.name}' has no field '{'.'.join(metric.path)}'")
    problem = metric_problem(metric, ftype)
    if problem:
        raise ExprError(problem)
    return ftype


def _metric_format(metric: Metric, ftype: str | None) -> str:
    """How a metric's figures are shown: integer, number, currency, percent, duration, date…"""
    if metric.function in ("count", "count_distinct") or ftype == "boolean":
        return "integer"
    if ftype == "percent":
        return "percent_value"      # a percent field holds 25 for 25%
    if metric.function == "avg" and ftype not in ("currency", "duration"):
        return "number"
    return ftype or "number"


def _summaries(md, obj, items, problems) -> list[Summary]:
    out, seen = [], set()
    for i, item in enumerate(items):
        where = f"summaries.{i}"
        if isinstance(item, dict) and "formula" in item:
            def expression_type(name, _where=where):
                metric = parse_metrics([name])[0]
                ftype = _metric_type(md, obj, metric)
                if metric.function in ("count", "count_distinct") or ftype == "boolean":
                    return "integer"
                if metric.function == "avg":
                    return "number"
                return md.path_expr_type(obj, metric.path)
            try:
                formula = compile_summary(item["formula"], expression_type)
            except (ExprError, AggregateSpecError) as exc:
                problems.add(f"{where}.formula", str(exc))
                continue
            summary = Summary(item["name"], item.get("label") or title(item["name"]), formula=formula,
                              format=item.get("format", "number"))
        else:
            name = item["metric"] if isinstance(item, dict) else item
            metric = parse_metrics([name])[0]
            try:
                ftype = _metric_type(md, obj, metric)
            except ExprError as exc:
                problems.add(where, str(exc))
                continue
            label = item.get("label") if isinstance(item, dict) else None
            if not label:
                label = METRIC_LABELS["count"] if metric.path is None else \
                    f"{METRIC_LABELS[metric.function]} {path_label(md, obj, metric.path).lower()}"
            summary = Summary(name, label, metric=name, format=_metric_format(metric, ftype))
        if summary.name in seen:
            problems.add(where, f"'{summary.name}' is summarised twice")
            continue
        seen.add(summary.name)
        out.append(summary)
    return out


def check_reports(md: Metadata) -> list[MetaError]:
    errors = []
    for comp in md.reports.values():
        _definition, problems = compile_report(md, dict(comp.doc))
        errors += [MetaError(comp.source, where, message) for where, message in problems]
    return errors


RESERVED_DASHBOARD_PARAMETER = "refresh"


def check_dashboards(md: Metadata) -> list[MetaError]:
    """Each component shows a report of the org; dashboard filters map onto fields of each
    component's report object; a named run-as user is checked when the dashboard runs (users are data)."""
    errors = []
    for comp in md.dashboards.values():
        filters = {f["name"]: f for f in comp.get("filters") or ()}
        if len(filters) != len(comp.get("filters") or ()):
            errors.append(MetaError(comp.source, "filters", "two filters have the same name"))
        if RESERVED_DASHBOARD_PARAMETER in filters:
            errors.append(MetaError(comp.source, "filters", f"'{RESERVED_DASHBOARD_PARAMETER}' is the dashboard's "
                                    "own query parameter (recompute the figures now): name the filter otherwise"))
        for i, component in enumerate(comp["components"]):
            report = md.reports.get(component["report"])
            if report is None:
                errors.append(MetaError(comp.source, f"components.{i}.report", f"there is no report '{component['report']}'"))
                continue
            obj = md.objects.get(report["object"])
            for name in component.get("filter_fields") or {}:
                if name not in filters:
                    errors.append(MetaError(comp.source, f"components.{i}.filter_fields.{name}",
                                            f"the dashboard has no filter '{name}'"))
            for name, f in filters.items():
                path = (component.get("filter_fields") or {}).get(name, f["field"])
                if obj is not None and path_type(md, obj, tuple(path.split("."))) is None:
                    errors.append(MetaError(comp.source, f"components.{i}", f"filter '{name}': the report's object "
                                            f"'{obj.name}' has no field '{path}' (map it with filter_fields)"))
            if component.get("compare") == "previous_period" and previous_period(report.get("filter")) is None:
                errors.append(MetaError(comp.source, f"components.{i}.compare", f"report '{report.name}' has no "
                                        "THIS_… relative date in its filter (THIS_MONTH(close_date), …): there is "
                                        "no previous period to compare with"))
            if component.get("display") == "gauge" and component.get("target") is None \
                    and (report.get("chart") or {}).get("target") is None:
                errors.append(MetaError(comp.source, f"components.{i}.target", "a gauge needs a target"))
    return errors
