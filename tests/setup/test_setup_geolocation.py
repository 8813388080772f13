"""A geolocation field added in the setup field editor (issue 14 §1): offered under "Other", with
its scale (decimals of each part) and no precision; bad scales are refused naming the input."""
from __future__ import annotations

from tessera.security.actor import SYSTEM


def test_a_geolocation_field_with_a_scale_from_the_field_editor(admin, services):
    admin.change("/setup/objects/new", {"label": "Store", "name_type": "text", "sharing_model": "private"})
    page = admin.get("/setup/objects/store/fields/new?type=geolocation").get_data(as_text=True)
    assert 'id="scale"' in page and 'placeholder="6"' in page
    refused = admin.post("/setup/objects/store/fields/new?type=geolocation", {"label": "Spot", "scale": "12"})
    assert "must be between 0 and 10" in refused.get_data(as_text=True)
    assert "spot" not in services.runtimes.current().metadata.objects["store"].fields
    _review, done = admin.change("/setup/objects/store/fields/new?type=geolocation", {"label": "Spot", "scale": "3"})
    assert done.status_code == 302, done.get_data(as_text=True)[:2000]
    field = services.runtimes.current().metadata.objects["store"].fields["spot"]
    assert (field.type, field.options["scale"]) == ("geolocation", 3)
    store = services.records.create(SYSTEM, "store", {"name": "Rive Gauche", "spot": "48.85341, 2.3488"})
    assert store["spot"] == {"latitude": 48.853, "longitude": 2.349}
