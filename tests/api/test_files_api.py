"""Files through the REST API: multipart upload, sniffed content type, checksum, download headers,
attachments with the parent record's access, file fields, deletion with the record, and bad input
(oversized, mismatched, path tricks, a record the user cannot see or edit) storing nothing."""
from __future__ import annotations

import hashlib
import json
import io
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tessera.files import DatabaseStore, DirectoryStore
from tessera.meta.source import load_package
from tessera.security.actor import SYSTEM
from tessera.storage.platform_tables import blobs, file_links

FILESPKG = Path(__file__).resolve().parents[1] / "fixtures" / "filespkg"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
PASSWORD = "velvet-orbit-quarry-3"


def upload(client, url, *files, **form):
    data = dict(form)
    data["file"] = [(io.BytesIO(content), name, *([ctype] if ctype else [])) for name, content, ctype in files]
    return client.post(url, data=data, content_type="multipart/form-data")


def one(name, content, ctype=None):
    return (name, content, ctype)


def stored_blob_count(services) -> int:
    store = services.files.store
    if isinstance(store, DatabaseStore):
        with services.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(blobs)).scalar()
    return sum(len(files) for _root, _dirs, files in os.walk(store.root)) if os.path.isdir(store.root) else 0


def file_count(services) -> int:
    with services.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(services.runtimes.current().tables["file"])).scalar()


def link_count(services) -> int:
    with services.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(file_links)).scalar()


@pytest.fixture
def files_org(services):
    services.changes.install_packages([load_package(FILESPKG)], author="test", message="files")
    return services


@pytest.fixture
def people(files_org, client_for):
    """rep and peer (tp_rep: they see only their own companies); viewer (tp_viewer: reads, no edit)."""
    out = {}
    for name, profile in (("rep", "tp_rep"), ("peer", "tp_rep")):
        user, _ = files_org.identity.create_user(name, password=PASSWORD, last_name=name.title(), profile=profile,
                                                 role="tp_worker")
        files_org.records.create(SYSTEM, "permission_set_assignment", {"user": user["id"], "permission_set": "fp_agreements"})
        out[name] = client_for(user)
    return out


def company(client, name="Acme"):
    r = client.post("/api/v1/records/company", json={"name": name})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_upload_sniffs_the_type_keeps_a_checksum_and_serves_the_bytes(api, services):
    r = upload(api, "/api/v1/files", one("pixel.png", PNG, "application/octet-stream"), description="a pixel")
    assert r.status_code == 201, r.get_json()
    rec = r.get_json()
    assert rec["name"] == "pixel.png" and rec["content_type"] == "image/png" and rec["size"] == len(PNG)
    assert rec["checksum"] == hashlib.sha256(PNG).hexdigest() and rec["description"] == "a pixel"
    assert r.headers["Location"] == f"/api/v1/files/{rec['id']}" and "storage_key" not in rec
    info = api.get(f"/api/v1/files/{rec['id']}").get_json()
    assert info["checksum"] == rec["checksum"] and "storage_key" not in info
    got = api.get(f"/api/v1/files/{rec['id']}/content")
    assert got.status_code == 200 and got.data == PNG
    assert got.headers["Content-Type"] == "image/png"
    assert got.headers["Content-Disposition"].startswith("inline")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in got.headers["Content-Security-Policy"] and "default-src 'none'" in got.headers["Content-Security-Policy"]
    assert got.headers["ETag"].strip('"') == rec["checksum"]


def test_html_is_stored_as_what_it_is_and_served_as_an_attachment(api):
    rec = upload(api, "/api/v1/files", one("page.html", HTML, "text/html")).get_json()
    assert rec["content_type"] == "text/html"
    got = api.get(f"/api/v1/files/{rec['id']}/content")
    assert got.headers["Content-Disposition"].startswith("attachment") and "page.html" in got.headers["Content-Disposition"]
    assert got.headers["Content-Type"].startswith("text/html") and got.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in got.headers["Content-Security-Policy"]
    text = upload(api, "/api/v1/files", one("notes.txt", "grüße\n".encode())).get_json()
    assert text["content_type"] == "text/plain"
    pdf = upload(api, "/api/v1/files", one("deck.pdf", PDF)).get_json()
    assert pdf["content_type"] == "application/pdf"
    assert api.get(f"/api/v1/files/{pdf['id']}/content").headers["Content-Disposition"].startswith("inline")


