"""What installing a package over an installed one may do (issue 19 §2, "upgrade semantics").

A package version is a release: partners' subscribers rely on it meaning one thing. So
  - a version upgrades only from an earlier one: a downgrade is refused, naming both versions (an
    org that wants the old metadata back rolls back its own version, `tessera rollback N`, which
    is the pipeline's business, not the package's);
  - the same version again installs only when its content is the same (then there is nothing to
    change): one version number with two contents would make "sales 1.2.0" mean two things in
    deploy locks and version history.

`upgraded_snapshot` is what `ChangeService.snapshot_with` returns: the review pages and the
pipeline see the same snapshot, refusals included.
"""
from __future__ import annotations

import copy
import json

from ..meta.deprecation import FIELDS
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from ..meta.errors import MetaError, MetadataInvalid
from ..meta.model import default_label

# What a package source carries besides what its author shipped: the pipeline's bookkeeping,
# left out of the package's identity.
BOOKKEEPING = ("deprecated",)


class UpgradeRefused(MetadataInvalid):
    """The packages given cannot replace the installed ones; `errors` says why, per package."""


def package_hash(source: dict) -> str:
    """sha256 of what the author shipped: the manifest and components, without the files they were
    read from (an archive and a directory of the same package are the same package)."""
    from .service import content_hash
    shipped = {k: v for k, v in source.items() if k not in BOOKKEEPING}
    return content_hash(json.loads(json.dumps(shipped, default=str)))   # YAML dates hash as the snapshot stores them


def semver_key(version: str) -> tuple:
    """Semantic versioning's precedence (semver.org §11): MAJOR.MINOR.PATCH, a pre-release before
    its release, pre-release identifiers numeric-before-text, build metadata ignored. Not PEP 440:
    `1.0.0-foo` is a valid package version that PEP 440 cannot parse."""
    core, _, pre = version.split("+", 1)[0].partition("-")
    release = tuple(int(n) for n in core.split("."))
    if not pre:
        return (release, (1,))
    return (release, (0, *((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))))


def ancestry_errors(installed: dict, new: dict) -> list[MetaError]:
    """Why `new` may not replace `installed` (the same package name): [] when it may."""
    name = new["manifest"]["name"]
    was, now = str(installed["manifest"]["version"]), str(new["manifest"]["version"])
    where = f"package {name}"
    if semver_key(now) < semver_key(was):
        return [MetaError(where, "version", f"{name} {was} is installed: {now} is older and a package is never "
                                            f"downgraded ({name} {was} → {now} refused); to go back, roll back "
                                            "the org's metadata version (tessera versions, tessera rollback N)")]
    if semver_key(now) == semver_key(was) and package_hash(installed) != package_hash(new):
        return [MetaError(where, "version", f"{name} {now} is installed with other content (content "
                                            f"{package_hash(installed)[:12]}, this one {package_hash(new)[:12]}): "
                                            f"a changed package needs a new version number")]
    return []


def _fields(item: dict | None) -> dict:
    return ((item or {}).get("doc") or {}).get("fields") or {}


def deprecated_after(installed: dict, new: dict) -> dict:
    """The `deprecated` set of `new` replacing `installed` (meta/deprecation.py): what was already
    deprecated, plus what `installed` shipped and `new` does not (a declared rename is not a
    removal), less what `new` ships again."""
    since = str(new["manifest"]["version"])
    kept = copy.deepcopy(installed.get("deprecated") or {})
    old_comps, new_comps = installed["components"], new["components"]
    new_objects = new_comps.get("objects") or {}
    renamed = {item["doc"].get("renamed_from"): name for name, item in new_objects.items()
               if item["doc"].get("renamed_from")}
    for folder, items in old_comps.items():
        for name, item in items.items():
            if name in (new_comps.get(folder) or {}) or (folder == "objects" and name in renamed):
                continue
            if folder == "objects" and "extends" in item["doc"]:   # another package's object: its fields
                for fname, fdoc in _fields(item).items():
                    kept.setdefault(FIELDS, {}).setdefault(name, {})[fname] = {"doc": fdoc, "since": since}
                continue
            kept.setdefault(folder, {})[name] = {**copy.deepcopy(item), "since": since}
    for name, item in (old_comps.get("objects") or {}).items():
        now = new_objects.get(renamed.get(name, name))
        if now is None:
            continue
        shipped = _fields(now)
        moved = {fdoc.get("renamed_from") for fdoc in shipped.values()}
        for fname, fdoc in _fields(item).items():
            if fname not in shipped and fname not in moved:
                target = renamed.get(name, name)
                kept.setdefault(FIELDS, {}).setdefault(target, {})[fname] = {"doc": fdoc, "since": since}
    for folder, items in new_comps.items():        # shipped again: alive again
        for name in items:
            (kept.get(folder) or {}).pop(name, None)
    for name, item in new_objects.items():
        for fname in _fields(item):
            (kept.get(FIELDS, {}).get(item["doc"].get("extends", name)) or {}).pop(fname, None)
    for obj in list(kept.get(FIELDS, {})):
        if not kept[FIELDS][obj]:
            del kept[FIELDS][obj]
    return {folder: items for folder, items in kept.items() if items}


