"""An image field in Chromium, desktop and phone (issue 14): choose a picture in the form (previewed
before saving), save, and see it drawn on the record page — the field's thumbnail and the IMAGE()
formula's picture — and as a thumbnail in the list."""
from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

from browser_helpers import screenshot, sign_in
from playwright.sync_api import expect
from tessera.meta.source import load_package

IMAGESPKG = Path(__file__).resolve().parents[1] / "fixtures" / "imagespkg"


def _png(width: int = 200, height: int = 120) -> bytes:
    """A teal PNG with a darker band, big enough to see in the screenshots."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + (bytes((14, 116, 144)) if y % 40 < 30 else bytes((8, 60, 80))) * width
                    for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


PNG = _png()


def test_upload_a_picture_in_the_form_and_see_it_on_the_record_page(page, live_server, live_services):
    live_services.changes.install_packages([load_package(IMAGESPKG)], author="test", message="images")
    sign_in(page, live_server)
    page.goto(f"{live_server}/app/imageapp/gadget/new")
    page.wait_for_load_state("load")
    page.fill("#f-name", "Trail Shoe")
    upload = page.locator("input[name='photo__upload']")
    assert upload.get_attribute("accept") == "image/png,image/jpeg,image/gif,image/webp"
    preview = page.locator(".image-field[data-field='photo'] img.field-image-preview")
    expect(preview).to_be_hidden()
    upload.set_input_files({"name": "shoe.png", "mimeType": "image/png", "buffer": PNG})
    expect(preview).to_be_visible()   # previewed before anything is uploaded (app.js)
    assert preview.get_attribute("src").startswith("data:image/png;base64,")
    page.set_viewport_size({"width": 390, "height": 844})
    upload.scroll_into_view_if_needed()
    screenshot(page, "image_field_form_phone")
    page.set_viewport_size({"width": 1280, "height": 860})
    page.click("#save")
    page.wait_for_selector("#record-title")
    photo = page.locator(".detail-field[data-field='photo'] img.field-image")
    expect(photo).to_have_attribute("alt", "Gadget Photo")
    page.wait_for_function("() => { const i = document.querySelector(\".detail-field[data-field='photo'] img.field-image\");"
                           " return i && i.complete && i.naturalWidth === 200; }")
    box = photo.bounding_box()
    assert box["width"] <= 240 and box["height"] <= 240   # a thumbnail, whatever the picture's size
    picture = page.locator(".detail-field[data-field='picture'] img.formula-image")
    expect(picture).to_have_attribute("alt", "Trail Shoe")
    assert picture.get_attribute("src") == photo.get_attribute("src")
    got = page.request.get(live_server + photo.get_attribute("src"))
    assert got.status == 200 and got.body() == PNG and got.headers["content-type"] == "image/png"
    screenshot(page, "image_field_record")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "image_field_record_phone")
    expect(photo).to_be_visible()
    page.set_viewport_size({"width": 1280, "height": 860})
    page.goto(f"{live_server}/app/imageapp/gadget?view=gadget_gallery")
    page.wait_for_load_state("load")
    thumb = page.locator("img.field-image-thumb").first
    expect(thumb).to_have_attribute("alt", "Gadget Photo")
    page.wait_for_function("() => { const i = document.querySelector('img.field-image-thumb');"
                           " return i && i.complete && i.naturalWidth === 200; }")
    assert thumb.bounding_box()["height"] <= 40
    assert re.search(r"/app/_files/[0-9a-f-]+/content", thumb.get_attribute("src"))
    screenshot(page, "image_field_list")