def test_a_user_cannot_type_a_content_type_or_storage_key(api):
    r = api.post("/api/v1/records/file", json={"name": "x.pdf", "content_type": "application/pdf"})
    assert r.status_code in (403, 422), r.get_json()
    assert "content_type" in r.get_json()["error"]["fields"]
    r = api.post("/api/v1/records/file", json={"name": "x.pdf", "storage_key": "../../etc/passwd"})
    assert r.status_code in (403, 422) and "storage_key" in r.get_json()["error"]["fields"]


@pytest.mark.parametrize("name, content, ctype", [
    ("photo.png", HTML, "image/png"),          # an HTML page claiming to be a PNG (name and part type)
    ("photo.html", HTML, "image/png"),         # claiming by the part's type only
    ("photo.png", HTML, None),                 # claiming by the extension only
    ("scan.pdf", b"MZ\x90\x00\x03" + b"\x00" * 60, "application/pdf"),
])
def test_a_mismatched_image_or_pdf_is_refused_and_nothing_is_stored(api, services, name, content, ctype):
    before = stored_blob_count(services), file_count(services)
    r = upload(api, "/api/v1/files", one(name, content, ctype))
    assert r.status_code == 415, r.get_json()
    body = r.get_json()["error"]
    assert body["code"] == "unsupported_media_type" and "claims to be" in body["message"]
    assert (stored_blob_count(services), file_count(services)) == before


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "C:evil.txt", "a\x00b.txt", "bell\x07.txt",
                                  "..", " . ", "sub/dir.txt", "rtl\u202egnp.exe", "x" * 300 + ".txt"])
def test_path_tricks_in_file_names_are_refused(api, services, name):
    before = stored_blob_count(services), file_count(services)
    r = upload(api, "/api/v1/files", one(name, b"hello"))
    assert r.status_code == 422, (name, r.get_json())
    assert r.get_json()["error"]["code"] == "validation_failed" and "file" in r.get_json()["error"]["fields"]
    assert (stored_blob_count(services), file_count(services)) == before


@pytest.mark.parametrize("name", ["..\\..\\boot.ini", "dir\\x.txt", "C:\\x.txt", "a\x00b", "a\u2028b", "...", ""])
def test_safe_name_refuses_what_a_multipart_parser_might_pass(name):
    from tessera.files.names import safe_name
    from tessera.records.errors import ValidationFailed
    with pytest.raises(ValidationFailed):
        safe_name(name)
    assert safe_name("  Q3 report (final).pdf ") == "Q3 report (final).pdf"


def test_an_oversized_upload_is_refused_with_413_and_nothing_is_stored(api, services):
    services.files.max_bytes = 1000
    before = stored_blob_count(services), file_count(services)
    r = upload(api, "/api/v1/files", one("big.txt", b"a" * 1001))
    assert r.status_code == 413 and r.get_json()["error"]["code"] == "too_large"
    assert r.get_json()["error"]["max_bytes"] == 1000
    assert (stored_blob_count(services), file_count(services)) == before
    assert upload(api, "/api/v1/files", one("fits.txt", b"a" * 1000)).status_code == 201


def test_a_body_over_the_request_limit_is_a_json_413(app, api):
    app.config["MAX_CONTENT_LENGTH"] = 2000
    r = upload(api, "/api/v1/files", one("big.txt", b"a" * 5000))
    assert r.status_code == 413 and r.get_json()["error"]["code"] == "too_large"


