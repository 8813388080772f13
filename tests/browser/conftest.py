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


def _bootstrap(url):
    services = Services.open(url, poll_seconds=0)
    try:
        bootstrap(services, admin_password=ADMIN_PASSWORD)
    finally:
        services.engine.dispose()


@pytest.fixture(scope="module")
def live_services(tmp_path_factory, database_templates):
    """A bootstrapped org (core + stock apps + admin): a copy of a template bootstrapped once per
    test process (tests/databases.py), SQLite or PostgreSQL."""
    copies = database_templates.copy("bootstrap", _bootstrap, tmp_path_factory.mktemp("browser"))
    url = next(copies)
    services = Services.open(url, poll_seconds=0)
    yield services
    services.engine.dispose()
    next(copies, None)        # drops the copy


@pytest.fixture(scope="module")
def live_server(live_services):
    """Base URL of the app served over HTTP on 127.0.0.1 (the session cookie is Secure only over
    HTTPS: web/proxies.py)."""
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
