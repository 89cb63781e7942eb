"""The extension on the demo helpdesk, end to end: real server, real SQLite, real Chromium.

A ticket opens, the sidebar draws the policy and the replies, the agent fills what is
missing and inserts; the reply (with a real offer code) lands in the helpdesk's reply box and
the insertion in the database.
"""
from __future__ import annotations

import json
import re

import pytest

from tests.browser.harness import SIDEBAR, reply_card, screenshot, wait_for_card, wait_for_sidebar

pytestmark = pytest.mark.slow

CODE = re.compile(r"SHIPFREE-[A-Z0-9]{4,}")


def open_ticket(tab, server, number: int, ticket_id: str):
    tab.goto(f"{server.url}/demo/tickets/{number}")
    return wait_for_sidebar(tab, "ready", ticket_id)


def composer(tab):
    return tab.locator("textarea[data-reply-box]")


def test_a_reply_with_an_offer_code_goes_in_at_the_cursor_and_is_recorded(tab, server):
    sidebar = open_ticket(tab, server, 1, "1001")

    policy = sidebar.locator("section.policies details.policy").first
    assert policy.get_attribute("data-key") == "policy/order_issue/manage_cancel"
    assert "Cancel an order" in policy.locator(".title").inner_text()
    card = reply_card(tab, "reply/cancel-unshipped")
    assert card.locator(".badge.ok").inner_text() == "Conditions met"
    assert "Free shipping on the next order" in card.locator(".offer").inner_text()
    assert "Hi Maria" in card.locator(".text").inner_text()
    assert card.locator(".text .gap").first.inner_text() == "[[offer.code]]"

    # The agent has started the reply: the text goes where the cursor is, not over it.
    box = composer(tab)
    box.fill("Good morning!\n\n-- \nNorthwind support")
    box.evaluate("el => el.setSelectionRange(15, 15)")
    box.press("ArrowLeft")  # a real key, so the extension records a real caret position
    box.press("ArrowRight")
    card.locator("button.insert").click()
    card = wait_for_card(tab, "reply/cancel-unshipped", "inserted")

    text = box.input_value()
    code = CODE.search(text).group(0)
    assert text.startswith("Good morning!\n\nHi Maria,\n\nNo problem at all: I have cancelled order A-10482")
    assert text.endswith("Best regards,\nAna\n\n-- \nNorthwind support")
    assert code in card.locator(".result code").inner_text()
    assert "[[" not in text

    row = server.insertion("1001", "reply/cancel-unshipped")
    assert row is not None
    assert row["code"] == code and row["code_status"] == "issued"
    assert row["agent"] == "demo-agent" and row["language"] == "en" and row["eligible"] == 1
    screenshot(tab, "demo-en-inserted")


def test_a_required_field_is_asked_for_before_inserting(tab, server):
    open_ticket(tab, server, 5, "1005")
    card = reply_card(tab, "reply/change-address")
    field = card.locator('input[name="new_address"]')
    assert field.get_attribute("required") is not None
    label = card.locator(".field label").inner_text().rstrip(" *")
    assert "address" in label.lower()

    card.locator("button.insert").click()
    assert card.get_attribute("data-state") == "error"
    assert field.get_attribute("aria-invalid") == "true"
    assert f"Fill in “{label}” first." in card.locator(".result").inner_text()
    assert composer(tab).input_value() == ""
    assert server.insertion("1005", "reply/change-address") is None

    field.click()  # as an agent does: the click must leave the focus in the field
    tab.keyboard.type("Kastanienallee 12, 10435 Berlin")
    assert field.input_value() == "Kastanienallee 12, 10435 Berlin"
    # The preview fills in as the agent types.
    assert "Kastanienallee 12" in card.locator(".text").inner_text()
    card.locator("button.insert").click()
    wait_for_card(tab, "reply/change-address", "inserted")
    assert "will now be delivered to Kastanienallee 12, 10435 Berlin." in composer(tab).input_value()
    row = server.insertion("1005", "reply/change-address")
    assert json.loads(row["fields"]) == {"new_address": "Kastanienallee 12, 10435 Berlin"}
    screenshot(tab, "demo-field-filled")


