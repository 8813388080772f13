"""The import wizard end to end in Chromium, the job run by a real `tessera worker` process: upload an
XLSX of accounts from the list page, map (auto-matched), preview, run with the progress page, see the
result; then a CSV of contacts with a failing row: the error file, nothing imported. Also on a
phone-sized screen. Both databases."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook

from browser_helpers import screenshot, sign_in
from tessera.security.actor import SYSTEM

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def worker(live_services, tmp_path_factory):
    url = live_services.engine.url.render_as_string(hide_password=False)
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "platform")}
    proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "worker", "--database", url, "--poll-interval", "0.1",
                             "--concurrency", "1"], env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"))
    yield proc
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


def _xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_import_accounts_then_contacts_through_the_wizard(page, live_server, live_services, worker, tmp_path):
    sign_in(page, live_server)
    page.goto(f"{live_server}/app/sales/account")
    page.wait_for_load_state("load")
    page.click("#list-settings")
    page.click("#import-records")
    page.wait_for_load_state("load")
    accounts = tmp_path / "accounts.xlsx"
    accounts.write_bytes(_xlsx([["Account Name", "Account Number", "Employees"],
                                ["Wizard Works", "WZ-1", 12], ["Import Inc", "WZ-2", 40]]))
    page.set_input_files("#import-file", str(accounts))
    page.click("#import-upload")
    page.wait_for_load_state("load")
    assert page.input_value("#map-0") == "name" and page.input_value("#map-1") == "account_number"
    assert page.input_value("#map-2") == "employees"
    page.fill("#save_as", "accounts sheet")
    page.click("#import-preview")
    page.wait_for_load_state("load")
    assert page.inner_text("#preview-ok") == "no errors"
    screenshot(page, "import_wizard_preview")
    page.click("#import-start")
    page.wait_for_selector("#import-result", timeout=30_000)     # the progress page follows the job
    assert "Imported 2 accounts" in page.inner_text("#import-result")
    screenshot(page, "import_wizard_result")
    names = {a["name"] for a in live_services.records.query(SYSTEM, "account", fields="name", limit=1000).records}
    assert {"Wizard Works", "Import Inc"} <= names

    # contacts matched to their account by name; one row names no account: nothing is imported
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/app/data-import/contact")
    page.wait_for_load_state("load")
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("First Name,Last Name,Account,Email\nAda,Lovelace,Wizard Works,ada@example.com\n"
                        "Alan,Turing,No Such Account,alan@example.com\n", encoding="utf-8")
    page.set_input_files("#import-file", str(contacts))
    page.click("#import-upload")
    page.wait_for_load_state("load")
    assert page.input_value("#map-2") == "account.name"
    page.click("#import-preview")
    page.wait_for_load_state("load")
    assert "1 with errors" in page.inner_text("#preview-failing")
    assert "there is no account with name 'No Such Account'" in page.inner_text("#import-preview-card")
    screenshot(page, "import_wizard_preview_phone")
    page.click("#import-start")
    page.wait_for_selector("#import-result", timeout=30_000)
    assert "Nothing was imported." in page.inner_text("#import-result")
    with page.expect_download() as download:
        page.click("#import-errors")
    report = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert "3,Account,account,there is no account with name 'No Such Account'" in report
    screenshot(page, "import_wizard_failed_phone")
    lasts = {c["last_name"] for c in live_services.records.query(SYSTEM, "contact", fields="last_name",
                                                                  limit=1000).records}
    assert "Lovelace" not in lasts and "Turing" not in lasts


def test_org_export_runs_on_the_worker_and_downloads(page, live_server, worker):
    sign_in(page, live_server)
    page.goto(f"{live_server}/app/data-import")
    page.wait_for_load_state("load")
    page.click("#org-export-link")
    page.wait_for_load_state("load")
    page.click("#org-export-start")
    page.wait_for_load_state("load")
    for _ in range(60):
        if page.locator("#org-exports a").count():
            break
        page.wait_for_timeout(500)
        page.reload()
    with page.expect_download() as download:
        page.click("#org-exports a")
    import zipfile
    names = zipfile.ZipFile(download.value.path()).namelist()
    assert "data/account.csv" in names and "manifest.json" in names
