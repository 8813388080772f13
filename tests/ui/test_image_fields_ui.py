"""Image fields and IMAGE() formulas in /app (Flask test client, issue 14): the record page draws
the picture (an <img> with the field's label as alt, bounded in size), lists a thumbnail, forms an
upload with a preview; IMAGE() pictures escape their alt text and a url that is not http(s) or
/app/ (javascript:, data:, //host) draws nothing. The picture follows the record's access."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from markupsafe import escape

from tessera.meta.source import load_package
from tessera.security.actor import SYSTEM
from test_attachments_ui import HTML, PNG, multipart

IMAGESPKG = Path(__file__).resolve().parents[1] / "fixtures" / "imagespkg"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.fixture
def rep(login, services, users):
    services.changes.install_packages([load_package(IMAGESPKG)], author="test", message="images")
    services.records.create(SYSTEM, "permission_set_assignment", {"user": users["rep"]["id"],
                                                                  "permission_set": "ip_gadgets"})
    return login("rep")


def rep_actor(services, users):
    import uuid
    return services.identity.actor_for_user_id(uuid.UUID(users["rep"]["id"]))


def gadget(services, users, **values):
    photo = services.files.upload(rep_actor(services, users), io.BytesIO(PNG), "shoe.png", for_field=("gadget", "photo"))
    data = {"name": "Shoe", "photo": photo["id"], "owner": users["rep"]["id"], **values}
    return services.records.create(SYSTEM, "gadget", data), photo


def test_the_record_page_draws_the_picture(rep, services, users):
    record, photo = gadget(services, users, name='Shoe "<b>Air</b>"', badge_url="https://cdn.example.com/air.png")
    html = rep.html(f"/app/imageapp/gadget/{record['id']}")
    url = f"/app/_files/{photo['id']}/content"
    # the image field: its label as alt, a bounded box, linked to the full picture
    assert (f'<img src="{url}" alt="Gadget Photo" class="field-image" width="240" height="240" loading="lazy">'
            in html), html
    # IMAGE(photo, name, 80, 80): the same file; the record's name escaped in alt
    assert (f'<img src="{url}" alt="Shoe &#34;&lt;b&gt;Air&lt;/b&gt;&#34;" height="80" width="80" '
            'class="formula-image" loading="lazy">') in html
    assert '<b>Air</b>' not in html
    # IMAGE(badge_url, name + ' badge', 24): an https url
    assert '<img src="https://cdn.example.com/air.png" alt="Shoe &#34;&lt;b&gt;Air&lt;/b&gt;&#34; badge" height="24"' in html
    got = rep.get(url)
    assert got.status_code == 200 and got.data == PNG and got.headers["Content-Type"] == "image/png"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)",
                                 "data:image/png;base64,AAAA", "//evil.example/x.png", "/\\evil.example/x.png",
                                 "http://", "ftp://example.com/x.png", "/api/v1/records/user"])
def test_an_unsafe_image_url_draws_nothing(rep, services, users, url):
    record, _ = gadget(services, users, badge_url=url)
    html = rep.html(f"/app/imageapp/gadget/{record['id']}")
    assert "formula-image" in html   # the picture formula (the photo) is drawn…
    assert 'alt="Shoe badge"' not in html and f'src="{escape(url)}' not in html   # …the badge is not
    assert html.count("<img ") == html.count('class="field-image"') + html.count('class="formula-image"')


def test_the_list_shows_thumbnails(rep, services, users):
    record, photo = gadget(services, users, badge_url="/app/static/favicon.svg")
    html = rep.html("/app/imageapp/gadget?view=gadget_gallery")
    url = f"/app/_files/{photo['id']}/content"
    assert f'<img src="{url}" alt="Gadget Photo" class="field-image-thumb" width="40" height="40" loading="lazy">' in html
    assert '<img src="/app/static/favicon.svg" alt="Shoe badge" height="24" class="formula-image"' in html
    # a picture has no order: its column header is not a sort link
    assert "sort=photo" not in html and "sort=badge" not in html


def test_the_form_uploads_a_picture_with_a_preview(rep, services, users):
    form = rep.html("/app/imageapp/gadget/new")
    assert 'enctype="multipart/form-data"' in form
    assert re.search(r'<input class="form-control-file" type="file" id="f-photo" name="photo__upload" '
                     r'accept="image/png,image/jpeg,image/gif,image/webp" data-image-preview>', form), form
    assert '<img class="field-image-preview" alt="Gadget Photo" width="160" height="160" hidden>' in form
    assert "Choose a picture to upload (PNG, JPEG, GIF or WebP)." in form
    # not an image: refused naming the problem, nothing kept
    for name, content in (("shoe.png", HTML), ("shoe.svg", SVG)):
        r = multipart(rep, "/app/imageapp/gadget/new", {"name": "Shoe", "photo": ""}, [("photo__upload", name, content)])
        assert r.status_code == 422, name
        assert "takes image/png, image/jpeg, image/gif, image/webp" in r.get_data(as_text=True) \
            or "claims to be image/png but its content is text/html" in r.get_data(as_text=True)
    r = multipart(rep, "/app/imageapp/gadget/new", {"name": "Shoe", "photo": ""}, [("photo__upload", "shoe.png", PNG)])
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    page = rep.html(r.headers["Location"])
    file_id = re.search(r'<img src="/app/_files/([0-9a-f-]+)/content" alt="Gadget Photo" class="field-image"', page).group(1)
    record_id = r.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    edit = rep.html(f"/app/imageapp/gadget/{record_id}/edit")
    assert f'<img class="field-image-preview" alt="Gadget Photo" width="160" height="160" src="/app/_files/{file_id}/content">' in edit
    assert "Choose a picture to replace it" in edit


def test_the_picture_follows_the_records_access(rep, login, services, users):
    record, photo = gadget(services, users)
    other = login("rep2")   # no access to gadgets, nor to this record
    assert other.get(f"/app/_files/{photo['id']}/content").status_code == 404
    assert rep.get(f"/app/_files/{photo['id']}/content").status_code == 200


def test_a_list_export_gives_the_pictures_url(rep, admin, services, users):
    record, photo = gadget(services, users, badge_url="https://cdn.example.com/air.png")
    r = admin.get("/app/imageapp/gadget/export.csv?cols=name,badge,photo")
    assert r.status_code == 200, r.get_data(as_text=True)[:2000]
    text = r.get_data(as_text=True)
    assert "https://cdn.example.com/air.png" in text and photo["id"] in text


def test_an_operator_lets_pictures_load_from_other_origins(services, monkeypatch):
    """IMAGE() urls on another host load only where TESSERA_IMAGE_SOURCES lists their origin; a
    value that is not a plain http(s) origin (it goes into the CSP) stops the app from starting."""
    from tessera.web.app import create_app
    default = create_app(services=services).test_client().get("/login")
    assert "img-src 'self' data:;" in default.headers["Content-Security-Policy"]
    monkeypatch.setenv("TESSERA_IMAGE_SOURCES", "https://cdn.example.com http://img.example.org:8080/")
    page = create_app(services=services).test_client().get("/login")
    assert "img-src 'self' data: https://cdn.example.com http://img.example.org:8080;" \
        in page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in page.headers["Content-Security-Policy"]
    for bad in ("https://cdn.example.com; script-src *", "*", "https://*.example.com", "javascript:alert(1)",
                "'unsafe-inline'", "https://cdn.example.com/pictures"):
        monkeypatch.setenv("TESSERA_IMAGE_SOURCES", bad)
        with pytest.raises(ValueError, match="TESSERA_IMAGE_SOURCES"):
            create_app(services=services)
