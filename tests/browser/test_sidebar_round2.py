"""The sidebar, round 2, in real Chromium on the demo helpdesk (one server, one browser for the module).

Repeat contacts, a panel that leaves the composer free and the top Insert in view, docking and
resizing, the language override, values in the reply's language, rendered search previews,
conditions apart from relevance, favourites and recent replies, plain-language errors and
sending a reply without its code when a limit refuses it, and a font stack that draws Japanese.
"""
from __future__ import annotations

import re

import pytest

from tests.browser.harness import EXTENSION_ID, SIDEBAR, reply_card, screenshot, wait_for_card, wait_for_sidebar

pytestmark = pytest.mark.slow

CODE = re.compile(r"SHIPFREE-[A-Z0-9]{4,}")


def open_ticket(tab, server, number: int, ticket_id: str):
    tab.goto(f"{server.url}/demo/tickets/{number}")
    return wait_for_sidebar(tab, "ready", ticket_id)


def as_customer(tab, server, ticket_id: str, email: str, subject: str) -> str:
    """Demo ticket 1 served as another ticket of a customer (Playwright answers with the edited page)."""
    url = f"{server.url}/demo/tickets/1?as={ticket_id}"

    def edit(route):
        page = route.fetch().text()
        page = page.replace('data-ticket-id="1001"', f'data-ticket-id="{ticket_id}"')
        page = page.replace('data-customer-email="maria.keller@example.com"', f'data-customer-email="{email}"')
        page = page.replace("Cancel my order before it ships</h1>", f"{subject}</h1>")
        route.fulfill(body=page, headers={"Content-Type": "text/html; charset=utf-8"})

    tab.route(url, edit)
    return url


def rect(locator) -> dict:
    return locator.bounding_box()


def panel_box(tab) -> dict:
    return tab.locator(f"{SIDEBAR} .panel").bounding_box()


def composer(tab):
    return tab.locator("textarea[data-reply-box]")


def test_the_third_contact_of_a_customer_shows_a_banner_and_alerts_customer_success(tab, server):
    # Three tickets of one customer: her address as the shop has it, in other case, with a sub-address.
    first = as_customer(tab, server, "2001", "maria.keller@example.com", "Late delivery")
    second = as_customer(tab, server, "2002", "Maria.Keller@Example.COM", "Refund")
    third = as_customer(tab, server, "2003", "maria.keller+returns@example.com", "Still nothing")
    tab.goto(first)
    wait_for_sidebar(tab, "ready", "2001")
    tab.goto(second)
    sidebar = wait_for_sidebar(tab, "ready", "2002")
    assert sidebar.locator("section.repeat").count() == 0  # two contacts: no alarm yet
    tab.goto(third)
    sidebar = wait_for_sidebar(tab, "ready", "2003")
    banner = sidebar.locator("section.repeat")
    assert banner.inner_text().startswith("3rd contact in 14 days: earlier about Refund, Late delivery")
    links = banner.locator("a")
    assert [links.nth(i).get_attribute("href") for i in range(links.count())] == [second, first]
    screenshot(tab, "round2-repeat-contact")

    banner.locator("button.alert-cs").click()
    tab.wait_for_function(f"""() => document.querySelector('{SIDEBAR}').shadowRoot
        .querySelector('button.alert-cs').textContent === 'Customer success alerted'""")
    [alert] = server.query("SELECT customer, ticket_id, agent, contacts FROM contact_alerts")
    assert alert == {"customer": "maria.keller@example.com", "ticket_id": "2003", "agent": "demo-agent", "contacts": 3}
    tab.reload()
    sidebar = wait_for_sidebar(tab, "ready", "2003")
    assert sidebar.locator("button.alert-cs").is_disabled()  # recorded once, shown as done


def test_the_top_insert_is_in_view_and_the_composer_free_at_1280x800_and_1024x768(tab, server):
    tab.set_viewport_size({"width": 1280, "height": 800})
    for number in range(1, 11):
        sidebar = open_ticket(tab, server, number, str(1000 + number))
        insert = rect(sidebar.locator("section.replies article.reply").first.locator("button.insert"))
        assert insert["y"] + insert["height"] <= 800, f"ticket {number}: Insert at {insert}"
        assert rect(composer(tab))["x"] + rect(composer(tab))["width"] <= panel_box(tab)["x"], number
        if number in (1, 7):
            screenshot(tab, f"round2-ticket{number}-1280x800")
    tab.set_viewport_size({"width": 1024, "height": 768})
    for number in (1, 3):
        sidebar = open_ticket(tab, server, number, str(1000 + number))
        left = panel_box(tab)["x"]
        assert rect(composer(tab))["x"] + rect(composer(tab))["width"] <= left
        assert rect(tab.locator("section.facts"))["x"] + rect(tab.locator("section.facts"))["width"] <= left
        insert = rect(sidebar.locator("section.replies article.reply").first.locator("button.insert"))
        assert insert["y"] + insert["height"] <= 768
        screenshot(tab, f"round2-ticket{number}-1024x768")
    tab.set_viewport_size({"width": 1280, "height": 800})


