"""The field editor sets `external_id` on text fields (natural keys, issue 14 §1) and keeps it when the
field is edited again; other types do not offer it."""
from __future__ import annotations

from tessera.security.actor import SYSTEM


def test_external_id_set_in_the_field_editor_and_kept_on_edit(admin, services):
    admin.change("/setup/objects/new", {"label": "Invoice", "name_type": "text", "sharing_model": "private"})
    review, done = admin.change("/setup/objects/invoice/fields/new?type=text",
                                {"label": "Reference", "max_length": "30", "external_id": "1"})
    assert done.status_code == 302, done.get_data(as_text=True)[:2000]
    field = services.runtimes.current().metadata.objects["invoice"].fields["reference"]
    assert field.external_id and field.unique
    page = admin.get("/setup/objects/invoice/fields/reference/").get_data(as_text=True)
    assert 'id="external_id" name="external_id" value="1" checked' in page
    admin.change("/setup/objects/invoice/fields/reference/", {"label": "Ref", "max_length": "30", "external_id": "1"})
    assert services.runtimes.current().metadata.objects["invoice"].fields["reference"].external_id
    record, created = services.records.upsert(SYSTEM, "invoice", "reference", "R-1", {"name": "First"})
    assert created and record["reference"] == "R-1"
    # offered for text and email only (the editor shows a property for the types whose schema takes it)
    page = admin.get("/setup/objects/invoice/fields/new?type=integer").get_data(as_text=True)
    checkbox = page[:page.index('id="external_id"')]
    assert checkbox[checkbox.rindex("data-types="):].startswith('data-types="text email"')
