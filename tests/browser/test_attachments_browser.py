"""Files in Chromium, desktop and phone: attach several files to an account (the file input, then
drag and drop onto the card), see the image preview and the PDF preview, download, remove; upload
an opportunity's signed contract through its form field."""
from __future__ import annotations

import re

from browser_helpers import screenshot, sign_in
from playwright.sync_api import expect
from tessera.security.actor import SYSTEM

def _png(width: int = 120, height: int = 80) -> bytes:
    """A small teal PNG (big enough to see in the preview screenshots)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + bytes((14, 116, 144)) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


PNG = _png()
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def _admin_id(services):
    return services.identity.find_user("admin")["id"]


def test_attach_preview_and_remove_files_on_desktop_and_phone(page, live_server, live_services):
    account = live_services.records.create(SYSTEM, "account", {"name": "Files Bistro",
                                                                "owner": _admin_id(live_services)})
    sign_in(page, live_server)
    page.goto(f"{live_server}/app/sales/account/{account['id']}")
    page.wait_for_load_state("load")
    card = page.locator("#attachments")
    expect(card).to_contain_text("No attachments yet.")
    # choosing several files submits the form at once (app.js)
    page.set_input_files("#attachment-input", [
        {"name": "logo.png", "mimeType": "image/png", "buffer": PNG},
        {"name": "menu.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.wait_for_url(re.compile(r".*#attachments$"))
    page.wait_for_load_state("load")
    expect(card.locator(".attachment")).to_have_count(2)
    image = card.locator(".attachment-preview img")
    expect(image).to_have_attribute("alt", "logo.png")
    page.wait_for_function("() => { const i = document.querySelector('.attachment-preview img');"
                           " return i && i.complete && i.naturalWidth === 120; }")
    card.locator("details.attachment-preview summary").click()
    frame = card.locator("iframe.attachment-pdf")
    expect(frame).to_be_visible()
    pdf = page.request.get(live_server + frame.get_attribute("src"))
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf" and pdf.body() == PDF
    screenshot(page, "record_attachments")
    # drag and drop onto the card: the dropped file goes through the same form
    page.evaluate("""() => {
        const dt = new DataTransfer();
        dt.items.add(new File(['dropped notes'], 'notes.txt', {type: 'text/plain'}));
        const card = document.getElementById('attachments');
        card.dispatchEvent(new DragEvent('dragover', {dataTransfer: dt, bubbles: true, cancelable: true}));
        card.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
    }""")
    page.wait_for_function("() => document.querySelectorAll('#attachments .attachment').length === 3")
    page.wait_for_load_state("load")
    notes = card.locator(".attachment", has_text="notes.txt")
    download = page.request.get(live_server + notes.locator("a.attachment-name").get_attribute("href"))
    assert download.body() == b"dropped notes"
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.headers["x-content-type-options"] == "nosniff"
    page.set_viewport_size({"width": 390, "height": 844})
    page.locator("#attachments").scroll_into_view_if_needed()
    screenshot(page, "record_attachments_phone")
    expect(card.locator(".attachment-preview img")).to_be_visible()
    page.set_viewport_size({"width": 1280, "height": 860})
    # remove one (confirmed)
    page.once("dialog", lambda d: d.accept())
    notes.locator(".attachment-delete").click()
    page.wait_for_load_state("load")
    expect(card.locator(".attachment")).to_have_count(2)
    expect(page.locator("body")).to_contain_text("The attachment was removed.")


def test_an_opportunitys_signed_contract_through_the_form(page, live_server, live_services):
    admin_id = _admin_id(live_services)
    opp = live_services.records.create(SYSTEM, "opportunity", {"name": "Contract Deal", "close_date": "2030-01-31",
                                                                "owner": admin_id})
    sign_in(page, live_server)
    page.goto(f"{live_server}/app/sales/opportunity/{opp['id']}/edit")
    page.wait_for_load_state("load")
    upload = page.locator("input[name='contract__upload']")
    assert upload.get_attribute("accept") == "application/pdf"
    upload.set_input_files({"name": "contract.pdf", "mimeType": "application/pdf", "buffer": PDF})
    page.set_viewport_size({"width": 390, "height": 844})
    upload.scroll_into_view_if_needed()
    screenshot(page, "opportunity_contract_form_phone")
    page.set_viewport_size({"width": 1280, "height": 860})
    page.click("#save")
    page.wait_for_selector("#record-title")
    link = page.locator(".detail-field[data-field='contract'] a.file-link")
    expect(link).to_have_text(re.compile("contract.pdf"))
    got = page.request.get(live_server + link.get_attribute("href"))
    assert got.status == 200 and got.body() == PDF
    screenshot(page, "opportunity_contract_record")
    saved = live_services.records.get(SYSTEM, "opportunity", opp["id"], fields=["contract"])
    assert saved["contract"] is not None