def test_the_panel_resizes_docks_left_and_remembers(tab, server):
    tab.set_viewport_size({"width": 1280, "height": 800})
    open_ticket(tab, server, 1, "1001")
    before = panel_box(tab)
    grip = tab.locator(f"{SIDEBAR} .resizer")
    box = rect(grip)
    tab.mouse.move(box["x"] + 3, box["y"] + 300)
    tab.mouse.down()
    tab.mouse.move(box["x"] - 97, box["y"] + 300, steps=5)
    tab.mouse.up()
    after = panel_box(tab)
    assert abs(after["width"] - (before["width"] + 100)) <= 2
    assert tab.evaluate("getComputedStyle(document.documentElement).marginRight") == f"{round(after['width'])}px"

    tab.locator(f"{SIDEBAR} button.dock").click()
    docked = panel_box(tab)
    assert docked["x"] == 0 and rect(composer(tab))["x"] >= docked["width"]
    tab.reload()
    wait_for_sidebar(tab, "ready", "1001")
    assert panel_box(tab)["x"] == 0 and abs(panel_box(tab)["width"] - after["width"]) <= 2  # kept
    screenshot(tab, "round2-docked-left")
    tab.locator(f"{SIDEBAR} button.dock").click()  # back to the right for the other tests
    tab.evaluate("() => 0")
    assert panel_box(tab)["x"] > 600
    # Closed, the page has its whole width back.
    tab.keyboard.press("Alt+Shift+R")
    assert tab.evaluate("getComputedStyle(document.documentElement).marginRight") == "0px"
    tab.keyboard.press("Alt+Shift+R")


def test_the_agent_can_override_the_detected_language(tab, server):
    sidebar = open_ticket(tab, server, 1, "1001")
    assert sidebar.get_attribute("data-language") == "en"
    sidebar.locator("select.lang-select").select_option("it")
    wait_for_sidebar(tab, "ready", "1001")
    tab.wait_for_selector(f'{SIDEBAR}[data-language="it"][data-state="ready"]', state="attached")
    card = reply_card(tab, "reply/change-address")
    assert card.get_attribute("lang") == "it"
    assert sidebar.locator("select.lang-select").input_value() == "it"
    card.locator('input[name="new_address"]').fill("Via Roma 1, Milano")
    card.locator("button.insert").click()
    wait_for_card(tab, "reply/change-address", "inserted")
    assert composer(tab).input_value().startswith("Ciao Maria")
    assert server.insertion("1001", "reply/change-address")["language"] == "it"
    sidebar.locator("select.lang-select").select_option("")  # back to the detected one
    tab.wait_for_selector(f'{SIDEBAR}[data-language="en"][data-state="ready"]', state="attached")


def test_values_and_dates_read_in_the_replys_language(tab, server):
    open_ticket(tab, server, 7, "1007")
    text = reply_card(tab, "reply/order-status").locator(".text").inner_text()
    assert "「発送済み」" in text and "shipped" not in text
    open_ticket(tab, server, 2, "1002")
    card = reply_card(tab, "reply/cancel-unshipped")
    card.locator("button.insert").click()
    wait_for_card(tab, "reply/cancel-unshipped", "inserted")
    inserted = composer(tab).input_value()
    assert re.search(r"\(valido fino al \d{1,2} [a-z]+ \d{4}\)", inserted), inserted
    assert not re.search(r"\d{4}-\d{2}-\d{2}", inserted)


def test_search_hits_show_the_reply_rendered_for_this_ticket(tab, server):
    sidebar = open_ticket(tab, server, 1, "1001")
    sidebar.locator("input.search").fill("password reset")
    tab.wait_for_selector(f'{SIDEBAR}[data-state="search-results"]', state="attached")
    hit = sidebar.locator('section.results article.reply[data-key="reply/password-reset"]')
    preview = hit.locator(".text").inner_text()
    assert preview.startswith("Hi Maria") and "maria.keller@example.com" in preview
    assert "{{" not in sidebar.locator("section.results").inner_text()
    assert hit.locator(".title").inner_text() == "Cannot log in: password reset link"  # whole, not cut
    assert hit.locator("mark").count() >= 1
    screenshot(tab, "round2-search")
    sidebar.locator("input.search").press("Escape")


def test_conditions_met_is_told_apart_from_no_conditions_and_from_relevance(tab, server):
    sidebar = open_ticket(tab, server, 1, "1001")
    assert reply_card(tab, "reply/cancel-unshipped").locator(".badge.ok").inner_text() == "Conditions met"
    cards = sidebar.locator("section.replies article.reply")
    labels = [cards.nth(i).locator(".badges .badge").first.inner_text() for i in range(cards.count())]
    assert "No conditions" in labels, labels
    levels = [cards.nth(i).locator(".match").get_attribute("data-level") for i in range(cards.count())]
    assert levels[0] == "3" and all(level in {"1", "2", "3"} for level in levels)
    assert "match" in cards.nth(0).locator(".match").inner_text().lower()


