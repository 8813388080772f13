"""Edit the org layer of a metadata version as plain data — no Flask, no database.

Every setup page builds its change the same way: take the ACTIVE version's snapshot, deep-copy its
org layer into an `OrgEditor`, edit it with the methods below, schema-check it (`validate()`) and
hand `editor.org` to `ChangeService.apply_org`. The rules of the metadata format's layering
(metadata/README.md, "The org layer") are kept here:

* the org's own objects are edited in place;
* a package object is never copied: org additions go into an extension document (`extends:`),
  which may add fields and change only the properties the package lists as `customizable`;
* package layouts, list views, apps, profiles, permission sets, roles, sharing rules and workflows are
  overridden WHOLE by an org document of the same name (a copy with the edits), and "revert"
  simply deletes that override.
"""
from __future__ import annotations

import copy
import re
import unicodedata

from ...expr.rename import rename_field_in, rename_field_in_path
from ...meta.fieldtypes import USER_LINKS
from ...meta.merge import DEFAULT_CUSTOMIZABLE, dependency_order, merge_docs
from ...meta.schema import schema_for
from ...meta.source import COMPONENT_DIRS, empty_org

NAME_RE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")   # no "__": that separates a namespace
MAX_NAME = 40


# --------------------------------------------------------------------------- API names

def api_name(label: str, *, max_length: int = MAX_NAME) -> str:
    """A label → an identifier: ASCII, lower snake case, starting with a letter, ≤ max_length.
    "Référence client #2" → "reference_client_2"."""
    text = unicodedata.normalize("NFKD", label or "").encode("ascii", "ignore").decode("ascii").lower()
    text = re.sub(r"[^a-z0-9]+", "_", text).strip("_")
    if text and not text[0].isalpha():
        text = "n_" + text
    return text[:max_length].rstrip("_")


def name_problem(name: str, *, taken=(), what: str = "name", reserved=()) -> str | None:
    """Why `name` is not a usable API name (None when it is)."""
    if not name:
        return f"enter an API {what}"
    if len(name) > MAX_NAME:
        return f"at most {MAX_NAME} characters ({len(name)} given)"
    if not NAME_RE.match(name):
        return "lower-case letters, digits and single underscores, starting with a letter"
    if name in reserved:
        return f"'{name}' is reserved"
    if name in taken:
        return f"'{name}' is already used"
    return None


# --------------------------------------------------------------------------- field schema

OVERRIDABLE = ("layouts", "list_views", "apps", "profiles", "permission_sets", "permission_set_groups", "roles",
               "sharing_rules", "workflows", "approval_processes")
OBJECT_DEFAULTS = {"sharing_model": "private", "hierarchy_access": True, "track_history": False, "activities": False}
_BOOL_DEFAULTS = {"required": False, "unique": False, "external_id": False, "indexed": False, "read_only": False, "restricted": True}


def allowed_field_props(field_type: str) -> list[str]:
    """The properties a field of this type may have (from object.schema.json), in schema order."""
    props = schema_for("object")["$defs"].get(f"{field_type}_field", {}).get("properties", {})
    return [k for k, v in props.items() if not (isinstance(v, dict) and "not" in v)]


def prop_default(field_type: str, key: str):
    if key == "restricted":
        return True
    if key == "required" and field_type == "master_detail":
        return True
    if key in _BOOL_DEFAULTS:
        return _BOOL_DEFAULTS[key]
    return None


# --------------------------------------------------------------------------- the editor

