"""Semantic checks on merged metadata: references resolve, expressions type-check, no cycles.

JSON Schema has already checked each document's shape; these checks need the whole picture.
Every error names the component's file and the path inside it.
"""
from __future__ import annotations

import keyword

from . import related
from ..expr import ExprError, compile_expression
from ..expr.hierarchy import Hierarchy
from .autonumbers import format_problem
from .durations import parse_duration
from .geolocations import column_names
from .errors import MetaError
from .fieldtypes import _EXPR_TYPE, FILE_TYPES, FORMULA_RETURN_TYPES, formula_expr_type, NUMERIC_TYPES, SEARCHABLE_TYPES, SYSTEM_FIELDS, USER_LINKS
from .model import Metadata, ObjectDef
from .conversions import check_conversions
from .duplicate_rules import check_duplicate_rules
from .validate_encryption import check_encryption
from .validate_approvals import check_approval_processes
from .validate_email_templates import check_email_templates
from .reports import check_dashboards, check_reports
from .validate_rows import check_rows
from .validate_settings import check_conversion_dates, check_settings
from .validate_security import check_security
from .validate_transitions import check_transitions
from .validate_workflows import check_workflows

# Expressions are parsed as Python (tessera.expr), where these words are not names: a field or
# object called `from` could never be named in a formula, rule, filter or condition.
RESERVED_WORDS = frozenset(w for w in keyword.kwlist if w.islower())
_NOT_UNIQUE = {"textarea", "rich_text", "json", "multi_picklist", "formula", "rollup", "boolean", "geolocation"}
_ROLLUP_FIELD_TYPES = {"integer", "duration", "date", "datetime", *NUMERIC_TYPES}


class resolver:
    """The expression type of a field path of `obj` (None: no such field) — and, for UNDER, which
    paths end in a hierarchy field (expr/hierarchy.py); for IMAGE, which end in a file or image field
    (expr/images.py); for the fiscal periods, the org's fiscal
    year start (expr/relative_dates.py)."""

    __slots__ = ("md", "obj")

    def __init__(self, md: Metadata, obj: ObjectDef):
        self.md, self.obj = md, obj

    def __call__(self, path):
        return self.md.path_expr_type(self.obj, tuple(path))

    @property
    def fiscal_year_start_month(self) -> int:
        return self.md.org_settings.fiscal_year_start_month

    def hierarchy(self, path) -> Hierarchy | None:
        steps = self.md.resolve_path(self.obj, tuple(path))
        if not steps:
            return None
        owner, name = steps[-1]
        f = owner.fields.get(name)
        if f is None or not f.is_hierarchy or f.target != owner.name:
            return None
        return Hierarchy(owner.name, owner.name_field)

    def file_field(self, path) -> bool:
        """Does the path end in a file or image field (IMAGE(photo, alt) draws its file)?"""
        steps = self.md.resolve_path(self.obj, tuple(path))
        f = steps[-1][0].fields.get(steps[-1][1]) if steps else None
        return f is not None and f.type in FILE_TYPES


def expected_type(field) -> str | None:
    if field.type == "formula":
        return formula_expr_type(field.options["returns"])
    return _EXPR_TYPE.get(field.type)


def check_semantics(md: Metadata) -> list[MetaError]:
    errors: list[MetaError] = []
    for obj in md.objects.values():
        errors += _check_object(md, obj)
    errors += _check_formula_cycles(md)
    for comp in md.layouts.values():
        errors += _check_layout(md, comp)
    for comp in md.list_views.values():
        errors += _check_list_view(md, comp)
    for comp in md.apps.values():
        for i, tab in enumerate(comp.get("tabs") or ()):
            if tab not in md.objects:
                errors.append(MetaError(comp.source, f"tabs.{i}", f"there is no object '{tab}'"))
        if comp.get("dashboard") and comp["dashboard"] not in md.dashboards:
            errors.append(MetaError(comp.source, "dashboard", f"there is no dashboard '{comp['dashboard']}'"))
    errors += check_security(md)   # profiles, permission sets, roles, sharing rules
    errors += check_email_templates(md)
    errors += check_workflows(md)
    errors += check_approval_processes(md)
    errors += check_settings(md)
    errors += check_conversion_dates(md)
    errors += check_reports(md)
    errors += check_dashboards(md)
    errors += check_duplicate_rules(md, _compile_condition)
    errors += check_conversions(md)
    errors += check_encryption(md, resolver)
    return errors


def _compile_condition(md, obj, text, src, where, errors) -> None:
    """A boolean read condition on `obj` written in another component (a duplicate rule's `where`)."""
    try:
        compile_expression(text, resolver(md, obj), context="read", expected="boolean")
    except ExprError as exc:
        errors.append(MetaError(src, where, f"{exc}"))


