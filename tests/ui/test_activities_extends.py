"""`activities: true` through `extends:` (issue 16 §1): the org, or a package depending on the
object's package, turns activities on for a package object through the change pipeline — tasks and
notes may then relate to its records and its record page shows the timeline. A package may not turn
them off; a package that does not let the org change `activities` is obeyed. SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
import yaml

from tessera.meta.errors import MetadataInvalid
from tessera.meta.source import load_package
from tessera.security.actor import SYSTEM


def _org_extension(doc):
    return {"manifest": None, "components": {"objects": {"memo": {"source": "objects/memo.yaml", "doc": doc}}}}


def _addon(tmp_path, doc, name="memo_addon"):
    root = tmp_path / name
    (root / "objects").mkdir(parents=True)
    (root / "package.yaml").write_text(yaml.safe_dump({
        "name": name, "label": "Memo addon", "version": "1.0.0", "dependencies": {"testpkg": ">=1.0"}}))
    (root / "objects" / f"{doc['extends']}.yaml").write_text(yaml.safe_dump(doc))
    return load_package(root)


def _relate_task(api, memo_id):
    return api.post("/api/v1/records/task", json={"subject": "Follow up", "status": "Completed",
                                                   "related_to": {"object": "memo", "id": memo_id}})


def _shows_timeline(admin, memo_id) -> bool:
    return 'id="timeline"' in admin.html(f"/app/testapp/memo/{memo_id}")


def test_the_org_turns_activities_on_for_a_package_object(services, api, admin):
    memo = services.records.create(SYSTEM, "memo", {"name": "Quarterly plan"})
    refused = _relate_task(api, memo["id"])
    assert refused.status_code == 422 and "cannot refer to a memo record" in refused.get_json()["error"]["fields"]["related_to"][0]
    assert not _shows_timeline(admin, memo["id"])
    result = services.changes.apply_org(_org_extension({"extends": "memo", "activities": True}),
                                        author="test", message="memos take activities")
    assert result.version is not None
    task = _relate_task(api, memo["id"])
    assert task.status_code == 201, task.get_json()
    entries = api.get(f"/api/v1/records/memo/{memo['id']}/timeline?kinds=task").get_json()["entries"]
    assert [e["title"] for e in entries] == ["Follow up"]
    assert _shows_timeline(admin, memo["id"])


def test_a_package_turns_activities_on_for_an_object_of_its_dependency(services, api, admin, tmp_path):
    memo = services.records.create(SYSTEM, "memo", {"name": "Pricing memo"})
    services.changes.install_packages([_addon(tmp_path, {"extends": "memo", "activities": True})],
                                      author="test")
    assert services.records.runtime().metadata.objects["memo"].activities is True
    assert _relate_task(api, memo["id"]).status_code == 201
    assert _shows_timeline(admin, memo["id"])


def test_a_package_may_not_turn_activities_off(services, api, tmp_path):
    with pytest.raises(MetadataInvalid) as info:
        services.changes.install_packages([_addon(tmp_path, {"extends": "deal", "activities": False}, "deal_addon")],
                                          author="test")
    assert any("a package may turn activities on for 'deal' (activities: true), not off" in str(e)
               for e in info.value.errors), info.value.errors
    assert services.records.runtime().metadata.objects["deal"].activities is True
    with pytest.raises(MetadataInvalid) as info:   # not a boolean: the schema says so
        services.changes.apply_org(_org_extension({"extends": "memo", "activities": "yes"}), author="test")
    assert any("activities" in str(e) for e in info.value.errors)