def test_an_italian_ticket_gets_italian_replies_and_an_italian_insert(tab, server):
    sidebar = open_ticket(tab, server, 2, "1002")
    assert sidebar.get_attribute("data-language") == "it"
    # The language picker names the detected language (the agent can override it there).
    assert "Italian (detected)" in sidebar.locator("select.lang-select option:checked").inner_text()
    card = reply_card(tab, "reply/cancel-unshipped")
    assert card.get_attribute("lang") == "it" and card.get_attribute("dir") == "ltr"
    assert "Annullare un ordine" in card.locator(".title").inner_text()

    card.locator("button.insert").click()
    wait_for_card(tab, "reply/cancel-unshipped", "inserted")
    text = composer(tab).input_value()
    assert text.startswith("Ciao Giulia,") and "ho annullato l'ordine A-10517" in text
    row = server.insertion("1002", "reply/cancel-unshipped")
    assert row["language"] == "it" and row["code"] == CODE.search(text).group(0)
    screenshot(tab, "demo-it-inserted")


def test_an_arabic_ticket_is_laid_out_right_to_left(tab, server):
    sidebar = open_ticket(tab, server, 3, "1003")
    assert sidebar.get_attribute("data-language") == "ar"
    replies = sidebar.locator("section.replies")
    assert replies.get_attribute("dir") == "rtl" and replies.get_attribute("lang") == "ar"
    card = reply_card(tab, "reply/cancel-unshipped")
    assert card.get_attribute("dir") == "rtl" and card.get_attribute("lang") == "ar"
    assert card.locator(".text").get_attribute("dir") == "auto"
    # Right-to-left for real: the title's text hugs the card's right edge.
    assert card.locator(".title").evaluate("el => getComputedStyle(el).direction") == "rtl"
    # The sidebar's own English stays left-to-right.
    assert card.locator(".result").get_attribute("dir") == "ltr"

    card.locator("button.insert").click()
    wait_for_card(tab, "reply/cancel-unshipped", "inserted")
    text = composer(tab).input_value()
    assert text.startswith("مرحبًا ليلى،") and "A-10533" in text
    row = server.insertion("1003", "reply/cancel-unshipped")
    assert row["language"] == "ar" and row["code"] in text
    screenshot(tab, "demo-ar-inserted")


def test_moving_to_another_ticket_without_a_reload_suggests_for_it(tab, server):
    open_ticket(tab, server, 1, "1001")
    tab.evaluate("window.__sameDocument = true")

    tab.click('nav.queue a[href$="/demo/tickets/4"]')
    sidebar = wait_for_sidebar(tab, "ready", "1004")
    assert tab.url.endswith("/demo/tickets/4")
    assert tab.evaluate("window.__sameDocument") is True  # no reload: a pushState navigation
    shipped = reply_card(tab, "reply/cancel-shipped")
    assert shipped.locator(".badge.ok").inner_text() == "Conditions met"
    assert sidebar.locator("article.reply").first.get_attribute("data-key") == "reply/cancel-shipped"
    # The unshipped-order reply no longer fits: left out, or marked so.
    assert reply_card(tab, "reply/cancel-unshipped").locator(".badge.ok").count() == 0
    screenshot(tab, "demo-spa-ticket-4")

    tab.go_back()
    wait_for_sidebar(tab, "ready", "1001")
    assert tab.evaluate("window.__sameDocument") is True
    assert reply_card(tab, "reply/cancel-unshipped").locator(".badge.ok").count() == 1