def _compile(md, obj, text, where, errors, *, context="read", expected=None, current_user=False):
    try:
        return compile_expression(text, resolver(md, obj), context=context, expected=expected,
                                  current_user=current_user)
    except ExprError as exc:
        errors.append(MetaError(obj.source, where, f"{exc}"))
        return None


def _no_under(compiled, obj, where, what, errors) -> None:
    # a formula or default is also computed in Python, away from the database UNDER walks
    if compiled is not None and compiled.uses_under:
        errors.append(MetaError(obj.source, where, f"UNDER cannot be used in {what} ('{compiled.text}'): it is "
                                "available in filters, sharing criteria, validation rules and workflow conditions"))


def _check_object(md: Metadata, obj: ObjectDef) -> list[MetaError]:
    errors: list[MetaError] = []
    src = obj.source
    if obj.name in RESERVED_WORDS:
        errors.append(MetaError(src, "name", _reserved(obj.name, "an object")))
    if obj.name_field and obj.name_field not in obj.fields:
        errors.append(MetaError(src, "name_field", f"there is no field '{obj.name_field}'"))
    elif obj.name_field and obj.fields[obj.name_field].is_relation:
        errors.append(MetaError(src, "name_field", f"'{obj.name_field}' is a lookup: a record's title would be the id "
                                "of another record; choose a text, number, date or autonumber field (or a formula "
                                f"that reads the name through the lookup, e.g. {obj.name_field}.name)"))
    for f in obj.fields.values():
        at = f"fields.{f.name}"
        if f.name in SYSTEM_FIELDS:
            errors.append(MetaError(src, at, f"'{f.name}' is a system field name"))
        if f.name in RESERVED_WORDS:
            errors.append(MetaError(src, at, _reserved(f.name, "a field")))
        if f.is_relation and f.target not in md.objects:
            errors.append(MetaError(src, f"{at}.to", f"there is no object '{f.target}'"))
        if f.options.get("hierarchy") and f.target != obj.name:
            errors.append(MetaError(src, f"{at}.hierarchy", f"only a lookup to its own object ('{obj.name}') can be a "
                                    f"hierarchy; '{f.name}' points to '{f.target}'"))
        if f.type == "geolocation":
            for column in column_names(f.name):
                if column in obj.fields:
                    errors.append(MetaError(src, f"fields.{column}", f"'{column}' is a column of the geolocation "
                                            f"field '{f.name}' (stored as {f.name}__lat and {f.name}__lng): "
                                            "choose another name"))
        if f.type == "related_to":
            errors += _check_related(md, obj, f, at)
        if obj.name_field == f.name and f.type == "geolocation":
            errors.append(MetaError(src, "name_field", f"'{f.name}' is a geolocation: choose a text, number, date "
                                    "or autonumber field as the record's title"))
        if f.options.get("searchable") and f.type not in SEARCHABLE_TYPES:
            errors.append(MetaError(src, f"{at}.searchable", f"{f.type} fields cannot be searchable: global search "
                                    f"indexes text ({', '.join(SEARCHABLE_TYPES)})"))
        if f.unique and f.type in _NOT_UNIQUE:
            errors.append(MetaError(src, f"{at}.unique", f"{f.type} fields cannot be unique"))
        if f.renamed_from and f.renamed_from in obj.fields:
            errors.append(MetaError(src, f"{at}.renamed_from", f"field '{f.renamed_from}' still exists"))
        if f.type in ("picklist", "multi_picklist"):
            values = f.picklist_values
            if len(set(values)) != len(values):
                errors.append(MetaError(src, f"{at}.values", "values must be unique"))
            if f.default is not None and f.options.get("restricted", True):
                defaults = f.default if isinstance(f.default, list) else [f.default]
                for d in defaults:
                    if d not in values:
                        errors.append(MetaError(src, f"{at}.default", f"'{d}' is not one of the values"))
            errors += check_transitions(md, obj, f, at, resolver(md, obj))
        if f.type == "formula":
            if f.options["returns"] not in FORMULA_RETURN_TYPES:
                errors.append(MetaError(src, f"{at}.returns", f"'{f.options['returns']}' is not a formula return type"))
            else:
                compiled = _compile(md, obj, f.options["expression"], f"{at}.expression", errors,
                                    expected=expected_type(f))
                _no_under(compiled, obj, f"{at}.expression", "a formula", errors)
        if f.type == "rollup":
            errors += _check_rollup(md, obj, f, at)
        if f.type == "autonumber":
            problem = format_problem(f.options.get("format", ""))
            if problem:
                errors.append(MetaError(src, f"{at}.format", problem))
        if f.type == "duration":
            for key, value in (("default", f.default), ("min", f.options.get("min")), ("max", f.options.get("max"))):
                try:
                    if value is not None:
                        parse_duration(value)
                except ValueError as exc:
                    errors.append(MetaError(src, f"{at}.{key}", str(exc)))
        if f.default_expression:
            compiled = _compile(md, obj, f.default_expression, f"{at}.default_expression", errors,
                                expected=expected_type(f))
            _no_under(compiled, obj, f"{at}.default_expression", "a default value", errors)
        if f.options.get("copy_from") or f.options.get("keep_in_sync"):
            errors += _check_copy(md, obj, f, at)
    hierarchies = [f.name for f in obj.fields.values() if f.is_hierarchy]
    errors += check_rows(md, obj)
    for extra in hierarchies[1:]:
        # One tree per object: a record has one place in it, lists show one tree, and the write
        # lock that keeps concurrent moves from closing a cycle is per object.
        errors.append(MetaError(src, f"fields.{extra}.hierarchy", f"an object has at most one hierarchy, and "
                                f"'{hierarchies[0]}' already is one"))
    for i, rule in enumerate(obj.validation_rules):
        at = f"validation_rules.{i}"
        _compile(md, obj, rule.condition, f"{at}.condition", errors, context="write", expected="boolean",
                 current_user=True)
        if rule.field and rule.field not in obj.fields:
            errors.append(MetaError(src, f"{at}.field", f"there is no field '{rule.field}'"))
    names = [r.name for r in obj.validation_rules]
    if len(set(names)) != len(names):
        errors.append(MetaError(src, "validation_rules", "rule names must be unique"))
    return errors


