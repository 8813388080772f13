"""Where a deploy's metadata comes from, and the org layer it makes active in the target.

A source is another org's database (its active org layer and package versions are read, nothing
is written there) or a directory `tessera export` wrote. A deploy MERGES the source's components
into the target's org layer — components only the target has are kept — and deletes exactly the
components it is told to (`objects/invoice`, `layouts/account_detail`: folder and name, as an
export lays them out), the way Salesforce deploys carry an explicit destructiveChanges list.
"""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass

from sqlalchemy import inspect, select
from sqlalchemy.engine import make_url

from ..meta.source import COMPONENT_DIRS, empty_org, load_org, read_lock
from ..storage.engine import begin_read, make_engine
from ..storage.platform_tables import versions


class DeployError(Exception):
    """A deploy that cannot go on: the message says why; nothing was changed."""


@dataclass
class DeploySource:
    description: str            # shown in the history: a URL without its password, or a directory
    org: dict                   # the source's org layer
    lock: dict[str, str] | None  # package versions the layer was made against


def read_source(source: str) -> DeploySource:
    if "://" in source:
        return _from_database(source)
    if not os.path.isdir(source):
        raise DeployError(f"the source {source!r} is neither a database URL nor a directory written by `tessera export`")
    return DeploySource(os.path.abspath(source), load_org(source), read_lock(source))


def _from_database(url: str) -> DeploySource:
    try:
        engine = make_engine(url)
    except Exception as exc:       # a malformed URL or an unknown driver
        raise DeployError(f"cannot open the source database {url}: {exc}") from None
    shown = make_url(str(engine.url)).render_as_string(hide_password=True)
    path = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
    if path is not None and not os.path.isfile(path):   # opening it would create an empty one
        engine.dispose()
        raise DeployError(f"the source database {shown} does not exist")
    try:
        with begin_read(engine) as conn:
            if not inspect(conn).has_table(versions.name):
                raise DeployError(f"the source database {shown} has no metadata (not a Tessera org, or never initialized)")
            row = conn.execute(select(versions.c.snapshot).where(versions.c.active == True)).first()  # noqa: E712
    except DeployError:
        raise
    except Exception as exc:
        raise DeployError(f"cannot read metadata from the source database {shown}: "
                          f"{exc.__class__.__name__}: {str(exc).splitlines()[0]}") from None
    finally:
        engine.dispose()
    if row is None:
        raise DeployError(f"the source database {shown} has no metadata (it was never initialized)")
    snapshot = row.snapshot
    lock = {p["manifest"]["name"]: str(p["manifest"]["version"]) for p in snapshot.get("packages") or []}
    return DeploySource(shown, snapshot.get("org") or empty_org(), lock)


def merged_org(target_org: dict | None, source_org: dict, deletes: list[str]) -> dict:
    """The target's org layer with the source's components laid over it and `deletes` removed."""
    merged = copy.deepcopy(target_org or empty_org())
    components = merged.setdefault("components", {})
    for folder in COMPONENT_DIRS:
        components.setdefault(folder, {})
    for folder, items in (source_org.get("components") or {}).items():
        components.setdefault(folder, {}).update(copy.deepcopy(items or {}))
    problems = []
    for item in deletes:
        folder, _, name = item.partition("/")
        if folder not in COMPONENT_DIRS or not name:
            problems.append(f"{item!r} is not a component: name it folder/name, e.g. objects/invoice "
                            f"(folders: {', '.join(COMPONENT_DIRS)})")
        elif name in (source_org.get("components") or {}).get(folder, {}):
            problems.append(f"{item} is both deployed and deleted by this deploy: the source has it")
        elif name not in components[folder]:
            problems.append(f"{item} is not in the target's org layer: there is nothing to delete")
        else:
            del components[folder][name]
    if problems:
        raise DeployError("; ".join(problems))
    return merged