def test_bad_requests_are_clear_4xx(api):
    assert api.post("/api/v1/files", json={"name": "x"}).status_code == 415
    r = api.post("/api/v1/files", data={"other": (io.BytesIO(b"x"), "x.txt")}, content_type="multipart/form-data")
    assert r.status_code == 400 and "'file'" in r.get_json()["error"]["message"]
    r = upload(api, "/api/v1/files", one("a.txt", b"a"), one("b.txt", b"b"))
    assert r.status_code == 400
    for url in ("/api/v1/files/not-an-id", "/api/v1/files/5c7d1c9e-2b8a-4d53-a9a4-9b8c0c6f1a11/content"):
        r = api.get(url)
        assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    # a file record made without an upload has no content to serve
    bare = api.post("/api/v1/records/file", json={"name": "empty.txt"}).get_json()
    r = api.get(f"/api/v1/files/{bare['id']}/content")
    assert r.status_code == 404 and "no content" in r.get_json()["error"]["message"]


def test_attachments_follow_the_parent_records_access(people, services):
    rep, peer = people["rep"], people["peer"]
    acme = company(rep)
    url = f"/api/v1/records/company/{acme['id']}/attachments"
    r = upload(rep, url, one("a.png", PNG), one("b.pdf", PDF))   # several at once; tp_rep has no file rights
    assert r.status_code == 201, r.get_json()
    made = r.get_json()["attachments"]
    assert [a["content_type"] for a in made] == ["image/png", "application/pdf"]
    rep_id = services.identity.find_user("rep")["id"]
    assert all(a["owner"] == rep_id and a["created_by"] == rep_id for a in made)
    listed = rep.get(url).get_json()["attachments"]
    assert {a["name"] for a in listed} == {"a.png", "b.pdf"}
    assert rep.get(f"/api/v1/files/{made[0]['id']}/content").data == PNG
    # the peer cannot see the company: its attachments do not exist for them
    before = stored_blob_count(services), file_count(services), link_count(services)
    assert peer.get(url).status_code == 404
    assert upload(peer, url, one("c.txt", b"c")).status_code == 404
    assert peer.get(f"/api/v1/files/{made[0]['id']}/content").status_code == 404
    assert peer.delete(f"{url}/{made[0]['id']}").status_code == 404
    assert (stored_blob_count(services), file_count(services), link_count(services)) == before
    # shared read-only: they may read and download, not attach or detach
    peer_id = services.identity.find_user("peer")["id"]
    services.shares.share(SYSTEM, "company", acme["id"], {"grantee_type": "user", "grantee": peer_id, "access": "read"})
    assert len(peer.get(url).get_json()["attachments"]) == 2
    assert peer.get(f"/api/v1/files/{made[1]['id']}/content").data == PDF
    r = upload(peer, url, one("c.txt", b"c"))
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
    assert peer.delete(f"{url}/{made[0]['id']}").status_code == 403
    assert (stored_blob_count(services), file_count(services), link_count(services)) == before
    # the owner detaches one: the link, the file and its content go
    assert rep.delete(f"{url}/{made[0]['id']}").status_code == 204
    assert [a["name"] for a in rep.get(url).get_json()["attachments"]] == ["b.pdf"]
    assert rep.get(f"/api/v1/files/{made[0]['id']}/content").status_code == 404
    assert stored_blob_count(services) == before[0] - 1


def test_a_refused_file_among_several_stores_none_of_them(people, services):
    rep = people["rep"]
    acme = company(rep)
    before = stored_blob_count(services), file_count(services), link_count(services)
    r = upload(rep, f"/api/v1/records/company/{acme['id']}/attachments", one("ok.pdf", PDF), one("bad.png", HTML))
    assert r.status_code == 415 and r.get_json()["error"]["file"] == "bad.png"
    assert (stored_blob_count(services), file_count(services), link_count(services)) == before


def test_objects_without_attachments_and_unknown_objects_are_404(api, services):
    admin_id = services.identity.find_user("admin")["id"]
    assert api.get(f"/api/v1/records/user/{admin_id}/attachments").status_code == 404
    assert upload(api, f"/api/v1/records/user/{admin_id}/attachments", one("a.txt", b"a")).status_code == 404
    assert api.get("/api/v1/records/nothing/5c7d1c9e-2b8a-4d53-a9a4-9b8c0c6f1a11/attachments").status_code == 404


