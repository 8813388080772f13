"""Semantic checks of encrypted fields (`encrypted: true`, tessera/encryption).

An encrypted field's column holds ciphertext, so everything that would read it *in SQL* is
refused here, at validation, naming the component's file and path — rather than running and
silently matching nothing: formula fields and roll-ups (compiled into the SELECT), list view and
report filters, sorts and groupings, sharing-rule criteria, duplicate rules (their match keys are
plaintext digests), global search (its index is plaintext). Uniqueness and external ids need equal
values to be equal in the column: only the deterministic mode gives that. The name field shows in
lookups, titles and search results to everyone who can see the record: it cannot be encrypted.

Expressions evaluated in Python on the decrypted record (validation rules, default expressions,
workflow conditions) may use encrypted fields.
"""
from __future__ import annotations

from ..expr import ExprError, compile_expression
from .errors import MetaError
from .fieldtypes import ENCRYPTABLE_TYPES
from .model import Metadata, ObjectDef


def check_encryption(md: Metadata, resolver) -> list[MetaError]:
    errors: list[MetaError] = []
    for obj in md.objects.values():
        errors += _check_fields(obj)
    if not any(f.encrypted for o in md.objects.values() for f in o.fields.values()):
        return errors   # nothing below can refer to an encrypted field
    checker = _References(md, resolver, errors)
    for obj in md.objects.values():
        for f in obj.fields.values():
            where = f"fields.{f.name}"
            if f.type == "formula":
                checker.expression(obj, f.options.get("expression") or "", obj.source, f"{where}.expression",
                                   "a formula field (computed in SQL)")
            elif f.type == "rollup":
                child = md.objects.get(f.options.get("object") or "")
                if child is not None:
                    checker.path(child, f.options.get("field"), obj.source, f"{where}.field", "a roll-up")
                    checker.expression(child, f.options.get("filter") or "", obj.source, f"{where}.filter",
                                       "a roll-up filter")
    for comp in md.list_views.values():
        obj = md.objects.get(comp.get("object") or "")
        if obj is None:
            continue
        checker.expression(obj, comp.get("filter") or "", comp.source, "filter", "a list view filter")
        for i, key in enumerate(comp.get("sort") or ()):
            checker.path(obj, key.lstrip("-"), comp.source, f"sort.{i}", "a sort")
    for comp in md.reports.values():
        obj = md.objects.get(comp.get("object") or "")
        if obj is None:
            continue
        checker.expression(obj, comp.get("filter") or "", comp.source, "filter", "a report filter")
        for key in ("groupings", "column_groupings"):
            for i, g in enumerate(comp.get(key) or ()):
                checker.path(obj, str(g).split(":")[0], comp.source, f"{key}.{i}", "a grouping")
        for i, s in enumerate(comp.get("summaries") or ()):
            metric = s.get("metric", "") if isinstance(s, dict) else ""
            if ":" in metric:
                checker.path(obj, metric.split(":", 1)[1], comp.source, f"summaries.{i}.metric", "a summary")
        for i, key in enumerate(comp.get("sort") or ()):
            checker.path(obj, key.lstrip("-").split(":")[0], comp.source, f"sort.{i}", "a sort")
    for comp in md.sharing_rules.values():
        obj = md.objects.get(comp.get("object") or "")
        if obj is not None:
            checker.expression(obj, comp.get("criteria") or "", comp.source, "criteria", "sharing-rule criteria")
    for comp in md.duplicate_rules.values():
        obj = md.objects.get(comp.get("object") or "")
        if obj is None:
            continue
        for i, cond in enumerate(comp.get("conditions") or ()):
            checker.path(obj, cond.get("field"), comp.source, f"conditions.{i}.field", "a duplicate rule")
        checker.expression(obj, comp.get("where") or "", comp.source, "where", "a duplicate rule")
    return errors


def _check_fields(obj: ObjectDef) -> list[MetaError]:
    errors = []
    for f in obj.fields.values():
        if not f.options.get("encrypted"):
            continue
        where = f"fields.{f.name}.encrypted"
        if f.type not in ENCRYPTABLE_TYPES:
            errors.append(MetaError(obj.source, where, f"only {', '.join(ENCRYPTABLE_TYPES)} fields can be "
                                                       f"encrypted, not {f.type}"))
            continue
        deterministic = f.encryption_mode == "deterministic"
        if f.options.get("searchable"):
            errors.append(MetaError(obj.source, where, "an encrypted field cannot be searchable (the search index "
                                                       "would hold it in clear)"))
        if f.name == obj.name_field:
            errors.append(MetaError(obj.source, where, "the name field cannot be encrypted (lookups, titles and "
                                                       "search show it to everyone who sees the record)"))
        if f.external_id and not deterministic:
            errors.append(MetaError(obj.source, where, "an external id must be found by its value: encrypt it with "
                                                       "encryption: deterministic"))
        elif f.unique and not deterministic:
            errors.append(MetaError(obj.source, where, "a unique field needs equal values to be equal when stored: "
                                                       "encrypt it with encryption: deterministic"))
    return errors


class _References:
    """Reports an encrypted field named where SQL would read its ciphertext."""

    def __init__(self, md: Metadata, resolver, errors: list[MetaError]):
        self.md, self.resolver, self.errors = md, resolver, errors

    def _encrypted(self, obj: ObjectDef, path: tuple) -> str | None:
        steps = self.md.resolve_path(obj, path)
        if not steps or len(steps) < len(path):
            return None
        owner, name = steps[-1]
        f = owner.fields.get(name)
        return f"{owner.name}.{name}" if f is not None and f.encrypted else None

    def _refuse(self, source, where, what, field):
        self.errors.append(MetaError(source, where, f"{field} is encrypted: {what} cannot use it (it runs in "
                                                    f"SQL, which sees only ciphertext)"))

    def path(self, obj: ObjectDef, text, source, where, what) -> None:
        if not text:
            return
        field = self._encrypted(obj, tuple(str(text).split(".")))
        if field:
            self._refuse(source, where, what, field)

    def expression(self, obj: ObjectDef, text: str, source, where, what) -> None:
        if not text:
            return
        try:
            compiled = compile_expression(text, self.resolver(self.md, obj), current_user=True)
        except ExprError:
            return   # reported by the component's own check
        for path in sorted(compiled.paths):
            field = self._encrypted(obj, tuple(path))
            if field:
                self._refuse(source, where, what, field)
                return
