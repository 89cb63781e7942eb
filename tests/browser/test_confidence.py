"""The sidebar says how sure a suggestion is, in words, and "no confident match" when it isn't.

Real server over the demo store, real Chromium with the extension; the pages are the generic
adapter's shape (a ticket id, a title, a body), served by Playwright.
"""
from __future__ import annotations

import pytest

from tests.browser.harness import screenshot, wait_for_sidebar

pytestmark = pytest.mark.slow


def open_page(tab, ticket_id: str, title: str, body: str):
    page = f"""<!doctype html><html><body><div data-ticket-id="{ticket_id}"><h1>{title}</h1>
               <article class="ticket-body">{body}</article></div><textarea></textarea></body></html>"""
    url = f"http://localhost:9/conf/{ticket_id}"
    tab.route(url, lambda route: route.fulfill(status=200, content_type="text/html", body=page))
    tab.goto(url)
    return wait_for_sidebar(tab, "ready", ticket_id)


def test_a_clear_ticket_shows_a_likely_match(tab):
    sidebar = open_page(tab, "c-1", "Can't log in",
                        "I forgot my password and can't log in to my account, please send me a reset link.")
    first = sidebar.locator("article.reply").first
    assert first.get_attribute("data-key") == "reply/password-reset"
    assert first.locator(".match").inner_text().strip() == "Likely match"
    assert sidebar.locator(".no-match").count() == 0
    assert sidebar.locator("section.replies h2").text_content() == "Replies"
    screenshot(tab, "confidence-likely")


def test_a_weak_guess_says_no_confident_match(tab):
    sidebar = open_page(tab, "c-2", "Question", "Hi, a question about my thing from last week.")
    notice = sidebar.locator(".no-match")
    assert "No confident match" in notice.inner_text()
    assert sidebar.locator("section.replies h2").text_content() == "Closest replies"
    badges = [b.strip() for b in sidebar.locator("article.reply .match").all_inner_texts()]
    assert badges and set(badges) == {"Weak guess"}
    screenshot(tab, "confidence-none")
