"""Report definitions as the runner needs them: stored reports compiled once per metadata version,
ad-hoc definitions (the API's POST /reports/run) checked like metadata and refused with a 400."""
from __future__ import annotations

import weakref

from ..meta.model import Metadata
from ..meta.reports import ReportDefinition, compile_report
from ..meta.schema import validate_document
from ..records.errors import BadQuery

# -- compiled once per metadata version ------------------------------------------------------------
# Metadata is immutable but not hashable (its mappings are not): keyed by identity, dropped with it.
_COMPILED: dict[int, dict] = {}


def _cache_for(md: Metadata) -> dict:
    key = id(md)
    if key not in _COMPILED:
        _COMPILED[key] = {}
        weakref.finalize(md, _COMPILED.pop, key, None)
    return _COMPILED[key]


def stored_definition(md: Metadata, name: str) -> ReportDefinition | None:
    """The org's report `name`, compiled once for this metadata version (None: no such report)."""
    cache = _cache_for(md)
    if name not in cache:
        comp = md.reports.get(name)
        if comp is None:
            return None
        definition, problems = compile_report(md, dict(comp.doc))
        if definition is None:   # metadata validation refused it; a later metadata change broke it
            raise BadQuery(f"report '{name}': {problems[0][0]}: {problems[0][1]}")
        cache[name] = definition
    return cache[name]


def adhoc_definition(md: Metadata, doc) -> ReportDefinition:
    """An ad-hoc definition from the API: schema, then semantic checks; 400 naming each problem."""
    if not isinstance(doc, dict):
        raise BadQuery("the body must be a report definition (a JSON object)")
    doc = {"name": "adhoc", **doc}
    errors = validate_document("report", doc, "report")
    if errors:
        raise BadQuery("; ".join(f"{e.path}: {e.message}" if e.path else e.message for e in errors))
    definition, problems = compile_report(md, doc)
    if definition is None:
        raise BadQuery("; ".join(f"{where}: {message}" for where, message in problems))
    return definition


