"""A file field added in the setup field editor (issue 16 §2): offered under "Other"; the change
pipeline adds its column (a reference to the core file object), and records take an uploaded file."""
from __future__ import annotations

import io

from tessera.security.actor import SYSTEM


def test_a_file_field_from_the_field_editor(admin, services):
    admin.change("/setup/objects/new", {"label": "Store", "name_type": "text", "sharing_model": "private"})
    assert "File" in admin.get("/setup/objects/store/fields/new").get_data(as_text=True)
    _review, done = admin.change("/setup/objects/store/fields/new?type=file", {"label": "Floor Plan"})
    assert done.status_code == 302, done.get_data(as_text=True)[:2000]
    field = services.runtimes.current().metadata.objects["store"].fields["floor_plan"]
    assert (field.type, field.target) == ("file", "file")
    admin_user = services.identity.find_user("admin")
    actor = services.identity.actor_for_user_id(__import__("uuid").UUID(admin_user["id"]))
    plan = services.files.upload(actor, io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "plan.pdf")
    store = services.records.create(SYSTEM, "store", {"name": "Rive Gauche", "floor_plan": plan["id"],
                                                      "owner": admin_user["id"]})
    assert store["floor_plan"] == plan["id"]
