"""Compile field paths into one SELECT: joins for lookup paths, formulas inline, roll-ups as
correlated subqueries. Formula and roll-up fields are never stored; they are computed here, so
they are always current, filterable and sortable.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import Text, and_, case, cast, func, literal, null, or_, select
from sqlalchemy.sql import ColumnElement

from ..currency import conversion
from ..meta.currencies import CURRENCY_FIELD
from ..meta.fieldtypes import SYSTEM_FIELDS, USER_LINKS, value_type
from ..meta import related
from ..meta.geolocations import column_names
from .errors import BadQuery


def geo_column_of(obj, column: str):
    """The geolocation field whose column `column` is (`location__lat`), else None."""
    base, sep, part = column.rpartition("__")
    f = obj.fields.get(base) if sep and part in ("lat", "lng") else None
    return f if f is not None and f.type == "geolocation" else None


def geo_text(lat, lng) -> ColumnElement:
    """A geolocation read as one value, "lat,lng" text (serialize.to_api makes it an object): a
    SELECT list holds scalars, and both databases print their numerics exactly."""
    return case((or_(lat.is_(None), lng.is_(None)), null()),
                else_=cast(lat, Text()).concat(literal(",", Text())).concat(cast(lng, Text())))


class SelectBuilder:
    """Resolves paths like ("account", "industry") against one object, adding LEFT JOINs lazily."""

    def __init__(self, runtime, object_name: str, *, dialect_name: str, now=None, alias=None, access=None,
                 shared=False, user=None):
        self.runtime = runtime
        self.access = access  # when set, joined lookups only reveal records the actor may read
        # the acting user's id, CURRENT_USER() in conditions (expr/check.py allows it only there)
        self.user = user if user is not None or access is None else access.actor.user_id
        self.cobj = runtime.objects[object_name]
        self.dialect_name = dialect_name
        self.now = now
        # shared: a top-level statement uses the Runtime's reusable aliases (see Runtime.alias);
        # nested builders (roll-up subqueries, sharing criteria) always make fresh ones
        self.shared = shared and alias is None
        self.base = alias if alias is not None else (
            runtime.alias(object_name) if self.shared else self.cobj.table.alias())
        self.from_clause = self.base
        self._joins: dict[tuple[str, ...], tuple] = {(): (self.base, self.cobj)}
        self._n = 0

    # -- paths --------------------------------------------------------------------------
    def _target_of(self, cobj, name: str) -> str | None:
        if name in USER_LINKS:
            return "user" if "user" in self.runtime.objects else None
        f = cobj.obj.fields.get(name)
        return f.target if f is not None and f.is_relation else None

    def _join(self, prefix: tuple[str, ...]):
        if prefix in self._joins:
            return self._joins[prefix]
        parent_alias, parent = self._join(prefix[:-1])
        target = self._target_of(parent, prefix[-1])
        if target is None:
            raise BadQuery(f"'{'.'.join(prefix)}' is not a lookup field")
        self._n += 1
        target_cobj = self.runtime.objects[target]
        alias = self.runtime.alias(target, (self.cobj.name, prefix)) if self.shared else target_cobj.table.alias()
        on = alias.c.id == parent_alias.c[prefix[-1]]
        visible = self.access.visible(target, alias, self.dialect_name) if self.access is not None else None
        if visible is not None:
            on = and_(on, visible)
        self.from_clause = self.from_clause.outerjoin(alias, on)
        self._joins[prefix] = (alias, target_cobj)
        return self._joins[prefix]

    def _related_object(self, path):
        """`related_to.object`: the object column of a related_to field (meta/related.py), else None."""
        if len(path) < 2 or path[-1] != related.OBJECT_PART:
            return None
        alias, cobj = self._join(path[:-2])
        f = cobj.obj.fields.get(path[-2])
        return alias.c[related.column_names(f.name)[0]] if f is not None and f.type == "related_to" else None

    def column(self, path) -> ColumnElement:
        path = tuple(path)
        part = self._related_object(path)
        if part is not None:
            return part
        alias, cobj = self._join(path[:-1])
        name = path[-1]
        if name in SYSTEM_FIELDS:
            return alias.c[name]
        f = cobj.obj.fields.get(name)
        if f is None:
            if geo_column_of(cobj.obj, name) is not None:   # one of a geolocation's two columns (expr/geo.py)
                return alias.c[name]
            raise BadQuery(f"'{'.'.join(path)}' is not a field of {cobj.name}")
        if f.type == "geolocation":
            return geo_text(*(alias.c[n] for n in column_names(name)))
        if f.stored:
            return alias.c[name]
        if f.type == "formula":
            prefix = path[:-1]
            return cobj.formulas[name].to_sql(lambda p: self.column(prefix + tuple(p)),
                                              dialect_name=self.dialect_name, now=self.now)
        return self._rollup(alias, f)

    def _rollup(self, parent_alias, f) -> ColumnElement:
        child = SelectBuilder(self.runtime, f.options["object"], dialect_name=self.dialect_name, now=self.now)
        fn = f.options["function"]
        converted = fn != "count" and self._in_currencies(f, child)
        if fn == "count":
            agg = func.count()
        else:
            value = child.column((f.options["field"],))
            aggregate = {"sum": func.sum, "min": func.min, "max": func.max}[fn]
            if converted:   # no children: a sum of 0; a child without a rate: NULL (not 0)
                summed = (lambda v: func.coalesce(func.sum(v), literal(0))) if fn == "sum" else aggregate
                agg = self._converted(parent_alias, child, value, summed)
            else:
                agg = aggregate(value)
        condition = child.base.c[f.options["relationship"]] == parent_alias.c.id
        if f.options.get("filter"):
            from ..expr import compile_expression
            from ..meta.validate import resolver
            compiled = compile_expression(f.options["filter"], resolver(self.runtime.metadata, child.cobj.obj),
                                          expected="boolean")
            condition = and_(condition, compiled.to_sql(child.column, dialect_name=self.dialect_name, now=self.now))
        subquery = select(agg).select_from(child.from_clause).where(condition).scalar_subquery()
        if fn in ("count", "sum") and not converted:   # a converted sum is NULL only for a missing rate
            return func.coalesce(subquery, literal(0))
        return subquery

    def _in_currencies(self, f, child) -> bool:
        """A roll-up of amounts in several currencies: a currency field of a multi-currency child."""
        if not child.cobj.obj.multi_currency:
            return False
        return child.field_type((f.options["field"],)) == "currency"

    def _converted(self, parent_alias, child, value, aggregate) -> ColumnElement:
        """Each child's amount converted to the parent's currency (the corporate currency when the
        parent has none) at the rates of the child's conversion date (or today's); NULL when a rate is
        missing (currency/conversion.py)."""
        settings = self.runtime.metadata.org_settings
        day = conversion.conversion_day(child.cobj.obj, lambda name: child.base.c[name],
                                        self.now.date() if self.now is not None else date.today())
        to_code = parent_alias.c[CURRENCY_FIELD] if self.cobj.obj.multi_currency else None
        amount = conversion.convert(value, child.base.c[CURRENCY_FIELD], to_code, day, settings.corporate_currency)
        return conversion.complete_or_null(value, amount, aggregate)

    def computed(self, path) -> bool:
        """True when the field at the end of a path is a formula or a roll-up (computed in the SELECT)."""
        path = tuple(path)
        if path[-1] in SYSTEM_FIELDS:
            return False
        steps = self.runtime.metadata.resolve_path(self.cobj.obj, path)   # no JOIN added: metadata only
        f = steps[-1][0].fields.get(steps[-1][1]) if steps else None
        return f is not None and not f.stored

    def field_type(self, path) -> str | None:
        """The declared field type at the end of a path (for serialization)."""
        path = tuple(path)
        if path[-1] in SYSTEM_FIELDS:
            return "system"
        if self._related_object(path) is not None:
            return "text"
        _alias, cobj = self._join(path[:-1])
        f = cobj.obj.fields.get(path[-1])
        if f is None:
            return None
        return value_type(self.runtime.metadata, f)

    def condition(self, compiled) -> ColumnElement:
        """A compiled boolean expression as a WHERE clause (blank counts as false)."""
        return compiled.to_sql(self.column, dialect_name=self.dialect_name, now=self.now, user=self.user)
