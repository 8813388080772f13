"""The import wizard and the org data export in /app, through the test client (the job run in-process
here: tests/browser/test_import_wizard_browser.py runs it on a real worker). Both databases."""
from __future__ import annotations

import io
import re
import zipfile

from tessera.dataio import jobs
from tessera.security.actor import SYSTEM
from ui_helpers import BASE, REFERER


def upload(client, object_name, body: bytes, filename="data.csv"):
    return client.c.post(f"/app/data-import/{object_name}", base_url=BASE, headers=REFERER,
                         data={"file": (io.BytesIO(body), filename), "csrf_token": client.token},
                         content_type="multipart/form-data")


def run_id_of(response) -> int:
    body = response.get_data(as_text=True)
    assert response.status_code == 303, body[body.find("page-wrap"):][:1500]
    return int(re.search(r"/data-imports/(\d+)", response.headers["Location"]).group(1))


def selected(html: str, index: int) -> str:
    select = re.search(rf'<select[^>]*name="map-{index}".*?</select>', html, re.S).group(0)
    m = re.search(r'<option value="([^"]*)" selected', select)
    return m.group(1) if m else ""


def test_upload_map_preview_run_and_result(admin, services):
    services.records.create(SYSTEM, "company", {"name": "Acme", "code": "C-1"})
    assert 'id="import-data-link"' in admin.html("/app/")          # in the app menu
    home = admin.html("/app/data-import")
    assert 'data-object="deal"' in home and "org-export-link" in home
    body = "Deal Name,Company,Amount,Notes\nOne,Acme,10,x\nTwo,Nobody,,y\nThree,,oops,z\n".encode()
    run_id = run_id_of(upload(admin, "deal", body))
    page = admin.html(f"/app/data-imports/{run_id}")
    assert [selected(page, i) for i in range(4)] == ["name", "company.name", "amount", ""]   # auto-matched
    assert "e.g. One, Two, Three" in page and "e.g. 10, oops" in page     # the first rows' values
    form = {"map-0": "name", "map-1": "company.name", "map-2": "amount", "map-3": "", "operation": "insert",
            "save_as": "deals from CRM"}
    preview = admin.post(f"/app/data-imports/{run_id}/preview", data=form)
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200, text[:2000]
    assert "2 with errors" in text and "there is no company with name &#39;Nobody&#39;" in text
    assert "is not a number" in text or "not a valid number" in text or "oops" in text
    assert services.records.query(SYSTEM, "deal").records == []          # a preview keeps nothing
    r = admin.post(f"/app/data-imports/{run_id}/start")
    assert r.status_code == 303
    assert admin.get(f"/app/_api/imports/{run_id}").json["status"] == "queued"
    assert "Waiting for a worker" in admin.html(f"/app/data-imports/{run_id}") or "Importing" in \
        admin.html(f"/app/data-imports/{run_id}")
    jobs.run_import(services, run_id)
    status = admin.get(f"/app/_api/imports/{run_id}").json
    assert (status["status"], status["error_count"], status["created"]) == ("failed", 2, 0)
    result = admin.html(f"/app/data-imports/{run_id}")
    assert "Nothing was imported." in result and "Download the 2 errors" in result
    errors = admin.get(f"/app/data-imports/{run_id}/errors.csv")
    assert errors.headers["Content-Disposition"].startswith("attachment")
    report = errors.get_data().decode("utf-8-sig")
    assert "3,Company,company,there is no company with name 'Nobody'" in report
    assert "4,Amount,amount," in report

    # the saved mapping is offered for the next file, and a clean file imports
    run_id = run_id_of(upload(admin, "deal", "Title,Firm\nFour,Acme\n".encode()))
    page = admin.html(f"/app/data-imports/{run_id}")
    assert "deals from CRM" in page
    form = {"map-0": "name", "map-1": "company.name", "operation": "insert"}
    assert admin.post(f"/app/data-imports/{run_id}/preview", data=form).status_code == 200
    admin.post(f"/app/data-imports/{run_id}/start")
    jobs.run_import(services, run_id)
    result = admin.html(f"/app/data-imports/{run_id}")
    assert "Imported 1 deals" in result, result[result.find("import-result"):][:500]
    deals = services.records.query(SYSTEM, "deal", fields="name,company").records
    assert [d["name"] for d in deals] == ["Four"] and deals[0]["company"] is not None


