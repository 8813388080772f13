"""Semantic checks of rows fields (child records edited as rows of their parent, records/rows.py)
and of objects with several master_detail fields (a child of one of several parents)."""
from __future__ import annotations

from .errors import MetaError
from .model import Metadata, ObjectDef

POSITION = "position"   # the system column a rows child object gets (storage/tables.py)


def check_rows(md: Metadata, obj: ObjectDef) -> list[MetaError]:
    errors: list[MetaError] = []
    src = obj.source
    seen: dict[tuple[str, str], str] = {}
    for rd in obj.rows.values():
        at = f"fields.{rd.name}"
        child = md.objects.get(rd.object)
        if child is None:
            errors.append(MetaError(src, f"{at}.object", f"there is no object '{rd.object}'"))
            continue
        if child.name == obj.name:
            errors.append(MetaError(src, f"{at}.object", "an object cannot be its own rows"))
            continue
        masters = [f.name for f in child.fields.values() if f.type == "master_detail" and f.target == obj.name]
        rel = child.fields.get(rd.relationship) if rd.relationship else None
        if rd.relationship and (rel is None or rel.type != "master_detail" or rel.target != obj.name):
            errors.append(MetaError(src, f"{at}.relationship", f"'{child.name}.{rd.relationship}' is not a "
                                    f"master_detail field to '{obj.name}'"))
            continue
        if not masters:
            errors.append(MetaError(src, f"{at}.object", f"'{child.name}' has no master_detail field to "
                                    f"'{obj.name}': rows are child records controlled by their parent (add e.g. "
                                    f"{obj.name}: {{type: master_detail, to: {obj.name}}} to {child.name})"))
            continue
        if rel is None and len(masters) > 1:
            errors.append(MetaError(src, f"{at}.relationship", f"'{child.name}' has several master_detail fields to "
                                    f"'{obj.name}' ({', '.join(masters)}): name the one the rows hang by"))
            continue
        key = (child.name, rd.relationship or masters[0])
        if key in seen:
            errors.append(MetaError(src, at, f"'{seen[key]}' already edits {child.name} records through "
                                    f"'{key[1]}' as rows"))
        seen[key] = rd.name
    if obj.row_links and POSITION in obj.fields:
        errors.append(MetaError(src, f"fields.{POSITION}", f"'{POSITION}' is the row position of a rows child object "
                                "(a system column): rename this field"))
    return errors