def test_deleting_the_record_deletes_its_links_and_files_used_nowhere_else(people, services):
    rep = people["rep"]
    agreement = rep.post("/api/v1/records/agreement", json={"name": "MSA"}).get_json()
    term = rep.post("/api/v1/records/agreement_term", json={"name": "T1", "agreement": agreement["id"]}).get_json()
    before = stored_blob_count(services), file_count(services)
    own = upload(rep, f"/api/v1/records/agreement/{agreement['id']}/attachments", one("own.txt", b"own")).get_json()
    child = upload(rep, f"/api/v1/records/agreement_term/{term['id']}/attachments", one("t.txt", b"t")).get_json()
    shared = upload(rep, "/api/v1/files", one("shared.txt", b"shared"))
    assert shared.status_code == 403   # tp_rep has no rights on files of their own: attachments only
    other = company(rep, "Other")
    kept = upload(rep, f"/api/v1/records/company/{other['id']}/attachments", one("kept.txt", b"kept")).get_json()
    signed = upload(people["rep"], "/api/v1/records/agreement/" + agreement["id"] + "/attachments",
                    one("signed.pdf", PDF)).get_json()["attachments"][0]
    assert rep.patch(f"/api/v1/records/agreement/{agreement['id']}", json={"signed_copy": signed["id"]}).status_code == 200
    assert stored_blob_count(services) == before[0] + 4
    assert rep.delete(f"/api/v1/records/agreement/{agreement['id']}").status_code == 204
    # the agreement's own, its cascaded term's and its field's files are gone with their content
    for gone in (own["attachments"][0], child["attachments"][0], signed):
        assert rep.get(f"/api/v1/files/{gone['id']}/content").status_code == 404
    assert stored_blob_count(services) == before[0] + 1 and file_count(services) == before[1] + 1
    assert link_count(services) == 1
    assert rep.get(f"/api/v1/files/{kept['attachments'][0]['id']}/content").data == b"kept"


def test_a_rolled_back_delete_keeps_the_content(people, services):
    rep = people["rep"]
    acme = company(rep)
    made = upload(rep, f"/api/v1/records/company/{acme['id']}/attachments", one("a.txt", b"a")).get_json()
    file_id = made["attachments"][0]["id"]
    services.records.cleanup_hooks.append(_Boom())
    with pytest.raises(RuntimeError):
        services.records.delete(SYSTEM, "company", acme["id"])
    services.records.cleanup_hooks.pop()
    assert rep.get(f"/api/v1/files/{file_id}/content").data == b"a"
    assert len(rep.get(f"/api/v1/records/company/{acme['id']}/attachments").get_json()["attachments"]) == 1


class _Boom:
    def before_delete(self, conn, rt, cobj, ids):
        return self.fail

    def after_update(self, conn, rt, cobj, current, changes):
        return None

    def fail(self, conn):
        raise RuntimeError("the transaction fails after the files were removed")


