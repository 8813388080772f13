"""Conversions (conversions/<name>.yaml): the typed conversion and its semantic checks.

A conversion turns a record of `object` into the records of its `targets`, in order; each target's
`values` are expressions on the converted record (compiled like a workflow's create_record
values), its `links` point lookups at earlier targets' records. `mark` sets the converted record's
own fields (values and links) and `repoint` moves other objects' lookups from the converted record
to a target's record. tessera/conversion runs it in one transaction.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..expr import ExprError, compile_expression
from .errors import MetaError
from .model import Metadata


@dataclass(frozen=True)
class Target:
    name: str
    object: str
    label: str
    required: bool
    existing: bool
    values: dict
    links: dict


@dataclass(frozen=True)
class Conversion:
    name: str
    label: str
    object: str
    condition: str | None
    targets: tuple[Target, ...]
    mark_values: dict
    mark_links: dict
    move_related_to: str | None
    repoint: tuple[dict, ...]

    @classmethod
    def from_component(cls, comp) -> "Conversion":
        doc = comp.doc
        targets = tuple(Target(t["name"], t["object"], t.get("label") or t["name"].replace("_", " ").title(),
                               t.get("required", True), t.get("existing", True), dict(t.get("values") or {}),
                               dict(t.get("links") or {})) for t in doc["targets"])
        mark = doc.get("mark") or {}
        return cls(doc["name"], doc.get("label") or doc["name"].replace("_", " ").title(), doc["object"],
                   doc.get("condition"), targets, dict(mark.get("values") or {}), dict(mark.get("links") or {}),
                   doc.get("move_related_to"), tuple(doc.get("repoint") or ()))

    def target(self, name: str) -> Target | None:
        return next((t for t in self.targets if t.name == name), None)


def conversions_of(md: Metadata, object_name: str) -> list[Conversion]:
    return [Conversion.from_component(c) for _n, c in sorted(md.conversions.items()) if c.doc["object"] == object_name]


def converting_lookups(md: Metadata, object_name: str) -> list[tuple[str, str, str]]:
    """(object, lookup to `object_name`, lookup it converts to) of every field with `converts_to`."""
    return [(obj.name, f.name, f.options["converts_to"]) for obj in md.objects.values() for f in obj.fields.values()
            if f.type in ("lookup", "master_detail") and f.target == object_name and f.options.get("converts_to")]


def _check_converts_to(md: Metadata) -> list[MetaError]:
    errors = []
    for obj in md.objects.values():
        for f in obj.fields.values():
            other = f.options.get("converts_to")
            if not other:
                continue
            g = obj.fields.get(other)
            if g is None or g.type not in ("lookup", "master_detail"):
                errors.append(MetaError(obj.source, f"fields.{f.name}.converts_to",
                                        f"'{obj.name}.{other}' is not a lookup of this object"))
    return errors


def check_conversions(md: Metadata) -> list[MetaError]:
    from .validate import resolver
    from .validate_workflows import settable_problem, value_type
    errors: list[MetaError] = _check_converts_to(md)
    for comp in md.conversions.values():
        src, conv = comp.source, Conversion.from_component(comp)
        source = md.objects.get(conv.object)
        if source is None:
            errors.append(MetaError(src, "object", f"there is no object '{conv.object}'"))
            continue
        resolve = resolver(md, source)

        def compiled(text, expected, where):
            try:
                compile_expression(text, resolve, context="write", expected=expected)
            except ExprError as exc:
                errors.append(MetaError(src, where, str(exc)))

        def check_links(obj, links, where, earlier):
            for field_name, target_name in links.items():
                f = obj.fields.get(field_name)
                target = next((t for t in earlier if t.name == target_name), None)
                if target is None:
                    errors.append(MetaError(src, f"{where}.{field_name}", f"'{target_name}' is not an earlier target "
                                            f"of this conversion"))
                elif f is None or f.type not in ("lookup", "master_detail"):
                    errors.append(MetaError(src, f"{where}.{field_name}", f"'{obj.name}.{field_name}' is not a lookup"))
                elif f.target != target.object:
                    errors.append(MetaError(src, f"{where}.{field_name}", f"'{obj.name}.{field_name}' looks up "
                                            f"{f.target}, not {target.object} (the '{target_name}' target)"))

        def check_values(obj, values, where, *, platform=False):
            for field_name, text in values.items():
                problem = settable_problem(obj, field_name, before_save=platform)
                if problem:
                    errors.append(MetaError(src, f"{where}.{field_name}", problem))
                else:
                    compiled(text, value_type(obj, field_name), f"{where}.{field_name}")

        if conv.condition:
            compiled(conv.condition, "boolean", "condition")
        seen: list = []
        for i, target in enumerate(conv.targets):
            at = f"targets.{i}"
            obj = md.objects.get(target.object)
            if any(t.name == target.name for t in seen):
                errors.append(MetaError(src, f"{at}.name", f"'{target.name}' names two targets"))
            if obj is None:
                errors.append(MetaError(src, f"{at}.object", f"there is no object '{target.object}'"))
                seen.append(target)
                continue
            check_values(obj, target.values, f"{at}.values")
            check_links(obj, target.links, f"{at}.links", seen)
            seen.append(target)
        # the mark is the platform's: it may set read-only fields (converted, converted_at)
        check_values(source, conv.mark_values, "mark.values", platform=True)
        check_links(source, conv.mark_links, "mark.links", seen)
        if conv.move_related_to and conv.target(conv.move_related_to) is None:
            errors.append(MetaError(src, "move_related_to", f"'{conv.move_related_to}' is not a target of this conversion"))
        for i, item in enumerate(conv.repoint):
            at, obj, target = f"repoint.{i}", md.objects.get(item["object"]), conv.target(item["target"])
            if obj is None:
                errors.append(MetaError(src, f"{at}.object", f"there is no object '{item['object']}'"))
                continue
            if target is None:
                errors.append(MetaError(src, f"{at}.target", f"'{item['target']}' is not a target of this conversion"))
                continue
            for key, expected in (("from", conv.object), ("to", target.object)):
                f = obj.fields.get(item[key])
                if f is None or f.type not in ("lookup", "master_detail") or f.target != expected:
                    errors.append(MetaError(src, f"{at}.{key}", f"'{obj.name}.{item[key]}' must be a lookup to {expected}"))
    return errors
