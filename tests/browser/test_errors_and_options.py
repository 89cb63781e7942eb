"""What the agent sees when something is wrong: the backend down, a refused token, another
origin; and the options page's connection test."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from server.process import free_port
from tests.browser.harness import EXTENSION_ID, Server, configure, screenshot, wait_for_sidebar
from tests.conftest import DEMO_SNIPPETS

pytestmark = pytest.mark.slow

OPTIONS = f"chrome-extension://{EXTENSION_ID}/options/options.html"


@pytest.fixture
def settings(chromium, server):
    """Each test changes the extension's settings; put the working ones back afterwards."""
    yield lambda **values: configure(chromium.worker, **values)
    configure(chromium.worker, backendUrl=server.url, token=server.token)


def test_backend_down_shows_the_error_and_retry_recovers(tab, server, settings):
    # A second server over the same store, on a port where nothing listens yet.
    backup = Server(home=server.home, token=server.token)
    settings(backendUrl=backup.url)
    try:
        tab.goto(f"{server.url}/demo/tickets/1")
        sidebar = wait_for_sidebar(tab, "error", "1001")
        assert sidebar.get_attribute("data-error-kind") == "network"
        error = sidebar.locator(".error")
        assert error.locator("h2").inner_text() == "Reply Assist is unreachable"
        assert f"Can't reach Reply Assist at {backup.url}" in error.locator(".detail").inner_text()
        screenshot(tab, "error-backend-down")

        backup.start()
        error.locator("button.retry").click()
        wait_for_sidebar(tab, "ready", "1001")
        assert sidebar.locator("article.reply").count() >= 1
    finally:
        backup.stop()


def test_a_refused_token_says_so_and_offers_the_options(tab, server, settings):
    settings(token="ra_not-a-real-token")
    tab.goto(f"{server.url}/demo/tickets/2")
    sidebar = wait_for_sidebar(tab, "error", "1002")
    assert sidebar.get_attribute("data-error-kind") == "auth"
    assert sidebar.locator(".error h2").inner_text() == "Your token was refused"
    assert "The server refused the token" in sidebar.locator(".error .detail").inner_text()
    assert sidebar.locator(".error button", has_text="Open options").count() == 1
    screenshot(tab, "error-token-refused")

    # Fixing the token in the options applies at once: the sidebar asks again by itself.
    settings(token=server.token)
    wait_for_sidebar(tab, "ready", "1002")


def test_no_token_yet_says_to_set_one(tab, server, settings):
    settings(token="")
    tab.goto(f"{server.url}/demo/tickets/6")
    sidebar = wait_for_sidebar(tab, "error", "1006")
    assert sidebar.get_attribute("data-error-kind") == "not-configured"
    assert "Set your API token" in sidebar.locator(".error .detail").inner_text()


def test_a_ticket_nothing_fits_says_so(tab):
    page = """<!doctype html><html><body><div data-ticket-id="e-1"><h1>Zxqv</h1>
              <article class="ticket-body">Plorb wembly gorf zxqv.</article></div><textarea></textarea></body></html>"""
    tab.route("http://localhost:9/odd/1", lambda route: route.fulfill(status=200, content_type="text/html", body=page))
    tab.goto("http://localhost:9/odd/1")
    sidebar = wait_for_sidebar(tab, "empty", "e-1")
    assert "Nothing in the knowledge base fits this ticket" in sidebar.locator(".empty").inner_text()
    assert sidebar.locator("article.reply").count() == 0


def test_options_test_connection_accepts_a_good_token(tab, server):
    tab.goto(OPTIONS)
    tab.fill("#backendUrl", server.url)
    tab.fill("#token", server.token)
    tab.click("#test")
    result = tab.locator('#test-result[data-ok="true"]')
    result.wait_for()
    assert "Connected" in result.inner_text() and f"{DEMO_SNIPPETS} snippets" in result.inner_text()
    screenshot(tab, "options-connected")


@pytest.mark.parametrize(("url", "token", "says"), [
    ("{server}", "ra_wrong-token", "The server refused the token: This API token is not valid"),
    ("{closed}", "ra_whatever", "Can't reach Reply Assist at {closed}. Is the server running?"),
    ("{server}", "", "The server answers. Now paste your API token."),
    ("not a url", "ra_x", "is not a URL"),
    ("{server}/demo/tickets", "ra_x", "answered HTTP 404"),
], ids=["bad-token", "unreachable", "no-token", "not-a-url", "not-reply-assist"])
def test_options_test_connection_says_what_is_wrong(tab, server, url, token, says):
    closed = f"http://127.0.0.1:{free_port()}"
    tab.goto(OPTIONS)
    tab.fill("#backendUrl", url.format(server=server.url, closed=closed))
    tab.fill("#token", token)
    tab.click("#test")
    result = tab.locator('#test-result[data-ok="false"]')
    result.wait_for()
    assert says.format(closed=closed) in result.inner_text()
    if token == "ra_wrong-token":
        screenshot(tab, "options-token-refused")


def test_options_save_what_the_sidebar_uses(tab, chromium, server, settings):
    tab.goto(OPTIONS)
    assert tab.input_value("#backendUrl") == server.url
    assert tab.locator("#extension-id").inner_text() == f"chrome-extension://{EXTENSION_ID}"
    tab.fill("#agentName", "Bea")
    tab.fill("#sel-body", ".conversation .latest")
    tab.click("#save")
    tab.locator('#save-result[data-ok="true"]').wait_for()
    stored = chromium.worker.evaluate("chrome.storage.local.get(null)")
    assert stored["agentName"] == "Bea" and stored["genericSelectors"] == {"body": ".conversation .latest"}
    assert stored["backendUrl"] == server.url and stored["token"] == server.token
    settings(agentName="", genericSelectors={})


def test_a_page_of_another_origin_is_refused_by_the_api(tab, server):
    # localhost is another origin than 127.0.0.1 for the browser: a page there calling the
    # API sends its Origin, and the server refuses it before any view runs.
    port = server.port
    tab.goto(f"http://localhost:{port}/demo/tickets/1")
    answer = tab.evaluate(
        """async (url) => {
             const r = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' },
                                         body: JSON.stringify({ ticket: { id: 'x', body: 'cancel' } }) })
               .catch((e) => null);
             return r === null ? 'blocked' : r.status;
           }""",
        f"http://127.0.0.1:{port}/api/v1/suggest")
    assert answer == "blocked"  # no CORS header for that origin, so the page sees nothing
    # What the server answered that page:
    request = urllib.request.Request(f"{server.url}/api/v1/suggest", method="POST", data=b"{}",
                                     headers={"Origin": f"http://localhost:{port}", "Content-Type": "application/json",
                                              "Authorization": f"Bearer {server.token}"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403
    assert refused.value.headers.get_content_type() == "application/problem+json"
    assert json.loads(refused.value.read())["title"] == "Origin not allowed"
