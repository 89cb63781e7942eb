"""Fixtures for the real-Chromium tests: one demo server and one browser per module.

Playwright comes from pytest-playwright's session `playwright` fixture; its `browser` and
`page` fixtures are not used (they expect Playwright's own browser download).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.browser.harness import CHROMIUM, Server, configure, demo_home, launch


@pytest.fixture(scope="session", autouse=True)
def _chromium_present():
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail("Chromium is missing: apt-get install -y --no-install-recommends chromium (see .ci/run)")


@pytest.fixture(scope="module")
def server(tmp_path_factory, demo_template):
    """A waitress process over a fresh demo home (demo store, demo helpdesk on)."""
    home, token = demo_home(tmp_path_factory.mktemp("browser"), demo_template)
    srv = Server(home=home, token=token).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def chromium(playwright, server, tmp_path_factory):
    """Chromium with the extension, set up with the module server's URL and demo token."""
    context, worker = launch(playwright, tmp_path_factory.mktemp("profile"))
    configure(worker, backendUrl=server.url, token=server.token)
    context.worker = worker
    yield context
    context.close()


@pytest.fixture
def tab(chromium):
    """A fresh tab in the module's browser, closed after the test."""
    tab = chromium.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    yield tab
    tab.close()
    assert not errors, f"errors in the page: {errors}"
