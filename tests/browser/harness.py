"""Real parts for the browser tests: a waitress server over a demo home, and Chromium with
the unpacked extension (Debian's /usr/bin/chromium; see ../shared/notes/browser-tests.md)."""
from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from server.process import ServerProcess
from tests.conftest import copy_demo_home, demo_token

EXTENSION = Path(__file__).resolve().parents[2] / "extension"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CHROMIUM = "/usr/bin/chromium"
START_WAIT = 60.0
# The id the manifest's `key` pins (extension/README.md says how it is derived).
EXTENSION_ID = "agdaiocgilkaohmjahdndclkkkieaaac"
SIDEBAR = "#reply-assist-sidebar"


class Server(ServerProcess):
    """A waitress process serving the demo store and the demo helpdesk."""

    def __init__(self, home: Path, token: str, port: int | None = None) -> None:
        super().__init__(home, threads=8, port=port, env={"REPLYASSIST_DEMO": "1"})
        self.token = token

    @property
    def database(self) -> Path:
        return self.home / "replyassist.sqlite3"

    def start(self, timeout: float = START_WAIT, *, wait: bool = True) -> Server:
        super().start(timeout, wait=wait)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)

    def query(self, sql: str, *params: object) -> list[dict]:
        """Rows straight from the server's SQLite file (read-only)."""
        conn = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in conn.execute(sql, params)]
        finally:
            conn.close()

    def insertion(self, ticket_id: str, key: str) -> dict | None:
        """The recorded insertion of a reply into a ticket, with its offer code if any."""
        rows = self.query(
            "SELECT i.*, c.code AS code, c.status AS code_status FROM insertions i "
            "LEFT JOIN offer_codes c ON c.id = i.offer_code_id WHERE i.ticket_id = ? AND i.snippet_key = ?",
            ticket_id, key)
        return rows[0] if rows else None


def demo_home(parent: Path, template: Path) -> tuple[Path, str]:
    """A copy of the session's demo home (see ``demo_template``); returns it and the demo agent's token."""
    home = copy_demo_home(template, parent / "home")
    return home, demo_token(home)


def launch(playwright, profile: Path | None = None):
    """Chromium with the unpacked extension; returns the context and its service worker."""
    profile = profile or Path(tempfile.mkdtemp(prefix="ra-profile-"))
    context = playwright.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, headless=True, viewport={"width": 1280, "height": 860},
        args=[f"--disable-extensions-except={EXTENSION}", f"--load-extension={EXTENSION}", "--no-sandbox",
              "--disable-gpu", "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--no-first-run"])
    worker = context.service_workers[0] if context.service_workers else context.wait_for_event("serviceworker")
    assert worker.url.startswith(f"chrome-extension://{EXTENSION_ID}/"), worker.url
    return context, worker


def configure(worker, **settings) -> None:
    """Write the extension's settings as the options page does."""
    worker.evaluate("settings => chrome.storage.local.set(settings)", settings)


def wait_for_sidebar(page, state: str = "ready", ticket_id: str | None = None, timeout: float = 15000):
    selector = f'{SIDEBAR}[data-state="{state}"]'
    if ticket_id is not None:
        selector += f'[data-ticket-id="{ticket_id}"]'
    page.wait_for_selector(selector, state="attached", timeout=timeout)
    return page.locator(SIDEBAR)


def reply_card(page, key: str):
    return page.locator(f'{SIDEBAR} article.reply[data-key="{key}"]')


def wait_for_card(page, key: str, state: str, timeout: float = 15000):
    page.wait_for_selector(f'{SIDEBAR} article.reply[data-key="{key}"][data-state="{state}"]',
                           state="attached", timeout=timeout)
    return reply_card(page, key)


def screenshot(page, name: str) -> Path:
    """Save a screenshot under tests/browser/artifacts/ (git-ignored) for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def fixture_html(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")