def _check_related(md, obj, f, at) -> list[MetaError]:
    """A related_to field names objects that exist, and its object column's name is free."""
    errors = []
    to = f.options.get("to")
    if to != related.ACTIVITIES:
        for i, name in enumerate(to or ()):
            if name not in md.objects:
                errors.append(MetaError(obj.source, f"{at}.to.{i}", f"there is no object '{name}'"))
    column = related.column_names(f.name)[0]
    if column in obj.fields:
        errors.append(MetaError(obj.source, f"fields.{column}", f"'{column}' is a column of the related_to field "
                                f"'{f.name}' (stored as {column} and {f.name}): choose another name"))
    if obj.name_field == f.name:
        errors.append(MetaError(obj.source, "name_field", f"'{f.name}' is a related_to field: choose a text, number, "
                                "date or autonumber field as the record's title"))
    return errors


def _check_copy(md, obj, f, at) -> list[MetaError]:
    """copy_from names a path through one of this object's lookups, of a type the field takes;
    keep_in_sync needs a stored field one lookup away (its writes are what the copies follow)."""
    source = f.options.get("copy_from")
    if not source:
        return [MetaError(obj.source, f"{at}.keep_in_sync", "keep_in_sync needs copy_from")]
    path = tuple(source.split("."))
    lookup = obj.fields.get(path[0])
    if len(path) < 2 or not ((lookup is not None and lookup.is_relation) or path[0] in USER_LINKS):
        return [MetaError(obj.source, f"{at}.copy_from", f"'{source}' is not a path through a lookup of {obj.name}: "
                          "a copy comes from the record a lookup points to (e.g. account.industry)")]
    errors: list[MetaError] = []
    if _compile(md, obj, source, f"{at}.copy_from", errors, expected=expected_type(f)) is None:
        return errors
    if f.options.get("keep_in_sync"):
        steps = md.resolve_path(obj, path)
        last_obj, last_name = steps[-1]
        last = last_obj.fields.get(last_name)
        if len(path) != 2 or last is None or not last.stored:
            errors.append(MetaError(obj.source, f"{at}.keep_in_sync", "keep_in_sync follows a stored field of the "
                                    f"record one lookup away (lookup.field): '{source}' is not one"))
    return errors


