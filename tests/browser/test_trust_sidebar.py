"""The sidebar keeps the shop's promises: a pending code stays out of sight, and a second
Insert never doubles the text (issue 8, defects 1 and 11). Real server, real Chromium."""
from __future__ import annotations

import json
import re
import urllib.request

import pytest

from tests.browser.harness import reply_card, screenshot, wait_for_card, wait_for_sidebar

pytestmark = pytest.mark.slow


def open_ticket(tab, server, number: int, ticket_id: str):
    tab.goto(f"{server.url}/demo/tickets/{number}")
    return wait_for_sidebar(tab, "ready", ticket_id)


def api_insert(server, key: str, ticket: dict) -> dict:
    request = urllib.request.Request(
        f"{server.url}/api/v1/insertions", method="POST", data=json.dumps({"key": key, "ticket": ticket}).encode(),
        headers={"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def test_insert_twice_puts_the_reply_in_once(tab, server):
    open_ticket(tab, server, 1, "1001")
    box = tab.locator("textarea[data-reply-box]")
    card = reply_card(tab, "reply/cancel-unshipped")
    card.locator("button.insert").click()
    wait_for_card(tab, "reply/cancel-unshipped", "inserted")
    once = box.input_value()
    card.locator("button.insert").click()
    card = wait_for_card(tab, "reply/cancel-unshipped", "inserted")
    tab.wait_for_function("() => !document.querySelector('#reply-assist-sidebar')"
                          ".shadowRoot?.querySelector('article.reply[data-state=busy]')")
    assert box.input_value() == once
    assert len(re.findall(r"SHIPFREE-[A-Z2-7]+", box.input_value())) == 1
    assert "not inserted a second time" in card.locator(".result").inner_text()


def test_a_code_waiting_for_approval_is_never_shown_and_the_sidebar_says_so(tab, server):
    # goodwill-10 (reply/price-match): past 5 codes in a day an agent's codes wait for a manager.
    for i in range(5):
        api_insert(server, "reply/price-match", {"id": f"W-{i}", "customer": {"email": f"w{i}@example.com"}})
    open_ticket(tab, server, 9, "1009")
    card = reply_card(tab, "reply/price-match")
    card.locator("button.insert").click()
    card = wait_for_card(tab, "reply/price-match", "held")
    [pending] = server.query("SELECT code FROM offer_codes WHERE ticket_id = '1009' AND status = 'pending'")
    message = card.locator(".result").inner_text()
    assert "waits for a manager's approval" in message and "Nothing was inserted" in message
    assert tab.locator("textarea[data-reply-box]").input_value() == ""
    sidebar_text = tab.evaluate("() => document.querySelector('#reply-assist-sidebar').shadowRoot.textContent")
    assert pending["code"] not in sidebar_text and pending["code"] not in tab.content()
    screenshot(tab, "trust-pending-code")
