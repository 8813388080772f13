"""An image field and an IMAGE() formula made in the setup field editor (issue 14): the type is
offered under "Other"; the change pipeline adds the column (a reference to the core file object
taking only raster images); a formula may return a picture, and IMAGE's type errors come back next
to the expression."""
from __future__ import annotations

import io
import uuid

from tessera.security.actor import SYSTEM

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")


def test_an_image_field_and_a_picture_formula_from_the_field_editor(admin, services):
    admin.change("/setup/objects/new", {"label": "Store", "name_type": "text", "sharing_model": "private"})
    chooser = admin.get("/setup/objects/store/fields/new").get_data(as_text=True)
    assert "Image" in chooser and "type=image" in chooser
    _review, done = admin.change("/setup/objects/store/fields/new?type=image", {"label": "Shop Front"})
    assert done.status_code == 302, done.get_data(as_text=True)[:2000]
    field = services.runtimes.current().metadata.objects["store"].fields["shop_front"]
    assert (field.type, field.target) == ("image", "file")
    assert list(field.options["accept"]) == ["image/png", "image/jpeg", "image/gif", "image/webp"]
    # a formula returning a picture of it
    r = admin.post("/setup/objects/store/fields/new?type=formula",
                   {"label": "Front Picture", "returns": "image", "expression": "IMAGE(shop_front)"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and 'data-error-for="expression"' in html
    assert "function IMAGE takes 2 or 4 arguments, got 1" in html
    admin.change("/setup/objects/store/fields/new?type=formula",
                 {"label": "Front Picture", "returns": "image", "expression": "IMAGE(shop_front, name, 120)"})
    admin_user = services.identity.find_user("admin")
    actor = services.identity.actor_for_user_id(uuid.UUID(admin_user["id"]))
    front = services.files.upload(actor, io.BytesIO(PNG), "front.png", for_field=("store", "shop_front"))
    store = services.records.create(SYSTEM, "store", {"name": "Rive Gauche", "shop_front": front["id"],
                                                      "owner": admin_user["id"]})
    assert store["shop_front"] == front["id"]
    assert store["front_picture"] == {"url": f"/app/_files/{front['id']}/content", "alt": "Rive Gauche",
                                      "height": 120, "width": None}