class OrgEditor:
    def __init__(self, snapshot: dict):
        self.snapshot = snapshot
        self.packages = dependency_order(snapshot.get("packages") or []) if snapshot.get("packages") else []
        self.org = copy.deepcopy(snapshot.get("org") or empty_org())
        self.org["manifest"] = None
        comps = self.org.setdefault("components", {})
        for dirname in COMPONENT_DIRS:
            comps.setdefault(dirname, {})
        self._effective = None

    # -- components -------------------------------------------------------------------------
    def items(self, dirname: str) -> dict:
        return self.org["components"][dirname]

    def org_doc(self, dirname: str, name: str) -> dict | None:
        item = self.items(dirname).get(name)
        return item["doc"] if item else None

    def put(self, dirname: str, name: str, doc: dict) -> None:
        self.items(dirname)[name] = {"source": f"{dirname}/{name}.yaml", "doc": doc}
        self._effective = None

    def delete(self, dirname: str, name: str) -> None:
        self.items(dirname).pop(name, None)
        self._effective = None

    def package_doc(self, dirname: str, name: str) -> tuple[str, dict] | None:
        """(package name, the package's own document) of a package component, else None."""
        for pkg in self.packages:
            item = (pkg.get("components") or {}).get(dirname, {}).get(name)
            if item is not None:
                return pkg["manifest"]["name"], item["doc"]
        return None

    def effective_docs(self):
        """merge_docs of the snapshot being edited: (docs, owners) (docs[dir][name] = (doc, source))."""
        if self._effective is None:
            self._effective = merge_docs({"packages": self.packages, "org": self.org})
        return self._effective

    def effective(self, dirname: str, name: str) -> dict | None:
        """The document as the org sees it (package doc, org override, or org doc), a copy."""
        doc = self.effective_docs()[0].get(dirname, {}).get(name)
        return copy.deepcopy(doc[0]) if doc else None

    def owner(self, dirname: str, name: str) -> str | None:
        """Owning package of a component (None: the org's own, or unknown)."""
        pkg = self.package_doc(dirname, name)
        return pkg[0] if pkg else None

    def exists(self, dirname: str, name: str) -> bool:
        return name in self.items(dirname) or self.package_doc(dirname, name) is not None

    def override(self, dirname: str, name: str) -> dict:
        """The org's editable copy of a layout/list view/app/profile/... (a package one is copied
        into the org layer whole on first edit)."""
        doc = self.org_doc(dirname, name)
        if doc is None:
            pkg = self.package_doc(dirname, name)
            if pkg is None:
                raise KeyError(f"there is no {dirname[:-1].replace('_', ' ')} '{name}'")
            doc = copy.deepcopy(pkg[1])
            self.put(dirname, name, doc)
        return doc

    def add_field_to_layout(self, layout: str, field: str) -> None:
        """Show a new field at the end of a layout's first section: a package layout gets (or
        extends) an org patch, so the package's later changes to it still arrive; the org's own
        layout, or an org copy replacing a package's, is edited in place."""
        org, shipped = self.org_doc("layouts", layout), self.package_doc("layouts", layout)
        first = ((shipped[1].get("sections") or [{}])[0].get("label")) if shipped else None
        if first and (org is None or "patches" in org):
            patch = org if org is not None else {"patches": layout}
            if not any(add["field"] == field for add in patch.get("add_fields") or ()):
                patch.setdefault("add_fields", []).append({"field": field, "section": first})
            if org is None:
                self.put("layouts", layout, patch)
            return
        doc = self.override("layouts", layout)
        sections = doc.setdefault("sections", [])
        if not any(field in s.get("fields", []) for s in sections):
            if sections:
                sections[0].setdefault("fields", []).append(field)
            else:
                sections.append({"label": "Information", "fields": [field]})

    def add_related_list(self, layout: str, related: dict) -> bool:
        """Show a related list (`{"object", "field", ...}`) at the end of a layout's related lists,
        unless one for the same child field is there already; a package layout gets (or extends)
        an org patch, as add_field_to_layout does. True when it was added."""
        def same(r):
            return r.get("object") == related["object"] and r.get("field") == related["field"]
        org, shipped = self.org_doc("layouts", layout), self.package_doc("layouts", layout)
        if shipped and (org is None or "patches" in org):
            patch = org if org is not None else {"patches": layout}
            if any(same(r) for r in [*(shipped[1].get("related_lists") or ()), *(patch.get("add_related_lists") or ())]):
                return False
            patch.setdefault("add_related_lists", []).append(dict(related))
            if org is None:
                self.put("layouts", layout, patch)
            return True
        doc = self.override("layouts", layout)
        if any(same(r) for r in doc.get("related_lists") or ()):
            return False
        doc.setdefault("related_lists", []).append(dict(related))
        return True

    def settle_overrides(self) -> None:
        """Drop org copies that say exactly what the package says: an unchanged copy would only
        freeze the package's version against upgrades."""
        for dirname in OVERRIDABLE:
            for name in list(self.items(dirname)):
                pkg = self.package_doc(dirname, name)
                if pkg is not None and self.org_doc(dirname, name) == pkg[1]:
                    self.delete(dirname, name)

    # -- objects ----------------------------------------------------------------------------
    def customizable(self, object_name: str) -> dict:
        for pkg in self.packages:
            if object_name in (pkg.get("components") or {}).get("objects", {}):
                return {**DEFAULT_CUSTOMIZABLE, **(pkg["manifest"].get("customizable") or {})}
        return {"object": None, "field": None}   # the org's own: everything

    def tracks_history(self, obj: str) -> bool:
        """The object's effective track_history: what its fields follow unless they say otherwise."""
        return bool((self.effective("objects", obj) or {}).get("track_history", OBJECT_DEFAULTS["track_history"]))

    def is_package_object(self, name: str) -> bool:
        return self.package_doc("objects", name) is not None

    def extension(self, name: str) -> dict:
        """The org's `extends:` document for a package object (created empty when missing)."""
        doc = self.org_doc("objects", name)
        if doc is None:
            doc = {"extends": name}
            self.put("objects", name, doc)
        return doc

    def _tidy_extension(self, name: str) -> None:
        doc = self.org_doc("objects", name)
        if doc is not None and "extends" in doc:
            if not doc.get("fields"):
                doc.pop("fields", None)
            if set(doc) == {"extends"}:
                self.delete("objects", name)
        self._effective = None

    def field_origin(self, obj: str, field: str) -> str:
        """"package" (owned by the object's package), "org" (added by the org)."""
        pkg = self.package_doc("objects", obj)
        if pkg is not None and field in (pkg[1].get("fields") or {}):
            return "package"
        return "org"

    def set_field(self, obj: str, fname: str, fdoc: dict) -> None:
        """Add or replace an org-owned field (a full definition)."""
        if self.is_package_object(obj):
            if self.field_origin(obj, fname) == "package":
                raise ValueError(f"'{obj}.{fname}' belongs to its package: only its customizable properties change")
            self.extension(obj).setdefault("fields", {})[fname] = fdoc
        else:
            doc = self.org_doc("objects", obj)
            if doc is None:
                raise KeyError(f"there is no object '{obj}'")
            doc.setdefault("fields", {})[fname] = fdoc
        self._effective = None

    def patch_package_field(self, obj: str, fname: str, values: dict) -> list[str]:
        """Set customizable properties of a package field. A value equal to the package's is
        dropped from the extension (the org layer keeps only real customizations). Returns the
        keys that differ from the package's."""
        pkg_name, pkg_doc = self.package_doc("objects", obj)
        base = pkg_doc["fields"][fname]
        allowed = self.customizable(obj)["field"]
        history_default = self.tracks_history(obj)   # a field without its own setting follows the object
        ext = self.extension(obj)
        patch = dict((ext.get("fields") or {}).get(fname) or {})
        changed = []
        for key, value in values.items():
            if key not in allowed:
                raise ValueError(f"package '{pkg_name}' does not let the org change '{key}' of '{obj}.{fname}'")
            package_value = base.get(key, history_default if key == "track_history" else prop_default(base["type"], key))
            if value is None or value == package_value:
                patch.pop(key, None)   # None: not customized, the package's value shows
            else:
                patch[key] = value
                changed.append(key)
        fields = ext.setdefault("fields", {})
        if patch:
            fields[fname] = patch
        else:
            fields.pop(fname, None)
        self._tidy_extension(obj)
        return changed

    def _org_fields(self, obj: str) -> dict:
        """The org layer's field documents of `obj` (its own object, or its extension)."""
        doc = self.org_doc("objects", obj) or {}
        return doc.setdefault("fields", {}) if doc else {}

    def release_name(self, obj: str, fname: str) -> None:
        """`fname` is about to name a field again: a `renamed_from: fname` left on another field
        by an earlier, already applied rename no longer means anything (and would fail validation)."""
        for fdoc in self._org_fields(obj).values():
            if fdoc.get("renamed_from") == fname:
                fdoc.pop("renamed_from")
        self._effective = None

    def rename_field(self, obj: str, old: str, new: str) -> None:
        """Rename an org-owned field: the field keeps its place and says `renamed_from: old`, so the
        change pipeline renames the column and keeps the data (instead of a drop and an add). The
        org layer's references follow: the name field, rule targets, layouts, related lists, list
        views, roll-ups, field permissions, and expressions and paths that reach the field — from
        its own object (`old`) or through lookups from any other (`account.old`, `owner.old`) —
        in formulas, defaults, rules, roll-up and list-view filters, columns, sorts and sharing
        criteria, rewritten token by token."""
        if self.field_origin(obj, old) == "package":
            raise ValueError(f"'{obj}.{old}' belongs to its package: its API name cannot change")
        fields = self._org_fields(obj)
        if old not in fields:
            raise KeyError(f"there is no field '{obj}.{old}' in the org layer")
        self.release_name(obj, new)
        before = self.effective_docs()[0].get("objects", {})   # lookup paths resolve by the old names
        renamed = {}
        for name, fdoc in fields.items():    # rebuilt in order: the field keeps its position
            if name == old:   # the active version's column is `old`, whatever it was called before
                fdoc, name = {**fdoc, "renamed_from": old}, new
            renamed[name] = fdoc
        fields.clear()
        fields.update(renamed)
        self._rename_field_references(obj, old, new, before)

    @staticmethod
    def _path_reaches(objects: dict, base: str, target: str):
        """A `reaches(path)` for expressions over `base`: does the lookup path end on `target`?"""
        def lookup_target(obj: str, fname: str) -> str | None:
            if fname in USER_LINKS:
                return "user"
            fdoc = ((objects.get(obj) or ({},))[0].get("fields") or {}).get(fname) or {}
            return fdoc.get("to") if fdoc.get("type") in ("lookup", "master_detail") else None

        def reaches(path: tuple[str, ...]) -> bool:
            current = base
            for step in path:
                current = lookup_target(current, step)
                if current is None:
                    return False
            return current == target
        return reaches

    def _rename_field_references(self, obj: str, old: str, new: str, objects: dict) -> None:
        def rewrite(doc: dict, key: str, base: str | None) -> None:
            if isinstance(doc.get(key), str) and base:
                doc[key] = rename_field_in(doc[key], old, new, self._path_reaches(objects, base, obj))

        def paths(values: list, base: str | None) -> list:
            reaches = self._path_reaches(objects, base or "", obj)
            return [rename_field_in_path(p, old, new, reaches) if isinstance(p, str) else p for p in values]

        for base, item in self.items("objects").items():   # the org's objects and extensions
            doc = item["doc"]
            if base == obj and doc.get("name_field") == old:
                doc["name_field"] = new
            for fdoc in (doc.get("fields") or {}).values():
                rewrite(fdoc, "expression", base)
                rewrite(fdoc, "default_expression", base)
                if fdoc.get("type") == "rollup":             # a filter over the summarized child object
                    rewrite(fdoc, "filter", fdoc.get("object"))
                    if fdoc.get("object") == obj:
                        for key in ("relationship", "field"):
                            if fdoc.get(key) == old:
                                fdoc[key] = new
            for rule in doc.get("validation_rules") or ():
                rewrite(rule, "condition", base)
                if base == obj and rule.get("field") == old:
                    rule["field"] = new
        for item in self.items("sharing_rules").values():
            rewrite(item["doc"], "criteria", item["doc"].get("object"))
        for item in self.items("layouts").values():
            doc = item["doc"]
            if self._layout_object(doc) == obj:
                for section in [*(doc.get("sections") or ()), *(doc.get("add_sections") or ())]:
                    section["fields"] = [new if f == old else f for f in section.get("fields") or ()]
                if doc.get("hide_fields"):
                    doc["hide_fields"] = [new if f == old else f for f in doc["hide_fields"]]
                for add in doc.get("add_fields") or ():
                    for key in ("field", "after"):
                        if add.get(key) == old:
                            add[key] = new
            for rl in [*(doc.get("related_lists") or ()), *(doc.get("add_related_lists") or ())]:
                if rl.get("object") == obj and rl.get("field") == old:
                    rl["field"] = new
                if rl.get("columns"):
                    rl["columns"] = paths(rl["columns"], rl.get("object"))
        for item in self.items("list_views").values():
            doc = item["doc"]
            rewrite(doc, "filter", doc.get("object"))
            for key in ("columns", "sort"):
                if doc.get(key):
                    doc[key] = paths(doc[key], doc.get("object"))
        for dirname in ("profiles", "permission_sets"):
            for item in self.items(dirname).values():
                rights = (item["doc"].get("fields") or {}).get(obj)
                if rights and old in rights:
                    rights[new] = rights.pop(old)
        self._effective = None

    def remove_field(self, obj: str, fname: str) -> None:
        """Remove an org-owned field and the org layer's references to it (layouts, list views,
        field permissions). Formulas, rules and filters that use it are left for validation to
        report: silently rewriting an expression would change its meaning."""
        if self.is_package_object(obj):
            if self.field_origin(obj, fname) == "package":
                raise ValueError(f"'{obj}.{fname}' belongs to its package and cannot be removed")
            ext = self.extension(obj)
            (ext.get("fields") or {}).pop(fname, None)
            self._tidy_extension(obj)
        else:
            doc = self.org_doc("objects", obj)
            doc["fields"].pop(fname, None)
            if doc.get("name_field") == fname:
                doc.pop("name_field")
        self._drop_field_references(obj, fname)

    def _layout_object(self, doc: dict) -> str | None:
        """The object of an org layout — or of the package layout an org patch changes."""
        if "patches" in doc:
            shipped = self.package_doc("layouts", doc["patches"])
            return shipped[1].get("object") if shipped else None
        return doc.get("object")

    def _drop_field_references(self, obj: str, fname: str) -> None:
        for name, item in list(self.items("layouts").items()):
            doc = item["doc"]
            if self._layout_object(doc) != obj:
                continue
            if "patches" in doc:
                self._drop_from_patch(name, doc, fname)
                continue
            for section in doc.get("sections") or ():
                section["fields"] = [f for f in section.get("fields") or () if f != fname]
            doc["sections"] = [s for s in doc.get("sections") or () if s["fields"]]
        for item in self.items("list_views").values():
            doc = item["doc"]
            if doc.get("object") != obj:
                continue
            doc["columns"] = [c for c in doc.get("columns") or () if c.split(".")[0] != fname]
            if doc.get("sort"):
                doc["sort"] = [k for k in doc["sort"] if k.lstrip("-").split(".")[0] != fname]
                if not doc["sort"]:
                    doc.pop("sort")
        for dirname in ("profiles", "permission_sets"):
            for item in self.items(dirname).values():
                rights = (item["doc"].get("fields") or {}).get(obj)
                if rights and fname in rights:
                    rights.pop(fname)
                    if not rights:
                        item["doc"]["fields"].pop(obj)
        self._effective = None

    def _drop_from_patch(self, name: str, doc: dict, fname: str) -> None:
        """A removed field leaves a layout patch's operations; a patch left with none goes."""
        for section in doc.get("add_sections") or ():
            section["fields"] = [f for f in section["fields"] if f != fname]
        for key, keep in (("add_sections", lambda s: s["fields"]), ("add_fields", lambda a: a["field"] != fname),
                          ("hide_fields", lambda f: f != fname)):
            if key in doc:
                doc[key] = [item for item in doc[key] if keep(item)]
                if not doc[key]:
                    doc.pop(key)
        for add in doc.get("add_fields") or ():
            if add.get("after") == fname:
                add.pop("after")
        if set(doc) == {"patches"}:
            self.delete("layouts", name)

    def remove_object(self, obj: str) -> None:
        """Delete one of the org's own objects and the org layer's components about it."""
        if self.is_package_object(obj):
            raise ValueError(f"'{obj}' belongs to a package and cannot be deleted")
        self.delete("objects", obj)
        for dirname in ("layouts", "list_views", "sharing_rules"):
            for name in [n for n, it in self.items(dirname).items() if it["doc"].get("object") == obj]:
                self.delete(dirname, name)
        for item in self.items("apps").values():
            tabs = [t for t in item["doc"].get("tabs") or () if t != obj]
            item["doc"]["tabs"] = tabs
        for dirname in ("profiles", "permission_sets"):
            for item in self.items(dirname).values():
                for key in ("objects", "fields"):
                    (item["doc"].get(key) or {}).pop(obj, None)
        self._effective = None

    def set_object_props(self, obj: str, props: dict) -> None:
        """Object-level properties (label, sharing_model...). On a package object only the
        customizable ones, written to the extension when they differ from the package's."""
        if self.is_package_object(obj):
            allowed = self.customizable(obj)["object"]
            pkg_doc = self.package_doc("objects", obj)[1]
            ext = self.extension(obj)
            for key, value in props.items():
                # activities may always be turned on (meta/merge.py): a timeline added to a package's object
                if key not in allowed and key != "activities":
                    raise ValueError(f"the package does not let the org change '{key}' of object '{obj}'")
                if value is None or value == pkg_doc.get(key, OBJECT_DEFAULTS.get(key)):
                    ext.pop(key, None)
                else:
                    ext[key] = value
            self._tidy_extension(obj)
        else:
            doc = self.org_doc("objects", obj)
            for key, value in props.items():
                if value is None or value == "" or (key in OBJECT_DEFAULTS and key not in doc
                                                    and value == OBJECT_DEFAULTS[key]):
                    doc.pop(key, None)
                else:
                    doc[key] = value
        self._effective = None