def _shown(name: str, doc: dict) -> tuple:
    """What people see of a component: its type (fields) and label — the same under another API
    name means the same thing renamed."""
    return (doc.get("type"), doc.get("label") or default_label(name))


def undeclared_renames(installed: dict, new: dict) -> list[MetaError]:
    """API names are immutable once released: an object or field that `new` no longer ships while
    it ships one under another name with the same label (and type) is a rename, refused unless
    declared with `renamed_from` — integrations and formulas use the API name. An author who
    means a new component gives it another label; the old one is then deprecated."""
    name = new["manifest"]["name"]
    old_objects = installed["components"].get("objects") or {}
    new_objects = new["components"].get("objects") or {}
    declared = {item["doc"].get("renamed_from") for item in new_objects.values()}
    errors = []

    def refuse(source, path, what, old, new_name):
        errors.append(MetaError(source, path, f"{what} '{old}' of {name} {installed['manifest']['version']} is "
                                              f"shipped as '{new_name}': API names are immutable, declare the rename "
                                              f"with 'renamed_from: {old.rpartition('.')[2]}' (or give '{new_name}' "
                                              "another label)"))

    gone = {o: item for o, item in old_objects.items() if o not in new_objects and o not in declared
            and "extends" not in item["doc"]}
    for o, item in gone.items():
        for n, now in new_objects.items():
            if n not in old_objects and "extends" not in now["doc"] and _shown(o, item["doc"]) == _shown(n, now["doc"]):
                refuse(now["source"], "name", "object", o, n)
    for o, item in old_objects.items():
        now = new_objects.get(o) or next((x for x in new_objects.values() if x["doc"].get("renamed_from") == o), None)
        if now is None:
            continue
        before, after = _fields(item), _fields(now)
        moved = {fdoc.get("renamed_from") for fdoc in after.values()}
        for fname, fdoc in before.items():
            if fname in after or fname in moved:
                continue
            for nname, ndoc in after.items():
                if nname not in before and not ndoc.get("renamed_from") and _shown(fname, fdoc) == _shown(nname, ndoc):
                    refuse(now["source"], f"fields.{nname}", "field", f"{o}.{fname}", nname)
    return errors


def dependency_errors(packages: dict[str, dict], given: set[str]) -> list[MetaError]:
    """Every dependency of the packages to be installed must be met by the packages installed or
    given with them (installed together, as one version, in dependency order: meta/merge.py
    `dependency_order`); each unmet one is named with the range that would do."""
    errors = []
    for name in sorted(packages):
        manifest = packages[name]["manifest"]
        for dep, spec in sorted((manifest.get("dependencies") or {}).items()):
            who = f"{name} {manifest['version']} requires {dep} {spec}"
            found = packages.get(dep)
            if found is None:
                errors.append(MetaError(f"package {name}", f"dependencies.{dep}",
                                        f"{who}, which is neither installed nor given: install a version of {dep} "
                                        f"matching {spec} with it (tessera install {dep}-VERSION.tpkg "
                                        f"{name}-{manifest['version']}.tpkg)"))
                continue
            version = str(found["manifest"]["version"])
            try:
                ok = Version(version) in SpecifierSet(str(spec), prereleases=True)
            except (InvalidSpecifier, InvalidVersion):
                continue     # meta/merge.py names a range or version it cannot read
            if not ok:
                how = "was given" if dep in given else "is installed"
                errors.append(MetaError(f"package {name}", f"dependencies.{dep}",
                                        f"{who}, but {dep} {version} {how}: a version of {dep} matching {spec} "
                                        "would do"))
    return errors


def upgraded_snapshot(current: dict | None, sources: list[dict], empty_org: dict, *, purge: bool = False) -> dict:
    """The snapshot with `sources` installed over `current` (same-name packages replaced), or
    UpgradeRefused naming every package that may not be. `purge`: what an upgraded package no
    longer ships is not kept deprecated but dropped with it (Salesforce's `--upgrade-type
    Delete`; destructive steps, which the pipeline makes the caller consent to)."""
    snap = current or {"packages": [], "org": empty_org}
    by_name = {p["manifest"]["name"]: p for p in snap.get("packages") or []}
    errors: list[MetaError] = []
    for src in sources:
        name = src["manifest"]["name"]
        installed = by_name.get(name)
        if installed is not None:
            problems = ancestry_errors(installed, src) or undeclared_renames(installed, src)
            if problems:
                errors += problems
                continue
            if semver_key(str(installed["manifest"]["version"])) == semver_key(str(src["manifest"]["version"])):
                continue      # the very same release: nothing to change (its bookkeeping stays)
            src = {**src, "deprecated": {} if purge else deprecated_after(installed, src)}
            if not src["deprecated"]:
                del src["deprecated"]
        by_name[name] = src
    errors += dependency_errors(by_name, {s["manifest"]["name"] for s in sources})
    if errors:
        raise UpgradeRefused(errors)
    return {"packages": [by_name[n] for n in sorted(by_name)], "org": snap.get("org") or empty_org}