def test_a_reply_that_does_not_fit_is_inserted_only_when_the_agent_confirms(tab, server):
    sidebar = open_ticket(tab, server, 4, "1004")
    # Found by hand: the order has shipped, the reply is for unshipped orders.
    sidebar.locator("input.search").fill("cancel order not shipped free shipping code")
    tab.wait_for_selector(f'{SIDEBAR}[data-state="search-results"]', state="attached")
    card = reply_card(tab, "reply/cancel-unshipped")
    card.locator("button.insert").click()
    card = wait_for_card(tab, "reply/cancel-unshipped", "confirm")
    assert "shipped" in card.locator(".result").inner_text()
    assert composer(tab).input_value() == ""
    assert server.insertion("1004", "reply/cancel-unshipped") is None

    card.locator("button.confirm").click()
    wait_for_card(tab, "reply/cancel-unshipped", "inserted")
    assert "A-10390" in composer(tab).input_value()
    row = server.insertion("1004", "reply/cancel-unshipped")
    assert row["eligible"] == 0


def test_search_shows_highlighted_matches_and_escape_returns(tab, server):
    sidebar = open_ticket(tab, server, 1, "1001")
    search = sidebar.locator("input.search")
    search.fill("password reset")
    tab.wait_for_selector(f'{SIDEBAR}[data-state="search-results"]', state="attached")
    hits = sidebar.locator("section.results article.card")
    assert hits.count() >= 1
    marks = [m.lower() for m in sidebar.locator("section.results mark").all_inner_texts()]
    assert any(m.startswith("password") for m in marks), marks
    keys = [hits.nth(i).get_attribute("data-key") for i in range(hits.count())]
    assert "reply/password-reset" in keys
    screenshot(tab, "demo-search")

    search.press("Escape")
    wait_for_sidebar(tab, "ready", "1001")
    assert sidebar.locator("section.replies article.reply").count() >= 2


def test_keyboard_choose_insert_and_close(tab, server):
    sidebar = open_ticket(tab, server, 9, "1009")
    cards = sidebar.locator("section.replies article.reply")
    first_key, second_key = cards.nth(0).get_attribute("data-key"), cards.nth(1).get_attribute("data-key")
    assert cards.nth(0).get_attribute("aria-selected") == "true"

    box = composer(tab)
    box.click()
    tab.keyboard.press("Alt+Shift+ArrowDown")
    assert cards.nth(1).get_attribute("aria-selected") == "true"
    tab.keyboard.press("Alt+Shift+ArrowUp")
    assert cards.nth(0).get_attribute("aria-selected") == "true"
    assert first_key != second_key
    # Choosing a reply leaves the agent typing where they were.
    assert tab.evaluate("document.activeElement.matches('textarea[data-reply-box]')")

    tab.keyboard.press("Alt+Shift+Enter")
    wait_for_card(tab, first_key, "inserted")
    assert "Hi Sam" in box.input_value()

    tab.keyboard.press("Alt+Shift+R")
    assert sidebar.get_attribute("data-open") == "false"
    assert sidebar.locator(".panel").is_hidden() and sidebar.locator(".tab").is_visible()
    tab.keyboard.press("Alt+Shift+R")
    assert sidebar.get_attribute("data-open") == "true"


def _set_verified_at(database, key: str, at: str | None) -> str | None:
    """Change a snippet's row by hand, logged as every write of the app is (server/readcache.py
    follows the log); the value it had."""
    from server.db import open_store

    store = open_store(str(database))
    try:
        with store.transaction():
            was = store.get_snippet(key)["verified_at"]
            store.conn.execute("UPDATE snippets SET verified_at = ? WHERE key = ?", (at, key))
            store.log_index_write([key], "snippets")
        return was
    finally:
        store.close()


def test_a_reply_overdue_for_verification_is_flagged(tab, server):
    key = "reply/change-address"
    # years past its 180-day check, well beyond the grace period
    was = _set_verified_at(server.database, key, "2020-01-01T00:00:00+00:00")
    try:
        open_ticket(tab, server, 5, "1005")
        card = wait_for_card(tab, key, "idle")
        assert card.locator(".badge.stale").inner_text() == "Unverified"
        others = tab.locator(f'{SIDEBAR} article.reply:not([data-key="{key}"]) .badge.stale')
        assert others.count() == 0
    finally:
        _set_verified_at(server.database, key, was)
