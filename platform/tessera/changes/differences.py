"""What actually differs between two effective metadata sets, component by component, in words
a reviewer reads: fields added or changed (with old → new values), layout fields moved between
sections, permissions granted or taken away, list items added or removed.

The plan (planner.py) says what the pipeline will *do* to storage; this says what the admin
*changed*, for the Versions page and every review page. Pure: metadata in, lines out.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..meta.model import Metadata

# Kinds of Metadata shown, in this order, with a singular label.
KINDS = {"objects": "object", "layouts": "layout", "list_views": "list view", "apps": "app",
         "profiles": "profile", "permission_sets": "permission set",
         "permission_set_groups": "permission set group", "roles": "role", "sharing_rules": "sharing rule",
         "workflows": "workflow", "email_templates": "email template", "approval_processes": "approval process",
         "settings": "settings", "reports": "report", "dashboards": "dashboard",
         "duplicate_rules": "duplicate rule", "conversions": "conversion"}
_NOISE = {"source", "package"}      # where a component came from, not what it is
MAX_LINES = 60                      # per component: a huge change still reads as a summary
MAX_VALUE = 80


@dataclass
class ComponentDiff:
    kind: str          # "layout"
    name: str          # "account"
    status: str        # added | removed | changed
    lines: list[str] = field(default_factory=list)


def differences(old: Metadata | None, new: Metadata) -> list[ComponentDiff]:
    out: list[ComponentDiff] = []
    for attr, label in KINDS.items():
        before = getattr(old, attr, {}) if old is not None else {}
        after = getattr(new, attr, {})
        for name in sorted(set(before) | set(after)):
            if name not in before:
                out.append(ComponentDiff(label, name, "added", _summary(attr, after[name])))
            elif name not in after:
                out.append(ComponentDiff(label, name, "removed"))
            else:
                a, b = _plain(before[name]), _plain(after[name])
                if a != b:
                    lines = _object_lines(a, b) if attr == "objects" else \
                        _layout_lines(a, b) if attr == "layouts" else _lines(a, b, ())
                    if len(lines) > MAX_LINES:
                        lines = lines[:MAX_LINES] + [f"… and {len(lines) - MAX_LINES} more differences"]
                    out.append(ComponentDiff(label, name, "changed", lines))
    return out


# -- plain data --------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if hasattr(value, "doc") and hasattr(value, "kind"):      # a Component: its document
            return _plain(value.doc)
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name not in _NOISE}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items() if k not in _NOISE}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE - 1] + "…"


def _where(path: tuple) -> str:
    return " › ".join(str(p) for p in path) if path else "(whole)"


def _key_of(item: Any) -> str | None:
    if isinstance(item, dict):
        for key in ("name", "relation", "label", "object", "value"):
            if isinstance(item.get(key), str):
                return item[key]
    return None


def _lines(a: Any, b: Any, path: tuple) -> list[str]:
    """Readable differences between two plain values at `path`."""
    if a == b:
        return []
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in list(a) + [k for k in b if k not in a]:
            if k not in b:
                out.append(f"{_where(path + (k,))}: removed (was {_show(a[k])})")
            elif k not in a:
                out.append(f"{_where(path + (k,))}: {_show(b[k])} (new)")
            else:
                out.extend(_lines(a[k], b[k], path + (k,)))
        return out
    if isinstance(a, list) and isinstance(b, list):
        return _list_lines(a, b, path)
    return [f"{_where(path)}: {_show(a)} → {_show(b)}"]


def _list_lines(a: list, b: list, path: tuple) -> list[str]:
    scalars = all(not isinstance(v, (dict, list)) for v in a + b)
    if scalars:
        gone = [v for v in a if v not in b]
        new = [v for v in b if v not in a]
        out = [f"{_where(path)}: + {_show(v)}" for v in new] + [f"{_where(path)}: − {_show(v)}" for v in gone]
        return out or [f"{_where(path)}: reordered ({', '.join(_show(v) for v in b)})"]
    keys_a, keys_b = [_key_of(v) for v in a], [_key_of(v) for v in b]
    if None not in keys_a + keys_b and len(set(keys_a)) == len(a) and len(set(keys_b)) == len(b):
        by_a, by_b = dict(zip(keys_a, a)), dict(zip(keys_b, b))
        out = [f"{_where(path)}: + {k}" for k in keys_b if k not in by_a]
        out += [f"{_where(path)}: − {k}" for k in keys_a if k not in by_b]
        for k in keys_a:
            if k in by_b:
                out.extend(_lines(by_a[k], by_b[k], path + (k,)))
        shared_a, shared_b = [k for k in keys_a if k in by_b], [k for k in keys_b if k in by_a]
        if shared_a != shared_b:
            out.append(f"{_where(path)}: reordered ({', '.join(shared_b)})")
        return out
    out = []
    for i in range(max(len(a), len(b))):
        if i >= len(a):
            out.append(f"{_where(path + (i + 1,))}: {_show(b[i])} (new)")
        elif i >= len(b):
            out.append(f"{_where(path + (i + 1,))}: removed")
        else:
            out.extend(_lines(a[i], b[i], path + (i + 1,)))
    return out


# -- objects: fields by name ----------------------------------------------------------------------
def _object_lines(a: dict, b: dict) -> list[str]:
    out = []
    fa, fb = a.get("fields") or {}, b.get("fields") or {}
    for name in fb:
        if name not in fa:
            out.append(f"field {name} added ({fb[name].get('type')}, {_show(fb[name].get('label'))})")
    for name in fa:
        if name not in fb:
            out.append(f"field {name} removed (was {fa[name].get('type')})")
        else:
            out.extend(f"field {line}" for line in _lines(fa[name], fb[name], (name,)))
    rest_a = {k: v for k, v in a.items() if k != "fields"}
    rest_b = {k: v for k, v in b.items() if k != "fields"}
    return out + _lines(rest_a, rest_b, ())


# -- layouts: where each field sits ------------------------------------------------------------
def _placements(doc: dict) -> dict[str, str]:
    out = {}
    for i, section in enumerate(doc.get("sections") or []):
        label = section.get("label") or f"section {i + 1}"
        for name in section.get("fields") or []:
            out[name] = label
    return out


def _layout_lines(a: dict, b: dict) -> list[str]:
    out = []
    pa, pb = _placements(a), _placements(b)
    for name, where in pb.items():
        if name not in pa:
            out.append(f"field {name} added to section {_show(where)}")
        elif pa[name] != where:
            out.append(f"field {name} moved from section {_show(pa[name])} to {_show(where)}")
    out += [f"field {name} taken off the layout (was in {_show(where)})" for name, where in pa.items() if name not in pb]
    labels_a = [s.get("label") or f"section {i + 1}" for i, s in enumerate(a.get("sections") or [])]
    labels_b = [s.get("label") or f"section {i + 1}" for i, s in enumerate(b.get("sections") or [])]
    out += [f"section {_show(x)} added" for x in labels_b if x not in labels_a]
    out += [f"section {_show(x)} removed" for x in labels_a if x not in labels_b]
    if [x for x in labels_a if x in labels_b] != [x for x in labels_b if x in labels_a]:
        out.append("sections reordered: " + ", ".join(_show(x) for x in labels_b))
    sections_a = {label: s for label, s in zip(labels_a, a.get("sections") or [])}
    for label, s in zip(labels_b, b.get("sections") or []):
        old = sections_a.get(label)
        if old is None:
            continue
        if old.get("columns") != s.get("columns"):
            out.append(f"section {_show(label)}: columns {_show(old.get('columns'))} → {_show(s.get('columns'))}")
        shared_old = [f for f in old.get("fields") or [] if f in (s.get("fields") or [])]
        shared_new = [f for f in s.get("fields") or [] if f in shared_old]
        if shared_old != shared_new:
            out.append(f"section {_show(label)}: fields reordered ({', '.join(shared_new)})")
    rest_a = {k: v for k, v in a.items() if k != "sections"}
    rest_b = {k: v for k, v in b.items() if k != "sections"}
    return out + _lines(rest_a, rest_b, ())


def _summary(attr: str, component: Any) -> list[str]:
    plain = _plain(component)
    if attr == "objects":
        fields = plain.get("fields") or {}
        return [f"{len(fields)} field{'s' if len(fields) != 1 else ''}: {', '.join(list(fields)[:12])}"
                + ("…" if len(fields) > 12 else "")]
    if attr == "layouts":
        return [f"section {_show(label)}: {', '.join(names)}" for label, names in _sections(plain)]
    return []


def _sections(doc: dict):
    for i, section in enumerate(doc.get("sections") or []):
        yield section.get("label") or f"section {i + 1}", section.get("fields") or []
