"""Files in /app (Flask test client): the Attachments card of record pages (several files in one
multipart form, previews, downloads with the session, remove), access exactly as the record's,
and a file field in the generated form (upload, current file with a download link, replace)."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from tessera.meta.source import load_package
from tessera.security.actor import SYSTEM

FILESPKG = Path(__file__).resolve().parents[1] / "fixtures" / "filespkg"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"


def multipart(client, url, fields: dict, files: list[tuple[str, str, bytes]]):
    data = [(k, v) for k, v in fields.items()] + [(key, (io.BytesIO(content), name)) for key, name, content in files]
    return client.post(url, data=data, content_type="multipart/form-data")


def file_ids(html: str) -> list[str]:
    return re.findall(r'class="attachment" data-file="([0-9a-f-]+)"', html)


@pytest.fixture
def acme(users, make_record):
    return make_record("company", {"name": "Acme", "owner": users["rep"]["id"]})


def test_attach_several_files_preview_download_and_remove(login, acme, services):
    rep = login("rep")
    page_url = f"/app/testapp/company/{acme['id']}"
    html = rep.html(page_url)
    assert 'id="attachments"' in html and 'id="attachment-form"' in html and "No attachments yet." in html
    r = multipart(rep, f"{page_url}/attachments", {}, [("file", "logo.png", PNG), ("file", "terms.pdf", PDF)])
    assert r.status_code == 302 and r.headers["Location"].endswith("#attachments")
    html = rep.html(page_url)
    ids = file_ids(html)
    assert len(ids) == 2 and "Attached" in html
    assert re.search(r'<img src="/app/_files/[0-9a-f-]+/content" alt="logo.png"', html)
    assert re.search(r'<iframe src="/app/_files/[0-9a-f-]+/content" title="terms.pdf"', html)
    by_name = dict(re.findall(r'href="/app/_files/([0-9a-f-]+)/content" target="_blank" rel="noopener">([^<]+)</a>', html))
    png_id = next(i for i, n in by_name.items() if n == "logo.png")
    got = rep.get(f"/app/_files/{png_id}/content")
    assert got.status_code == 200 and got.data == PNG and got.headers["Content-Type"] == "image/png"
    assert got.headers["X-Content-Type-Options"] == "nosniff" and got.headers["Content-Disposition"].startswith("inline")
    r = rep.post(f"{page_url}/attachments/{png_id}/delete")
    assert r.status_code == 302
    html = rep.html(page_url)
    assert len(file_ids(html)) == 1 and "logo.png" not in html
    assert rep.get(f"/app/_files/{png_id}/content").status_code == 404


def test_a_mismatched_upload_attaches_nothing(login, acme, services):
    rep = login("rep")
    page_url = f"/app/testapp/company/{acme['id']}"
    r = multipart(rep, f"{page_url}/attachments", {}, [("file", "ok.pdf", PDF), ("file", "cat.png", HTML)])
    assert r.status_code == 302
    html = rep.html(page_url)
    assert "Nothing was attached: cat.png: the file claims to be image/png but its content is text/html" in html
    assert file_ids(html) == []


def test_attachments_follow_the_records_access(login, acme, services, users):
    rep = login("rep")
    multipart(rep, f"/app/testapp/company/{acme['id']}/attachments", {}, [("file", "a.pdf", PDF)])
    file_id = file_ids(rep.html(f"/app/testapp/company/{acme['id']}"))[0]
    other = login("rep2")   # cannot see the company
    assert other.get(f"/app/_files/{file_id}/content").status_code == 404
    r = multipart(other, f"/app/testapp/company/{acme['id']}/attachments", {}, [("file", "b.pdf", PDF)])
    assert r.status_code == 404
    assert other.post(f"/app/testapp/company/{acme['id']}/attachments/{file_id}/delete").status_code == 404
    services.shares.share(SYSTEM, "company", acme["id"], {"grantee_type": "user", "grantee": users["rep2"]["id"],
                                                          "access": "read"})
    html = other.html(f"/app/testapp/company/{acme['id']}")
    assert file_ids(html) == [file_id] and 'id="attachment-form"' not in html and "attachment-delete" not in html
    assert other.get(f"/app/_files/{file_id}/content").data == PDF
    assert other.post(f"/app/testapp/company/{acme['id']}/attachments/{file_id}/delete").status_code == 302
    assert file_ids(other.html(f"/app/testapp/company/{acme['id']}")) == [file_id]   # refused: still there


def test_platform_objects_have_no_attachments_card(admin, services):
    admin_id = services.identity.find_user("admin")["id"]
    assert 'id="attachments"' not in admin.html(f"/app/testapp/user/{admin_id}")


def test_a_file_field_in_the_generated_form(login, services, users):
    services.changes.install_packages([load_package(FILESPKG)], author="test", message="files")
    services.records.create(SYSTEM, "permission_set_assignment", {"user": users["rep"]["id"],
                                                                  "permission_set": "fp_agreements"})
    rep = login("rep")
    form = rep.html("/app/fileapp/agreement/new")
    assert 'enctype="multipart/form-data"' in form
    assert 'name="signed_copy__upload"' in form and 'accept="application/pdf"' in form
    # a refused upload: the form comes back with the field's error and keeps nothing
    before = _files(services)
    r = multipart(rep, "/app/fileapp/agreement/new", {"name": "MSA", "signed_copy": ""},
                  [("signed_copy__upload", "msa.pdf", HTML)])
    assert r.status_code == 422
    assert "claims to be application/pdf but its content is text/html" in r.get_data(as_text=True)
    assert _files(services) == before
    # a form refused for another reason does not keep the upload either
    r = multipart(rep, "/app/fileapp/agreement/new", {"name": ""}, [("signed_copy__upload", "msa.pdf", PDF)])
    assert r.status_code == 422 and "Choose the file again" in r.get_data(as_text=True)
    assert _files(services) == before
    r = multipart(rep, "/app/fileapp/agreement/new", {"name": "MSA", "signed_copy": ""},
                  [("signed_copy__upload", "msa.pdf", PDF)])
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    record_url = r.headers["Location"]
    html = rep.html(record_url)
    m = re.search(r'href="/app/_files/([0-9a-f-]+)/content" class="file-link"[^>]*>.*?msa.pdf</a>', html, re.S)
    assert m, html
    first = m.group(1)
    assert rep.get(f"/app/_files/{first}/content").data == PDF
    # the edit form shows the current file with a download link; a new upload replaces it
    agreement_id = record_url.rstrip("/").rsplit("/", 1)[1]
    edit = rep.html(f"/app/fileapp/agreement/{agreement_id}/edit")
    assert f'href="/app/_files/{first}/content"' in edit and "Choose a file to replace it." in edit
    r = multipart(rep, f"/app/fileapp/agreement/{agreement_id}/edit",
                  {"name": "MSA", "signed_copy": first, "_row_version": re.search(r'name="_row_version" value="(\d+)"', edit).group(1)},
                  [("signed_copy__upload", "msa-v2.pdf", PDF)])
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    assert "msa-v2.pdf" in rep.html(record_url)
    assert rep.get(f"/app/_files/{first}/content").status_code == 404   # the replaced file went
    assert _files(services) == before + 1


def _files(services) -> int:
    from sqlalchemy import func, select
    with services.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(services.runtimes.current().tables["file"])).scalar()


def test_new_file_in_the_home_app_is_an_upload(admin, services):
    form = admin.html("/app/home/file/new")
    assert 'name="_content"' in form and 'enctype="multipart/form-data"' in form
    before = _files(services)
    r = multipart(admin, "/app/home/file/new", {"name": "", "description": ""}, [])
    assert r.status_code == 422 and "Choose the file to upload." in r.get_data(as_text=True)
    r = multipart(admin, "/app/home/file/new", {"name": "", "description": "d"}, [("_content", "x.png", HTML)])
    assert r.status_code == 415 and _files(services) == before
    r = multipart(admin, "/app/home/file/new", {"name": "", "description": "Our logo"}, [("_content", "logo.png", PNG)])
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    page = admin.html(r.headers["Location"])
    assert "logo.png" in page and "image/png" in page and 'id="file-download"' in page
    assert re.search(r'<img src="/app/_files/[0-9a-f-]+/content" alt="logo.png"', page)
    assert _files(services) == before + 1
