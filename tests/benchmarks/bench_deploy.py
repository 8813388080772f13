"""16. A deploy of 200 components (issue 19: ≤ 10 s): `tessera deploy` from a sandbox database —
read the sandbox's org layer, merge it into the target's, plan, check data, apply as one version,
record the deploy — against `tessera apply` of the same org layer (the change pipeline alone),
each into a fresh copy of the same target, side by side.

The 200 components: 50 objects (6 fields each, one a lookup to the previous object), and for each
object a layout and a list view — 50 layouts, 50 list views — and
50 permission sets granting read on it.

    python tests/benchmarks/run.py --only deploy
"""
from __future__ import annotations

import copy
import time

from common import Result, isolated_database, open_org

TARGET_S = 10.0
OBJECTS = 50


def _layer() -> dict:
    objects, layouts, list_views, permission_sets = {}, {}, {}, {}
    for i in range(OBJECTS):
        name = f"dep_thing_{i:02d}"
        fields = {"name": {"type": "text", "required": True, "max_length": 80},
                  "code": {"type": "text", "max_length": 20},
                  "amount": {"type": "currency", "precision": 12, "scale": 2},
                  "due": {"type": "date"},
                  "stage": {"type": "picklist", "values": ["New", "Open", "Done"]}}
        if i:
            fields["previous"] = {"type": "lookup", "to": f"dep_thing_{i - 1:02d}", "on_delete": "set_null"}
        else:
            fields["notes"] = {"type": "textarea"}
        objects[name] = {"source": f"objects/{name}.yaml",
                         "doc": {"name": name, "label": f"Thing {i}", "plural_label": f"Things {i}", "fields": fields}}
        layouts[name] = {"source": f"layouts/{name}.yaml", "doc": {
            "name": name, "object": name, "label": f"Thing {i} Layout",
            "sections": [{"label": "Details", "columns": 2, "fields": ["name", "code", "amount", "due", "stage"]}]}}
        list_views[f"{name}_all"] = {"source": f"list_views/{name}_all.yaml", "doc": {
            "name": f"{name}_all", "object": name, "label": f"All Things {i}",
            "columns": ["name", "code", "amount", "stage"], "sort": ["name"]}}
        permission_sets[f"{name}_read"] = {"source": f"permission_sets/{name}_read.yaml", "doc": {
            "name": f"{name}_read", "label": f"Read Thing {i}",
            "objects": {name: ["read"]}}}
    return {"manifest": None, "components": {"objects": objects, "layouts": layouts, "list_views": list_views,
                                             "permission_sets": permission_sets}}


def run(url, args, log) -> list[Result]:
    from tessera.deploys import DeployService, read_source

    layer = _layer()
    db = "sqlite" if url is None or url.startswith("sqlite") else "postgresql"
    with isolated_database(url, "deploy_sandbox") as sandbox_url:
        sandbox = open_org(sandbox_url)
        try:
            sandbox.services.changes.apply_org(copy.deepcopy(layer), author="bench", message="the sandbox's work")
        finally:
            sandbox.services.engine.dispose()
        deploy_s, apply_s = [], []
        for round_ in range(args.deploy_rounds):
            for path in ("deploy", "apply") if round_ % 2 == 0 else ("apply", "deploy"):
                with isolated_database(url, f"deploy_target_{path}") as target_url:
                    target = open_org(target_url)
                    try:
                        t0 = time.perf_counter()
                        if path == "deploy":
                            outcome = DeployService(target.services.changes).deploy(
                                read_source(sandbox_url), author="bench", message="200 components")
                            assert outcome.status == "succeeded", outcome.status
                            deploy_s.append(time.perf_counter() - t0)
                        else:
                            target.services.changes.apply_org(copy.deepcopy(layer), author="bench", message="apply")
                            apply_s.append(time.perf_counter() - t0)
                    finally:
                        target.services.engine.dispose()
            log(f"  round {round_ + 1}: deploy {deploy_s[-1]:.2f} s, apply {apply_s[-1]:.2f} s")
    best_deploy, best_apply = min(deploy_s), min(apply_s)
    count = sum(len(v) for v in layer["components"].values())
    return [Result("16 deploy", db, f"deploy of {count} components: {best_deploy:.2f} s (apply of the same "
                   f"layer: {best_apply:.2f} s; deploy ÷ apply {best_deploy / best_apply:.2f}×)",
                   f"≤ {TARGET_S:.0f} s", best_deploy <= TARGET_S,
                   f"best of {len(deploy_s)} each, rounds alternating the order")]