def test_favourites_and_recent_replies_follow_the_agent(tab, server):
    sidebar = open_ticket(tab, server, 6, "1006")
    card = sidebar.locator("section.replies article.reply").first
    key = card.get_attribute("data-key")
    card.locator("button.star").click()
    tab.wait_for_selector(f'{SIDEBAR} .chips .chip.fav[data-key="{key}"]', state="attached")
    # Another ticket: the favourite is there, and a recent reply (inserted in an earlier test).
    sidebar = open_ticket(tab, server, 8, "1008")
    chips = sidebar.locator(".chips .chip")
    assert chips.first.get_attribute("data-key") == key
    assert sidebar.locator(".chips .chip.recent").count() >= 1
    chips.first.click()
    tab.wait_for_selector(f'{SIDEBAR}[data-state="search-results"]', state="attached")
    shown = sidebar.locator(f'section.results article.reply[data-key="{key}"]')
    assert shown.locator(".text").inner_text().startswith("Halo Dewi,")  # rendered for this ticket, in its language
    assert shown.locator("button.star").get_attribute("aria-pressed") == "true"
    screenshot(tab, "round2-favourites")
    shown.locator("button.star").click()
    tab.wait_for_function(f"""() => !document.querySelector('{SIDEBAR}').shadowRoot
        .querySelector('.chips .chip.fav[data-key="{key}"]')""")


def test_a_refused_code_reads_plainly_and_the_reply_can_go_without_it(tab, server):
    open_ticket(tab, server, 5, "1005")  # any ticket: warm up the worker
    url = as_customer(tab, server, "2004", "maria.keller+again@example.com", "Cancel another order")
    if server.insertion("1001", "reply/cancel-unshipped") is None:  # the offer's one code for Maria
        open_ticket(tab, server, 1, "1001")
        reply_card(tab, "reply/cancel-unshipped").locator("button.insert").click()
        wait_for_card(tab, "reply/cancel-unshipped", "inserted")
    tab.goto(url)
    wait_for_sidebar(tab, "ready", "2004")
    card = reply_card(tab, "reply/cancel-unshipped")
    card.locator("button.insert").click()
    card = wait_for_card(tab, "reply/cancel-unshipped", "refused")
    message = card.locator(".result").inner_text()
    assert "already had this offer recently" in message
    assert not re.search(r"\d{4}-\d{2}-\d{2}T", message) and "errors" not in message
    assert composer(tab).input_value() == ""
    screenshot(tab, "round2-limit-refused")

    card.locator("button.without-code").click()
    card = wait_for_card(tab, "reply/cancel-unshipped", "inserted")
    text = composer(tab).input_value()
    assert text.startswith("Hi Maria") and not CODE.search(text) and "[[" not in text and "code" not in text
    assert "without the code" in card.locator(".result").inner_text()
    [row] = server.query("SELECT w.offer_key, w.reason FROM withheld_offers w JOIN insertions i "
                         "ON i.id = w.insertion_id WHERE i.ticket_id = '2004'")
    assert row == {"offer_key": "free-shipping", "reason": "per_customer"}


def test_errors_are_said_in_plain_words(chromium):
    page = chromium.new_page()
    try:
        page.goto(f"chrome-extension://{EXTENSION_ID}/options/options.html")
        said = page.evaluate("""async () => {
            const { plainMessage } = await import('/sidebar/errors.js');
            return [
              plainMessage({ kind: 'validation', detail: "Fill in the reply's fields before inserting it; see `errors`.",
                             fields: { new_address: ["Required: fill in 'New delivery address' before inserting."] } },
                           (name) => name === 'new_address' ? 'New delivery address' : name),
              plainMessage({ kind: 'conflict', limit: 'per_customer', availableFrom: '2027-03-01T06:08:18+00:00',
                             detail: 'maria@example.com already received 1 code(s) ... from 2027-03-01T06:08:18+00:00.' }),
              plainMessage({ kind: 'validation', detail: 'The request body or query failed validation; see `errors`.',
                             errors: { ticket: { id: ['Missing data for required field.'] } } }),
            ];
        }""")
    finally:
        page.close()
    assert said[0] == ("Check this field: New delivery address: Required: fill in 'New delivery address' "
                       "before inserting.")
    assert said[1].startswith("This customer already had this offer recently") and "1 Mar 2027" in said[1]
    assert "see `errors`" not in said[2] and "Missing data for required field" in said[2]


def test_japanese_is_drawn_with_a_cjk_font(tab, server):
    sidebar = open_ticket(tab, server, 7, "1007")
    family = sidebar.evaluate("el => getComputedStyle(el.shadowRoot.querySelector('.panel')).fontFamily")
    assert "Noto Sans CJK JP" in family and "IPAGothic" in family
    # The installed CJK font is really used: it has the glyph, so the check is true.
    assert tab.evaluate("() => document.fonts.check('13px IPAGothic', '注文')")
    screenshot(tab, "round2-ja")
