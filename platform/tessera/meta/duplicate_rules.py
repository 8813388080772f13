"""Duplicate rules (duplicate_rules/<name>.yaml): the typed rule and its semantic checks.

A rule names an object, an action (block | warn) and conditions that must all match; each condition
compares one stored field by a kind of match. What each kind may compare is decided here (the
metadata language), how values are normalized into keys is tessera/dedupe (the platform).
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import MetaError
from .model import Component, Metadata, default_label

_STRINGS = frozenset(("text", "email", "phone", "url", "picklist", "autonumber", "textarea"))
# field types each kind of match compares (a stored field of one of these types)
MATCH_TYPES: dict[str, frozenset] = {
    "exact": _STRINGS | {"integer", "number", "currency", "percent", "date", "lookup", "master_detail"},
    "normalized": _STRINGS,
    "email": frozenset(("email", "text")),
    "email_domain": frozenset(("email", "text", "url")),
    "phone": frozenset(("phone", "text")),
    "fuzzy": frozenset(("text",)),
}
DEFAULT_THRESHOLD = 0.9


@dataclass(frozen=True)
class MatchCondition:
    field: str
    match: str
    threshold: float | None = None   # fuzzy only


@dataclass(frozen=True)
class DuplicateRule:
    name: str
    label: str
    object: str
    action: str                       # block | warn
    conditions: tuple[MatchCondition, ...]
    active: bool = True
    allow_override: bool = False
    message: str | None = None
    where: str | None = None
    source: str = ""

    @classmethod
    def from_component(cls, comp: Component) -> "DuplicateRule":
        doc = comp.doc
        conditions = tuple(MatchCondition(c["field"], c["match"],
                                          float(c.get("threshold", DEFAULT_THRESHOLD)) if c["match"] == "fuzzy" else None)
                           for c in doc["conditions"])
        return cls(name=comp.name, label=doc.get("label") or default_label(comp.name), object=doc["object"],
                   action=doc["action"], conditions=conditions, active=bool(doc.get("active", True)),
                   allow_override=bool(doc.get("allow_override", False)), message=doc.get("message"),
                   where=doc.get("where"), source=comp.source)

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.field for c in self.conditions))

    @property
    def fuzzy(self) -> tuple[MatchCondition, ...]:
        return tuple(c for c in self.conditions if c.match == "fuzzy")


def active_rules(md: Metadata, object_name: str | None = None) -> list[DuplicateRule]:
    """The active rules (of one object, or all), by name."""
    rules = [DuplicateRule.from_component(c) for _n, c in sorted(md.duplicate_rules.items())]
    return [r for r in rules if r.active and (object_name is None or r.object == object_name)]


def key_signature(md: Metadata, rule: DuplicateRule) -> tuple:
    """What a rule's stored keys depend on: its object, its conditions' fields, kinds of match and
    field types. Keys are built again when it changes (changes/dedupe_steps.py); the action, the
    threshold, the message and `where` are read at match time and change no key."""
    obj = md.objects.get(rule.object)
    types = tuple(obj.fields[c.field].type if obj is not None and c.field in obj.fields else None
                  for c in rule.conditions)
    return (rule.object, tuple((c.field, c.match) for c in rule.conditions), types)


def check_duplicate_rules(md: Metadata, compile_expr) -> list[MetaError]:
    """`compile_expr(md, obj, text, src, where, errors)`: the `where` expression compiled as a
    boolean read condition on the object (errors appended)."""
    errors: list[MetaError] = []
    for comp in md.duplicate_rules.values():
        src, doc = comp.source, comp.doc
        obj = md.objects.get(doc["object"])
        if obj is None:
            errors.append(MetaError(src, "object", f"there is no object '{doc['object']}'"))
            continue
        seen = set()
        for i, cond in enumerate(doc["conditions"]):
            at, name, match = f"conditions.{i}", cond["field"], cond["match"]
            f = obj.fields.get(name)
            if f is None:
                errors.append(MetaError(src, f"{at}.field", f"'{obj.name}' has no field '{name}'"))
            elif not f.stored:
                errors.append(MetaError(src, f"{at}.field", f"'{name}' is a {f.type} field: only stored fields "
                                                            "can be matched"))
            elif f.type not in MATCH_TYPES[match]:
                allowed = ", ".join(sorted(MATCH_TYPES[match]))
                what = "fuzzy matching compares text" if match == "fuzzy" else f"a {match} match compares {allowed} fields"
                errors.append(MetaError(src, f"{at}.match", f"'{name}' is a {f.type} field: {what}"))
            if "threshold" in cond and match != "fuzzy":
                errors.append(MetaError(src, f"{at}.threshold", "a threshold is for fuzzy matches only"))
            if (name, match) in seen:
                errors.append(MetaError(src, at, f"'{name}' is already matched by {match} in this rule"))
            seen.add((name, match))
        if doc.get("allow_override") and doc["action"] != "block":
            errors.append(MetaError(src, "allow_override", "only a block rule can be overridden: a warn rule "
                                                           "never stops a save"))
        if doc.get("where"):
            compile_expr(md, obj, doc["where"], src, "where", errors)
    return errors
