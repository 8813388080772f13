"""Image fields and IMAGE() formulas through the REST API (issue 14): an image field takes an
uploaded raster image (PNG, JPEG, GIF, WebP — sniffed, never SVG); anything else is refused naming
the field and nothing is stored; an IMAGE() formula returns {url, alt, height, width}; OpenAPI
describes both; a picture cannot be sorted on or compared in a filter; metadata checks."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from tessera.meta.source import load_package

IMAGESPKG = Path(__file__).resolve().parents[1] / "fixtures" / "imagespkg"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b'<script>alert(1)</script><rect width="10" height="10"/></svg>')
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def upload(client, name, content, ctype=None, **form):
    data = dict(form)
    data["file"] = [(io.BytesIO(content), name, *([ctype] if ctype else []))]
    return client.post("/api/v1/files", data=data, content_type="multipart/form-data")


@pytest.fixture
def images_org(services):
    services.changes.install_packages([load_package(IMAGESPKG)], author="test", message="images")
    return services


def file_count(services) -> int:
    from sqlalchemy import func, select
    with services.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(services.runtimes.current().tables["file"])).scalar()


def test_an_image_field_takes_an_uploaded_image(api, images_org):
    r = upload(api, "shoe.png", PNG)
    assert r.status_code == 201, r.get_json()
    png = r.get_json()
    r = api.post("/api/v1/records/gadget", json={"name": "Shoe", "photo": png["id"]})
    assert r.status_code == 201, r.get_json()
    gadget = r.get_json()
    assert gadget["photo"] == png["id"]
    assert gadget["picture"] == {"url": f"/app/_files/{png['id']}/content", "alt": "Shoe", "height": 80, "width": 80}
    got = api.get(f"/api/v1/files/{png['id']}/content")
    assert got.status_code == 200 and got.headers["Content-Type"] == "image/png"
    assert got.headers["Content-Disposition"].startswith("inline")
    # a GIF is an image too; uploading for the field checks it at once
    r = upload(api, "spark.gif", GIF, field="gadget.photo")
    assert r.status_code == 201 and r.get_json()["content_type"] == "image/gif", r.get_json()
    r = api.patch(f"/api/v1/records/gadget/{gadget['id']}", json={"photo": r.get_json()["id"]})
    assert r.status_code == 200, r.get_json()
    # replacing the picture lets the old file go (nothing else uses it)
    assert api.get(f"/api/v1/files/{png['id']}/content").status_code == 404


@pytest.mark.parametrize("name, content, ctype", [
    ("photo.png", HTML, "image/png"),   # an HTML page claiming to be a PNG
    ("photo.png", HTML, None),          # claiming by its name only
    ("logo.svg", SVG, "image/svg+xml"),  # SVG can carry script: never an image here
])
def test_a_non_image_is_refused_for_the_field_and_nothing_is_stored(api, images_org, name, content, ctype):
    before = file_count(images_org)
    r = upload(api, name, content, ctype, field="gadget.photo")
    assert r.status_code == 415, r.get_json()
    assert r.get_json()["error"]["code"] and "file" in r.get_json()["error"]["fields"]
    assert file_count(images_org) == before


@pytest.mark.parametrize("name, content", [("logo.svg", SVG), ("page.html", HTML), ("terms.pdf", PDF)])
def test_setting_the_field_to_a_non_image_file_names_the_field(api, images_org, name, content):
    stored = upload(api, name, content).get_json()   # a file of its own (not for the field): kept as what it is
    assert not stored["content_type"].startswith(("image/png", "image/jpeg", "image/gif", "image/webp"))
    r = api.post("/api/v1/records/gadget", json={"name": "Bad", "photo": stored["id"]})
    assert r.status_code == 422, r.get_json()
    message = r.get_json()["error"]["fields"]["photo"][0]
    assert "image/png, image/jpeg, image/gif, image/webp" in message and stored["content_type"] in message
    r = api.post("/api/v1/records/gadget/bulk", json=[{"name": "B1", "photo": stored["id"]}])
    assert r.status_code == 422 and "photo" in json.dumps(r.get_json())
    assert api.get("/api/v1/records/gadget").get_json()["records"] == []


def test_accept_narrows_the_image_types(api, images_org):
    gif = upload(api, "spark.gif", GIF).get_json()
    r = api.post("/api/v1/records/gadget", json={"name": "Logo", "logo": gif["id"]})
    assert r.status_code == 422 and "takes image/png; this file is image/gif" in r.get_json()["error"]["fields"]["logo"][0]
    png = upload(api, "logo.png", PNG, field="gadget.logo")
    assert png.status_code == 201
    assert api.post("/api/v1/records/gadget", json={"name": "Logo", "logo": png.get_json()["id"]}).status_code == 201


def test_image_formulas_return_the_picture_and_blank_without_a_url(api, images_org):
    r = api.post("/api/v1/records/gadget", json={"name": "Hat", "badge_url": "https://cdn.example.com/hat.png"})
    assert r.status_code == 201, r.get_json()
    hat = r.get_json()
    assert hat["badge"] == {"url": "https://cdn.example.com/hat.png", "alt": "Hat badge", "height": 24, "width": None}
    assert hat["picture"] is None   # no photo: no picture
    listed = api.get("/api/v1/records/gadget?fields=name,badge,picture").get_json()["records"]
    assert listed[0]["badge"] == hat["badge"] and listed[0]["picture"] is None
    # blank tests are fine; a picture has no order and is never compared
    r = api.get("/api/v1/records/gadget", query_string={"filter": "ISBLANK(picture)"})
    assert r.status_code == 200 and len(r.get_json()["records"]) == 1
    r = api.get("/api/v1/records/gadget", query_string={"sort": "badge"})
    assert r.status_code == 400 and "a picture has no order" in r.get_json()["error"]["message"]
    r = api.get("/api/v1/records/gadget", query_string={"filter": "badge == 'x'"})
    assert r.status_code == 400 and "cannot compare pictures" in r.get_json()["error"]["message"]
    # nor grouped or counted as distinct values (PostgreSQL's json has no equality)
    r = api.get("/api/v1/records/gadget/aggregate", query_string={"group_by": "badge"})
    assert r.status_code == 400 and "cannot group by 'badge'" in r.get_json()["error"]["message"]
    r = api.get("/api/v1/records/gadget/aggregate", query_string={"metrics": "count_distinct:badge"})
    assert r.status_code == 400 and "cannot count distinct values" in r.get_json()["error"]["message"]
    r = api.get("/api/v1/records/gadget/aggregate", query_string={"metrics": "count_not_blank:badge"})
    assert r.status_code == 200, r.get_json()


def test_the_openapi_describes_image_fields_and_pictures(api, images_org):
    doc = api.get("/api/v1/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    photo = schemas["GadgetInput"]["properties"]["photo"]["anyOf"][0]   # or "": no value
    assert photo["format"] == "uuid" and photo["x-tessera-image"] is True
    logo = schemas["Gadget"]["properties"]["logo"]   # no help text: the description says what it takes
    assert logo["format"] == "uuid" and "uploaded image" in logo["description"] and "image/png" in logo["description"]
    out = schemas["Gadget"]["properties"]
    assert out["picture"]["readOnly"] is True and out["picture"]["x-tessera-image"] is True
    assert set(out["picture"]["properties"]) == {"url", "alt", "height", "width"}
    assert "picture" not in schemas["GadgetInput"]["properties"]


@pytest.mark.parametrize("fields, path, message", [
    ({"pic": {"type": "image", "accept": ["image/svg+xml"]}}, "accept", "is not an image type an image field takes"),
    ({"pic": {"type": "image", "to": "company"}}, "pic", "to"),
    ({"name": {"type": "text"}, "pic": {"type": "formula", "returns": "image", "expression": "IMAGE(name)"}},
     "expression", "function IMAGE takes 2 or 4 arguments, got 1"),
    ({"name": {"type": "text"}, "pic": {"type": "formula", "returns": "text", "expression": "IMAGE(name, name)"}},
     "expression", "must give a text, but gives an image"),
    ({"amount": {"type": "number"}, "pic": {"type": "formula", "returns": "image", "expression": "IMAGE(amount, 'x')"}},
     "expression", "argument 1 must be text (the url) or a file or image field, got number"),
])
def test_bad_image_metadata_is_refused(services, tmp_path, fields, path, message):
    import yaml
    from tessera.meta.errors import MetadataInvalid
    (tmp_path / "objects").mkdir()
    (tmp_path / "package.yaml").write_text(yaml.safe_dump({"name": "badimages", "label": "Bad", "version": "1.0.0",
                                                           "dependencies": {"core": ">=1.0,<2"}}))
    doc = {"name": "gallery", "label": "Gallery", "fields": {"name": {"type": "text"}, **fields}}
    (tmp_path / "objects" / "gallery.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(MetadataInvalid) as caught:
        services.changes.install_packages([load_package(tmp_path)], author="test", message="bad")
    text = str(caught.value) + " ".join(f"{e.path}: {e.message}" for e in caught.value.errors)
    assert path in text and message in text, text
