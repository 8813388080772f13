"""Browser tests: a live Tessera server in a thread and headless Debian Chromium via Playwright.

Chromium comes from Debian (`apt-get install chromium`, done by .ci/run): Playwright cannot
download browsers here. Screenshots of the main pages go to tests/artifacts/screenshots/.
"""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tessera.bootstrap import bootstrap
from tessera.services import Services
from tessera.web.app import create_app

CHROMIUM = os.environ.get("TESSERA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
from browser_helpers import ADMIN_PASSWORD  # noqa: E402


@pytest.fixture(scope="module")
def live_services(tmp_path_factory):
    """A bootstrapped org (core + stock apps + admin) — SQLite, or a fresh PostgreSQL schema."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.schema import CreateSchema, DropSchema

    from tessera.storage.engine import normalize_url
    pg = os.environ.get("TESSERA_TEST_DATABASE_URL")
    schema = None
    if pg:
        import uuid
        schema = f"b_{uuid.uuid4().hex[:12]}"
        admin = create_engine(normalize_url(pg))
        with admin.begin() as conn:
            conn.execute(CreateSchema(schema))
        url = make_url(normalize_url(pg)).update_query_dict({"options": f"-csearch_path={schema}"}) \
            .render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'tessera.db'}"
    services = Services.open(url, poll_seconds=0)
    bootstrap(services, admin_password=ADMIN_PASSWORD)
    yield services
    services.engine.dispose()
    if schema:
        with admin.begin() as conn:
            conn.execute(DropSchema(schema, cascade=True))
        admin.dispose()


@pytest.fixture(scope="module")
def live_server(live_services):
    """Base URL of the app served over HTTP on 127.0.0.1 (Chromium treats it as a secure context,
    so the Secure session cookie works)."""
    app = create_app(services=live_services)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium (see .ci/run)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    pg = context.new_page()
    yield pg
    context.close()
