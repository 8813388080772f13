"""Running a dashboard (dashboards/<name>.yaml): each component's report, as the viewer or as the
dashboard's named user, with the dashboard filters' values mapped onto each report's object. The
components run side by side; a dashboard with `cache_minutes` is served from its snapshot
(analytics/snapshots.py) while that is fresh.

A metric with `compare: previous_period` runs its report a second time with each THIS_… relative
date function of the report's filter moved one period back (THIS_MONTH → LAST_MONTH), so
"closed won this quarter" shows its change against last quarter.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

from ..expr.literals import expr_literal
from ..expr.periods import previous_period
from ..meta.model import Metadata
from ..meta.reports import path_type
from ..records.errors import BadQuery, NotFound
from ..security.actor import Actor
from .definitions import stored_definition
from .run import run_report
from .snapshots import MIN_REFRESH, DashboardSnapshots, snapshot_key

_NUMERIC = {"number", "currency", "percent", "integer", "duration"}
MAX_PARALLEL = 4      # components computed at once (each on its own pooled connection)


def filter_condition(md: Metadata, object_name: str, path: str, raw: str) -> str:
    """`path == value`, the value typed as the field is (a dashboard filter's query parameter)."""
    ftype = path_type(md, md.objects[object_name], tuple(path.split(".")))
    value: object = raw
    try:
        if ftype in _NUMERIC:
            value = Decimal(raw)
        elif ftype == "boolean":
            if raw.lower() not in ("true", "false"):
                raise ValueError
            value = raw.lower() == "true"
        elif ftype == "date":
            value = date.fromisoformat(raw)
        return f"{path} == {expr_literal(value)}"
    except (ValueError, TypeError, InvalidOperation):
        raise BadQuery(f"filter '{path}': {raw[:60]!r} is not a {ftype} value") from None


def run_dashboard(records, identity, md: Metadata, viewer: Actor, name: str, filters: dict[str, str],
                  fiscal_start_month: int = 1, *, snapshots: DashboardSnapshots | None = None,
                  refresh: bool = False, now: datetime | None = None) -> dict:
    """Every component's figures, with `as_of` (when they were computed) and `cached` (whether they
    come from a snapshot: dashboards with `cache_minutes`, when `snapshots` is given)."""
    comp = md.dashboards.get(name)
    if comp is None:
        raise NotFound(f"there is no dashboard '{name}'")
    declared = {f["name"]: f for f in comp.get("filters") or ()}
    unknown = sorted(set(filters) - set(declared))
    if unknown:
        raise BadQuery(f"unknown dashboard filter(s): {', '.join(unknown)} (known: {', '.join(declared) or 'none'})")
    actor = _run_as(identity, comp, viewer)
    now = now or datetime.now(timezone.utc)
    minutes = comp.get("cache_minutes") or 0
    key = None
    if snapshots is not None and minutes:
        key = snapshot_key(comp.name, records.runtime().version, actor, filters, fiscal_start_month)
        found = snapshots.fetch(key)
        if found is not None:
            age = now - found[0]
            if age < MIN_REFRESH or (not refresh and age < timedelta(minutes=minutes)):
                return dict(found[1], as_of=found[0].isoformat(), cached=True)
    components = _map(records, lambda component: _component(records, md, actor, component, declared, filters,
                                                            fiscal_start_month), comp["components"])
    out = {"dashboard": comp.name, "label": comp.get("label") or comp.name.replace("_", " ").capitalize(),
           "run_as": comp.get("run_as") or "viewer", "cache_minutes": minutes,
           "filters": [{"name": f["name"], "label": f.get("label") or f["name"].capitalize(),
                        "field": f["field"], "value": filters.get(f["name"])} for f in declared.values()],
           "components": components}
    if key is not None:
        snapshots.store(key, comp.name, now, out)
    return dict(out, as_of=now.isoformat(), cached=False)


def _run_as(identity, comp, viewer: Actor) -> Actor:
    run_as = comp.get("run_as") or "viewer"
    if run_as == "viewer":
        return viewer
    user = identity.find_user(run_as)
    if user is None:
        raise BadQuery(f"dashboard '{comp.name}' runs as '{run_as}', who is not an active user")
    return identity.actor_for_user(user)


def _map(records, fn, components: list) -> list:
    """`fn` over the components, several at once when they can each read on their own connection:
    a dashboard's reports are independent reads, so it takes about its slowest component rather
    than their sum. Not inside someone's open transaction (the components must see its writes), and
    not on an in-memory SQLite database (each connection is a different, empty database)."""
    url = records.engine.url
    in_memory = url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
    if len(components) < 2 or records.is_joined() or in_memory:
        return [fn(c) for c in components]
    with ThreadPoolExecutor(max_workers=min(len(components), MAX_PARALLEL)) as pool:
        return list(pool.map(fn, components))


def _component(records, md: Metadata, actor: Actor, component: dict, declared: dict, filters: dict,
               fiscal_start_month: int) -> dict:
    definition = stored_definition(md, component["report"])
    conditions = [filter_condition(md, definition.object,
                                   (component.get("filter_fields") or {}).get(f, declared[f]["field"]), value)
                  for f, value in filters.items() if value != ""]
    extra = " and ".join(conditions) or None
    result = run_report(records, actor, definition, extra_filter=extra, fiscal_start_month=fiscal_start_month)
    display = component.get("display") or ("chart" if definition.chart else "table")
    summary = component.get("summary") or definition.summaries[0].name
    out = {"report": definition.name, "title": component.get("title") or definition.label,
           "display": display, "width": component.get("width", 4), "summary": summary,
           "value": (result.get("total") or {}).get(summary), "target": component.get("target")
           or (definition.chart or {}).get("target"), "result": result}
    if component.get("compare") == "previous_period":
        earlier = previous_period(definition.filter)
        if earlier is not None:
            before = run_report(records, actor, replace(definition, filter=earlier), extra_filter=extra,
                                fiscal_start_month=fiscal_start_month)
            out["previous_value"] = (before.get("total") or {}).get(summary)
    return out