def test_upsert_by_a_key_through_the_wizard(admin, services):
    services.records.create(SYSTEM, "company", {"name": "Acme", "code": "C-1", "employees": 5})
    run_id = run_id_of(upload(admin, "company", b"code,employees,name\nC-1,6,\nC-2,7,Globex\n"))
    form = {"map-0": "code", "map-1": "employees", "map-2": "name", "operation": "upsert", "match_field": "code"}
    assert admin.post(f"/app/data-imports/{run_id}/preview", data=form).status_code == 200
    admin.post(f"/app/data-imports/{run_id}/start")
    jobs.run_import(services, run_id)
    status = admin.get(f"/app/_api/imports/{run_id}").json
    assert (status["status"], status["created"], status["updated"]) == ("done", 1, 1), status["message"]


def test_bad_uploads_and_mappings_are_refused_clearly(app, admin, login, services):
    r = upload(admin, "company", b"name\nCaf\xe9\n")
    assert r.status_code == 400 and "not UTF-8 text: byte 0xE9 at line 2" in r.get_data(as_text=True)
    r = upload(admin, "company", b"name\nAcme\n", filename="data.txt")
    assert r.status_code == 400 and "expected a .csv or .xlsx file" in r.get_data(as_text=True)
    app.config["TESSERA_IMPORT_MAX_BYTES"] = 100
    r = upload(admin, "company", b"name\n" + b"a\n" * 100)
    assert r.status_code == 400 and "an import takes at most 100" in r.get_data(as_text=True)
    del app.config["TESSERA_IMPORT_MAX_BYTES"]
    r = upload(admin, "company", b"name\n")
    assert r.status_code == 400 and "no data rows" in r.get_data(as_text=True)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b"<" * (60 * 1024 * 1024))
    r = upload(admin, "company", bomb.getvalue(), filename="bomb.xlsx")
    assert r.status_code == 400 and "refused as a zip bomb" in r.get_data(as_text=True)

    rep = login("rep")
    run_id = run_id_of(upload(rep, "company", b"name,code,revenue,display\nAcme,C-1,3,x\n"))
    page = rep.html(f"/app/data-imports/{run_id}")
    assert 'value="code"' not in page and [selected(page, i) for i in range(4)] == ["name", "", "", ""]
    r = rep.post(f"/app/data-imports/{run_id}/preview",
                 data={"map-0": "name", "map-1": "code", "map-2": "revenue", "map-3": "display", "operation": "insert"})
    text = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "you cannot read company.code" in text and "company.revenue is read-only for you" in text
    assert "company.display is read-only" in text
    assert rep.post(f"/app/data-imports/{run_id}/start").status_code == 303        # not previewed: back to the map
    assert rep.get(f"/app/_api/imports/{run_id}").json["status"] == "uploaded"
    # another user's import does not exist for them
    assert admin.get(f"/app/data-imports/{run_id}").status_code == 404
    assert admin.get(f"/app/_api/imports/{run_id}").status_code == 404
    assert login("viewer").get("/app/data-import/company").status_code == 403


def test_org_export_for_admins_only(admin, login, services):
    setup = admin.html("/setup/")
    assert 'href="/app/data-import"' in setup and 'href="/app/data-export"' in setup   # linked from Setup
    rep = login("rep")
    assert rep.get("/app/data-export").status_code == 403
    assert rep.post("/app/data-export").status_code == 403
    assert "org-export-link" not in rep.html("/app/data-import")
    assert admin.post("/app/data-export").status_code == 303
    page = admin.html("/app/data-export")
    export_id = int(re.search(r'Export (\d+)', page).group(1))
    assert admin.get(f"/app/_api/data-exports/{export_id}").json["status"] == "queued"
    assert admin.get(f"/app/data-export/{export_id}.zip").status_code == 404      # not ready yet
    jobs.export_job({"export": export_id}, type("Ctx", (), {"services": services})())
    r = admin.get(f"/app/data-export/{export_id}.zip")
    assert r.status_code == 200 and r.headers["Content-Disposition"].startswith("attachment")
    assert "data/company.csv" in zipfile.ZipFile(io.BytesIO(r.get_data())).namelist()
    assert rep.get(f"/app/data-export/{export_id}.zip").status_code == 403
