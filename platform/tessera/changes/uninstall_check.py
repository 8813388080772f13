"""What still uses the packages an uninstall would remove: each reference named, before any step.

Validating the snapshot without the packages would find these too, but as "invalid metadata",
and it stops at the first layer that fails to merge (an extension of a removed object hides a
lookup to it). An admin asked to uninstall needs the list of what to change first: the other
packages that depend on them, and every org-layer component that extends, points at, overrides or
is placed on one of their components.
"""
from __future__ import annotations

from ..meta.errors import MetaError, MetadataInvalid

# org components placed on an object (their `object` property)
_ON_AN_OBJECT = ("layouts", "list_views", "workflows", "sharing_rules", "email_templates", "approval_processes",
                "duplicate_rules", "conversions")
# security components that grant rights per object (their `objects` and `fields` maps)
_RIGHTS = ("profiles", "permission_sets")


class UninstallBlocked(MetadataInvalid):
    """The packages are still used: `errors` names each reference (file, path, what)."""

    def __init__(self, names: list[str], errors: list[MetaError]):
        self.packages = list(names)
        super().__init__(errors)


def references_to(snapshot: dict, names: list[str]) -> list[MetaError]:
    packages = snapshot.get("packages") or []
    removed = [p for p in packages if p["manifest"]["name"] in names]
    owned: dict[str, dict[str, str]] = {}            # dir -> component name -> owning package
    for pkg in removed:
        # its deprecated components too: an org extension of a deprecated object still uses it
        for dirname, items in [*(pkg.get("components") or {}).items(), *(pkg.get("deprecated") or {}).items()]:
            if dirname == "fields":
                continue
            for cname in items:
                owned.setdefault(dirname, {})[cname] = pkg["manifest"]["name"]
    objects = owned.get("objects", {})
    errors: list[MetaError] = []
    for pkg in packages:
        manifest = pkg["manifest"]
        if manifest["name"] in names:
            continue
        for dep in sorted(manifest.get("dependencies") or {}):
            if dep in names:
                errors.append(MetaError(f"package {manifest['name']}", f"dependencies.{dep}",
                                        f"depends on {dep}: uninstall {manifest['name']} first, or both together"))
    org = (snapshot.get("org") or {}).get("components") or {}
    for dirname, items in sorted(org.items()):
        for cname, item in sorted((items or {}).items()):
            doc, source = item.get("doc") or {}, item.get("source") or f"{dirname}/{cname}.yaml"
            errors += _component_references(dirname, cname, doc, source, owned, objects)
    return errors


def _component_references(dirname, cname, doc, source, owned, objects) -> list[MetaError]:
    found = []

    def ref(path, what):
        found.append(MetaError(source, path, what))

    if dirname == "objects" and doc.get("extends") in objects:
        ref("extends", f"extends {objects[doc['extends']]}'s object '{doc['extends']}'")
    elif dirname == "layouts" and doc.get("patches") in owned.get("layouts", {}):
        ref("patches", f"patches {owned['layouts'][doc['patches']]}'s layout '{doc['patches']}'")
    elif cname in owned.get(dirname, {}):
        ref("name", f"replaces {owned[dirname][cname]}'s {dirname[:-1].replace('_', ' ')} '{cname}'")
    if dirname == "objects":
        for fname, field in sorted((doc.get("fields") or {}).items()):
            if not isinstance(field, dict):
                continue
            if field.get("to") in objects:
                ref(f"fields.{fname}.to", f"a lookup to {objects[field['to']]}'s object '{field['to']}'")
            if field.get("type") == "rollup" and field.get("object") in objects:
                ref(f"fields.{fname}.object", f"a roll-up over {objects[field['object']]}'s object '{field['object']}'")
    if dirname in _ON_AN_OBJECT and doc.get("object") in objects:
        ref("object", f"is on {objects[doc['object']]}'s object '{doc['object']}'")
    if dirname == "apps":
        for i, tab in enumerate(doc.get("tabs") or ()):
            if tab in objects:
                ref(f"tabs.{i}", f"a tab of {objects[tab]}'s object '{tab}'")
    if dirname in _RIGHTS:
        for key in ("objects", "fields"):
            for obj in sorted(doc.get(key) or {}):
                if obj in objects:
                    ref(f"{key}.{obj}", f"grants rights on {objects[obj]}'s object '{obj}'")
    return found