def _a(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _reserved(name: str, what: str) -> str:
    return (f"'{name}' is a reserved word of the expression language and cannot name {what} (reserved: "
            f"{', '.join(sorted(RESERVED_WORDS))}); choose another name, e.g. '{name}_value'")


def _check_rollup(md, obj, f, at) -> list[MetaError]:
    child = md.objects.get(f.options["object"])
    if child is None:
        return [MetaError(obj.source, f"{at}.object", f"there is no object '{f.options['object']}'")]
    errors = []
    rel = child.fields.get(f.options["relationship"])
    if rel is None or not rel.is_relation or rel.target != obj.name:
        errors.append(MetaError(obj.source, f"{at}.relationship",
                                f"'{child.name}.{f.options['relationship']}' is not a lookup to '{obj.name}'"))
    if f.options["function"] != "count":
        target = child.fields.get(f.options.get("field") or "")
        if target is None:
            errors.append(MetaError(obj.source, f"{at}.field", f"there is no field '{child.name}.{f.options.get('field')}'"))
        else:
            kind = target.options["returns"] if target.type == "formula" else target.type
            allowed = _ROLLUP_FIELD_TYPES - {"date", "datetime"} if f.options["function"] == "sum" else _ROLLUP_FIELD_TYPES
            if kind not in allowed:
                function = f.options["function"]
                errors.append(MetaError(obj.source, f"{at}.field", f"{function} cannot summarize {_a(kind)} {kind} field "
                                        f"('{child.name}.{target.name}'); {function} takes {', '.join(sorted(allowed))} "
                                        "fields (count takes any)"))
    if f.options.get("filter"):
        try:
            compile_expression(f.options["filter"], resolver(md, child), expected="boolean")
        except ExprError as exc:
            errors.append(MetaError(obj.source, f"{at}.filter", str(exc)))
    return errors


def _check_formula_cycles(md: Metadata) -> list[MetaError]:
    graph: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for obj in md.objects.values():
        for f in obj.fields.values():
            if f.type != "formula":
                continue
            try:
                compiled = compile_expression(f.options["expression"], resolver(md, obj))
            except ExprError:
                continue  # reported by _check_object
            deps = set()
            for path in compiled.paths:
                steps = md.resolve_path(obj, tuple(path))
                if steps:
                    o, n = steps[-1]
                    deps.add((o.name, n))
            graph[(obj.name, f.name)] = deps
    errors, state = [], {}

    def visit(node, chain):
        if state.get(node) == "done" or node not in graph:
            return
        if state.get(node) == "visiting":
            cycle = chain[chain.index(node):] + [node]
            obj = md.objects[node[0]]
            errors.append(MetaError(obj.source, f"fields.{node[1]}.expression",
                                    "formula cycle: " + " -> ".join(f"{o}.{n}" for o, n in cycle)))
            return
        state[node] = "visiting"
        for dep in sorted(graph[node]):
            visit(dep, chain + [node])
        state[node] = "done"

    for node in sorted(graph):
        visit(node, [])
    return errors


def _column_ok(md, obj, path: str) -> bool:
    return md.resolve_path(obj, tuple(path.split("."))) is not None


def _check_layout(md: Metadata, comp) -> list[MetaError]:
    obj = md.objects.get(comp["object"])
    if obj is None:
        return [MetaError(comp.source, "object", f"there is no object '{comp['object']}'")]
    errors = []
    for s, section in enumerate(comp.get("sections") or ()):
        for i, name in enumerate(section.get("fields") or ()):
            if name not in obj.fields and name not in SYSTEM_FIELDS and name not in obj.rows:
                errors.append(MetaError(comp.source, f"sections.{s}.fields.{i}", f"'{obj.name}' has no field '{name}'"))
    for r, rel in enumerate(comp.get("related_lists") or ()):
        child = md.objects.get(rel["object"])
        if child is None:
            errors.append(MetaError(comp.source, f"related_lists.{r}.object", f"there is no object '{rel['object']}'"))
            continue
        link = child.fields.get(rel["field"])
        if link is None or link.target != obj.name:
            errors.append(MetaError(comp.source, f"related_lists.{r}.field", f"'{child.name}.{rel['field']}' is not a lookup to '{obj.name}'"))
        for i, col in enumerate(rel.get("columns") or ()):
            if not _column_ok(md, child, col):
                errors.append(MetaError(comp.source, f"related_lists.{r}.columns.{i}", f"'{child.name}' has no field '{col}'"))
    return errors


def _check_list_view(md: Metadata, comp) -> list[MetaError]:
    obj = md.objects.get(comp["object"])
    if obj is None:
        return [MetaError(comp.source, "object", f"there is no object '{comp['object']}'")]
    errors = []
    for i, col in enumerate(comp.get("columns") or ()):
        if not _column_ok(md, obj, col):
            errors.append(MetaError(comp.source, f"columns.{i}", f"'{obj.name}' has no field '{col}'"))
    for i, key in enumerate(comp.get("sort") or ()):
        if not _column_ok(md, obj, key.lstrip("-")):
            errors.append(MetaError(comp.source, f"sort.{i}", f"'{obj.name}' has no field '{key.lstrip('-')}'"))
    if comp.get("filter"):
        try:
            compile_expression(comp["filter"], resolver(md, obj), expected="boolean", current_user=True)
        except ExprError as exc:
            errors.append(MetaError(comp.source, "filter", str(exc)))
    if comp.get("tree") and obj.hierarchy_field is None:
        errors.append(MetaError(comp.source, "tree", f"'{obj.name}' has no hierarchy to show as a tree (declare "
                                "hierarchy: true on a lookup to its own object)"))
    return errors
