"""The record service's expressions on write: validation rules (per record, or in SQL over a bulk
batch), and evaluating any compiled expression on a record being written (paths through lookups,
formulas and roll-ups read as the service computes them).

A part of RecordService (records/service.py), split out by concept."""
from __future__ import annotations

import uuid
from datetime import date
from operator import attrgetter

from sqlalchemy import case, literal, or_, select

from ..meta.fieldtypes import USER_LINKS
from . import hierarchy
from .errors import ValidationFailed
from .select import SelectBuilder
from .serialize import to_python

# Value types whose equal values an expression treats alike, so a result can be reused for them
# (not Decimal: 1.0 and 1.00 are equal but TEXT() tells them apart; not float: -0.0 == 0.0; not
# datetime: equal instants in different zones)
_MEMO_TYPES = frozenset((str, int, bool, date, uuid.UUID, type(None)))

class WriteRules:
    # -- expressions on write ---------------------------------------------------------------
    # `user`: the writing user's id, CURRENT_USER() in validation rules and workflow conditions
    def _check_rules_or_raise(self, conn, rt, cobj, values, prior, now, user=None):
        errors = self._rule_errors(conn, rt, cobj, values, prior, now, user)
        if errors:
            raise ValidationFailed(errors["message"], fields=errors.get("fields"),
                                   details={"rules": errors["rules"]})

    def _rule_errors(self, conn, rt, cobj, values, prior, now, user=None) -> dict | None:
        return _rule_report([rule for rule, compiled in cobj.rules
                             if self._evaluate(conn, rt, cobj, compiled, values, prior, now, user) is True])

    def _rule_failures_bulk(self, conn, rt, cobj, batch, now, user=None) -> list[dict]:
        """Validation rules over rows just inserted by a bulk create (still uncommitted), in SQL:
        one SELECT returns the rows that break a rule, instead of a Python evaluation per row and
        rule — plus a query per row for every path through a lookup. tessera.expr
        compiles a rule to both targets and they agree (tests/expr/test_expr_properties.py); rules
        using PRIORVALUE or ISCHANGED have no SQL form and are evaluated per row."""
        in_sql = [(rule, compiled) for rule, compiled in cobj.rules if not compiled.uses_prior]
        in_python = [(rule, compiled) for rule, compiled in cobj.rules if compiled.uses_prior]
        broken: dict[int, list] = {}
        if in_sql:
            b = SelectBuilder(rt, cobj.name, dialect_name=conn.dialect.name, now=now, user=user)
            conditions = [b.condition(compiled) for _rule, compiled in in_sql]
            flags = [case((condition, literal(1)), else_=literal(0)) for condition in conditions]
            # the batch's ids are time-ordered and made together (records/ids.py): its rows are one
            # range of the primary key, which may also hold rows another writer made in the same
            # millisecond — those are not this batch's to judge
            ids = batch.ids
            by_int = attrgetter("int")
            stmt = (select(b.base.c.id, *flags).select_from(b.from_clause)
                    .where(b.base.c.id.between(min(ids, key=by_int), max(ids, key=by_int)), or_(*conditions)))
            found = conn.execute(stmt).all()
            if found:
                index_of = {rid: i for i, rid in enumerate(ids)}
                for row in found:
                    if row[0] in index_of:
                        broken[index_of[row[0]]] = [rule for (rule, _c), flag in zip(in_sql, row[1:]) if flag]
        if in_python:
            for index in range(batch.n):
                values = batch.row(index)
                for rule, compiled in in_python:
                    if self._evaluate(conn, rt, cobj, compiled, values, None, now, user) is True:
                        broken.setdefault(index, []).append(rule)
        order = {rule.name: n for n, (rule, _c) in enumerate(cobj.rules)}   # report in declaration order
        return [{"index": index, **_rule_report(sorted(rules, key=lambda r: order[r.name]))}
                for index, rules in sorted(broken.items())]

    def _evaluate(self, conn, rt, cobj, compiled, values, prior, now, user=None):
        env = self._path_values(conn, rt, cobj, compiled.paths, values, now)
        prior_env = self._path_values(conn, rt, cobj, compiled.paths, prior, now) if prior is not None else None
        under = hierarchy.under_resolver(conn, rt) if compiled.uses_under else None
        return compiled.evaluate(env, prior=prior_env, now=now, under=under, user=user)

    def _evaluate_rows(self, conn, rt, cobj, compiled, records: list, priors: list | None, now, user=None) -> list:
        """_evaluate for many records (a bulk create's before-save workflows). An expression that
        reads only stored fields of the record itself is evaluated in one call over the batch, and
        on creates once per distinct combination of those fields' values when they are of types
        whose equal values are interchangeable (a CASE on a picklist runs a handful of times for
        thousands of rows); any other expression record by record."""
        paths = [tuple(path) for path in compiled.paths]
        fields = cobj.obj.fields
        if compiled.uses_under or any(len(path) > 1 or not (fields.get(path[0]) is None or fields[path[0]].stored)
                                      for path in paths):
            return [self._evaluate(conn, rt, cobj, compiled, record, prior, now, user)
                    for record, prior in zip(records, priors or [None] * len(records))]
        columns = [[record.get(path[0]) for record in records] for path in paths]
        keys = list(zip(*columns)) if columns else [()] * len(records)
        if priors is None and all(set(map(type, column)) <= _MEMO_TYPES for column in columns):
            distinct = list(dict.fromkeys(keys))
            results = compiled.evaluate_many([dict(zip(paths, key)) for key in distinct], now=now, user=user)
            by_key = dict(zip(distinct, results))
            return [by_key[key] for key in keys]
        envs = [{path: to_python(value) for path, value in zip(paths, key)} for key in keys]
        prior_envs = None if priors is None else [
            None if prior is None else {path: to_python(prior.get(path[0])) for path in paths} for prior in priors]
        return compiled.evaluate_many(envs, prior_envs, now=now, user=user)

    def _path_values(self, conn, rt, cobj, paths, record, now) -> dict:
        out = {}
        for path in paths:
            path = tuple(path)
            name = path[0]
            f = cobj.obj.fields.get(name)
            if len(path) == 1:
                if f is None or f.stored:
                    out[path] = to_python(record.get(name))
                elif f.type == "formula":
                    out[path] = self._evaluate(conn, rt, cobj, cobj.formulas[name], record, None, now)
                else:  # roll-up: computed from the saved children
                    out[path] = self._scalar(conn, rt, cobj.name, path, record.get("id"), now)
            else:
                target = cobj.relations.get(name) or ("user" if name in USER_LINKS else None)
                out[path] = self._scalar(conn, rt, target, path[1:], record.get(name), now) if target else None
        return out

    def _scalar(self, conn, rt, object_name, path, record_id, now):
        if record_id is None or object_name not in rt.objects:
            return None
        b = SelectBuilder(rt, object_name, dialect_name=conn.dialect.name, now=now)
        col = b.column(path)
        return to_python(conn.execute(select(col).select_from(b.from_clause).where(b.base.c.id == record_id)).scalar())


def _rule_report(broken: list) -> dict | None:
    """The 422 body's parts for the validation rules a record breaks (None when it breaks none)."""
    if not broken:
        return None
    fields: dict[str, list[str]] = {}
    for rule in broken:
        if rule.field:
            fields.setdefault(rule.field, []).append(rule.message)
    return {"message": " ".join(r.message for r in broken), "fields": fields,
            "rules": [{"name": r.name, "message": r.message, "field": r.field} for r in broken]}
