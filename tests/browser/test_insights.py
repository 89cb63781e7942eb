"""Issue 11 in real Chromium: an agent marks a reply "not helpful" in the sidebar, a manager sees
it on the snippet; the analytics page draws its SVG charts from the known events and the
content-gap page lists the topic. One server and one browser for the module (conftest)."""
from __future__ import annotations

import json
import urllib.request

import pytest

from tests.browser.harness import reply_card, screenshot, wait_for_card, wait_for_sidebar

pytestmark = pytest.mark.slow
KEY = "reply/cancel-unshipped"


def sign_in(tab, server) -> None:
    password = (server.home / "demo-manager.password").read_text().strip()
    tab.goto(f"{server.url}/console/")
    if "/console/login" not in tab.url:
        return  # this browser is signed in already (an earlier test of the module)
    tab.fill('input[name="name"]', "demo-manager")
    tab.fill('input[name="password"]', password)
    with tab.expect_navigation():
        tab.click('button[type="submit"]')
    assert "/console/login" not in tab.url, tab.locator("main").inner_text()


def test_not_helpful_in_the_sidebar_is_stored_and_shows_on_the_snippet(tab, server):
    tab.goto(f"{server.url}/demo/tickets/1")
    wait_for_sidebar(tab, "ready", "1001")
    card = reply_card(tab, KEY)
    card.locator("button.not-helpful").click()
    tab.wait_for_selector(f'article.reply[data-key="{KEY}"] .feedback[data-state="sent"]', state="attached")
    assert server.query("SELECT reason FROM feedback WHERE snippet_key = ?", KEY) == [{"reason": None}]
    card.locator('.feedback button.chip[data-reason="outdated"]').click()
    tab.wait_for_selector(f'article.reply[data-key="{KEY}"] .feedback[data-reason="outdated"]', state="attached")
    [row] = server.query("SELECT ticket_id, agent, reason, language FROM feedback WHERE snippet_key = ?", KEY)
    assert row == {"ticket_id": "1001", "agent": "demo-agent", "reason": "outdated", "language": "en"}
    assert card.get_attribute("data-state") == "idle"  # the click did not insert the reply
    screenshot(tab, "insights-sidebar-not-helpful")

    console = tab.context.new_page()
    sign_in(console, server)
    console.goto(f"{server.url}/console/snippets/edit/{KEY}")
    box = console.locator("#snippet-feedback")
    box.scroll_into_view_if_needed()
    assert "1 “not helpful” from 1 agent: outdated 1" in box.inner_text()
    assert "demo-agent · outdated · ticket 1001 (en)" in box.inner_text()
    screenshot(console, "insights-snippet-feedback")
    console.close()


def test_analytics_draws_its_charts_from_the_stored_events(tab, server):
    # Known events: ticket 1 shown and its reply inserted; tickets 2 and 3 shown, nothing inserted.
    for number, ticket_id in ((1, "1001"), (2, "1002"), (3, "1003")):
        tab.goto(f"{server.url}/demo/tickets/{number}")
        wait_for_sidebar(tab, "ready", ticket_id)
    tab.goto(f"{server.url}/demo/tickets/1")
    wait_for_sidebar(tab, "ready", "1001")
    reply_card(tab, KEY).locator("button.insert").click()
    wait_for_card(tab, KEY, "inserted")

    sign_in(tab, server)
    tab.goto(f"{server.url}/console/analytics")
    charts = tab.locator("svg.chart")
    assert charts.count() == 4
    heights = tab.eval_on_selector_all("#daily svg.chart rect.bar", "els => els.map(e => e.getBBox().height)")
    stored = server.query("SELECT count(*) AS n FROM insertions")[0]["n"]
    assert stored >= 1 and max(heights) > 0  # the day's column is drawn
    assert tab.locator("#table-daily tbody tr").first.locator("td").nth(2).inner_text() == str(stored)  # today
    bars = tab.eval_on_selector_all("#snippets svg.chart rect.bar:not(.total)", "els => els.map(e => e.getBBox().width)")
    assert len(bars) >= 1 and max(bars) > 0
    row = tab.locator("#table-snippets tbody tr", has=tab.locator(f'a:text-is("{KEY}")')).first
    assert row.locator("td").nth(5).inner_text() == "1"  # inserted
    screenshot(tab, "insights-analytics")
    tab.locator("#snippets").scroll_into_view_if_needed()
    screenshot(tab, "insights-analytics-snippets")
    tab.locator("#offers").scroll_into_view_if_needed()
    screenshot(tab, "insights-analytics-offers")



def test_a_content_gap_topic_opens_the_editor_prefilled(tab, server):
    for n in range(3):  # three customers ask what the store has no answer for
        ticket = {"id": f"G-{n}", "body": f"Do you sell gift cards? I want a gift card for a birthday ({n}).",
                  "language": "en"}
        request = urllib.request.Request(f"{server.url}/api/v1/suggest", data=json.dumps({"ticket": ticket}).encode(),
                                         headers={"Authorization": f"Bearer {server.token}",
                                                  "Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=30).read()
    sign_in(tab, server)
    tab.goto(f"{server.url}/console/content-gaps")
    gaps = server.query("SELECT DISTINCT ticket_id FROM suggestion_events WHERE ticket_id NOT IN "
                        "(SELECT ticket_id FROM insertions)")
    assert tab.locator("#gap-counts strong").first.inner_text() == str(len(gaps))
    topic = tab.locator("section.topic", has=tab.locator('.badge:text-is("gift")')).first
    assert topic.get_attribute("data-size") == "3"
    screenshot(tab, "insights-content-gaps")
    topic.locator("a.write-answer").click()
    tab.wait_for_url("**/console/snippets/new?**")
    assert "gift" in tab.locator('input[name="title_en"]').input_value().lower()
    assert "content-gap" in tab.locator('input[name="tags"]').input_value()
    screenshot(tab, "insights-gap-editor")