def test_file_fields_take_an_uploaded_file_of_an_accepted_type(api, people, services):
    rep, peer = people["rep"], people["peer"]
    pdf = upload(rep, "/api/v1/records/company/" + company(rep)["id"] + "/attachments", one("c.pdf", PDF))
    pdf_id = pdf.get_json()["attachments"][0]["id"]
    r = rep.post("/api/v1/records/agreement", json={"name": "NDA", "signed_copy": pdf_id})
    assert r.status_code == 201, r.get_json()
    agreement = r.get_json()
    assert agreement["signed_copy"] == pdf_id
    # the peer cannot see the agreement: the field's file is not theirs to read, nor to take
    assert peer.get(f"/api/v1/files/{pdf_id}/content").status_code == 404
    r = peer.post("/api/v1/records/agreement", json={"name": "Theft", "signed_copy": pdf_id})
    assert r.status_code == 422 and "signed_copy" in r.get_json()["error"]["fields"], r.get_json()
    assert peer.get(f"/api/v1/files/{pdf_id}/content").status_code == 404
    # a field takes only the content types it accepts: checked on save, and on upload when named
    r = rep.patch(f"/api/v1/records/agreement/{agreement['id']}", json={"photo": pdf_id})
    assert r.status_code == 422 and "image/*" in r.get_json()["error"]["fields"]["photo"][0]
    r = rep.post("/api/v1/records/agreement/bulk", json=[{"name": "B1", "photo": pdf_id}])
    assert r.status_code == 422 and "image/*" in str(r.get_json()), r.get_json()
    r = upload(api, "/api/v1/files", one("x.pdf", PDF), field="agreement.photo")
    assert r.status_code == 415 and "image/*" in r.get_json()["error"]["message"]
    assert upload(api, "/api/v1/files", one("x.png", PNG), field="agreement.photo").status_code == 201
    assert upload(api, "/api/v1/files", one("x.png", PNG), field="agreement.name").status_code == 400
    # uploaded for the field by its editor (no rights on files needed), then replacing the old one
    before = stored_blob_count(services)
    r = upload(rep, "/api/v1/files", one("v2.pdf", PDF), field="agreement.signed_copy")
    assert r.status_code == 201, r.get_json()
    v2 = r.get_json()["id"]
    assert upload(peer, "/api/v1/files", one("v2.pdf", PDF), field="company.name").status_code == 400
    assert rep.patch(f"/api/v1/records/agreement/{agreement['id']}", json={"signed_copy": v2}).status_code == 200
    # pdf_id is still attached to the company: it stays; v2 replaced by nothing is deleted
    assert rep.get(f"/api/v1/files/{pdf_id}/content").status_code == 200
    assert rep.patch(f"/api/v1/records/agreement/{agreement['id']}", json={"signed_copy": None}).status_code == 200
    assert rep.get(f"/api/v1/files/{v2}/content").status_code == 404
    assert stored_blob_count(services) == before
    r = rep.post("/api/v1/records/agreement", json={"name": "Bad", "signed_copy": "not-a-file"})
    assert r.status_code == 422 and "signed_copy" in r.get_json()["error"]["fields"]


def test_the_openapi_describes_the_file_routes(api, files_org):
    doc = api.get("/api/v1/openapi.json").get_json()
    upload_op = doc["paths"]["/files"]["post"]
    assert "multipart/form-data" in upload_op["requestBody"]["content"]
    assert doc["paths"]["/files/{id}/content"]["get"]["responses"]["200"]["content"]
    assert "post" in doc["paths"]["/records/company/{id}/attachments"]
    assert "/records/user/{id}/attachments" not in doc["paths"]
    field = json.dumps(doc["components"]["schemas"]["AgreementInput"]["properties"]["photo"])
    assert '"format": "uuid"' in field and "uploaded file" in field and "image/*" in field


def test_the_store_comes_from_the_environment(tmp_path, engine):
    from tessera.files import store_for
    assert isinstance(store_for(engine, {"TESSERA_FILE_STORE": "database"}), DatabaseStore)
    custom = store_for(engine, {"TESSERA_FILES_DIR": str(tmp_path / "x")})
    assert isinstance(custom, DirectoryStore) and custom.root == str(tmp_path / "x")
    default = store_for(engine, {})
    if engine.dialect.name == "sqlite":   # beside the database file
        assert isinstance(default, DirectoryStore) and default.root == engine.url.database + ".files"
    else:                                 # no shared directory configured: the database itself
        assert isinstance(default, DatabaseStore)
    with pytest.raises(ValueError):
        store_for(engine, {"TESSERA_FILE_STORE": "s3"})


@pytest.mark.parametrize("kind", ["directory", "database"])
def test_both_blob_stores_keep_and_delete_content(tmp_path, engine, kind):
    from tessera.changes import ChangeService
    ChangeService(engine)   # the platform tables
    store = DirectoryStore(str(tmp_path / "blobs")) if kind == "directory" else DatabaseStore(engine)
    stored = store.put(io.BytesIO(b"content" * 1000))
    assert stored.size == 7000 and stored.sha256 == hashlib.sha256(b"content" * 1000).hexdigest()
    with store.open(stored.key) as f:
        assert f.read() == b"content" * 1000
    store.delete(stored.key)
    with pytest.raises(FileNotFoundError):
        store.open(stored.key)
    for bad in ("../../etc/passwd", "", "A" * 32):
        with pytest.raises(FileNotFoundError):
            store.open(bad)
