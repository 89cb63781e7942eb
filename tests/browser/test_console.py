"""A manager walks the console in real Chromium (one server and one browser for the module):
sign in, translate, preview, save, restore, verify, approve, revoke, upload a pack. Each step
asserts what the store then holds. Screenshots go to tests/browser/artifacts/console-*.png."""
from __future__ import annotations

import json
import sqlite3
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from server import create_app
from tests.browser.harness import CHROMIUM, Server, screenshot
from tests.conftest import copy_demo_home

KEY = "reply/cancel-unshipped"
DUE = ["reply/cancel-shipped", "reply/change-address"]
PENDING = "SHIP-WAITING01"
VIEWPORT = {"width": 1280, "height": 800}


def _prepare(home: Path, template: Path) -> str:
    """A copy of the demo home, plus: a reply without its Japanese text, two snippets due, a pending code.

    Runs in-process (TESTING skips the language-model warm-up a `flask` subprocess pays).
    Returns the demo agent's token."""
    runner = create_app({"TESTING": True, "HOME": str(copy_demo_home(template, home))}).test_cli_runner()
    result = runner.invoke(args=["demo"])  # a no-op on the copy but for the token it prints
    assert result.exit_code == 0, result.output
    exported = home / "all.jsonl"
    assert runner.invoke(args=["pack", "export", str(exported)]).exit_code == 0
    line = next(json.loads(x) for x in exported.read_text(encoding="utf-8").splitlines() if json.loads(x)["key"] == KEY)
    del line["translations"]["ja"]
    pack = home / "no-ja.jsonl"
    pack.write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
    assert runner.invoke(args=["pack", "import", str(pack)]).exit_code == 0
    conn = sqlite3.connect(home / "replyassist.sqlite3")
    with conn:
        conn.execute("UPDATE snippets SET verified_at = '2020-01-01T00:00:00+00:00' WHERE key IN (?, ?)", DUE)
        conn.execute(
            "INSERT INTO offer_codes (offer_key, code, source, status, customer, agent, ticket_id, snippet_key, "
            "issued_at, expires_on) VALUES ('free-shipping', ?, 'generated', 'pending', 'tom.becker@example.com', "
            "'demo-agent', '1004', 'reply/cancel-shipped', '2026-11-30T10:00:00+00:00', '2099-01-01')", (PENDING,))
    conn.close()
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, demo_template):
    home = tmp_path_factory.mktemp("console") / "home"
    token = _prepare(home, demo_template)
    srv = Server(home=home, token=token).start()
    srv.password = (home / "demo-manager.password").read_text().strip()
    yield srv
    srv.stop()


def _intended(message: str) -> bool:
    """A form refused with 409/422 is the page answering as designed; Chrome logs it anyway."""
    return message.startswith("Failed to load resource") and ("status of 422" in message or "status of 409" in message)


@pytest.fixture(scope="module")
def console(playwright, server):
    """One signed-out console at 1280×800; console errors (a CSP refusal among them) fail the test."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
    context = browser.new_context(viewport=VIEWPORT, base_url=server.url)
    tab = context.new_page()
    tab.problems = []
    tab.on("pageerror", lambda e: tab.problems.append(str(e)))
    tab.on("console", lambda m: m.type == "error" and not _intended(m.text) and tab.problems.append(m.text))
    yield tab
    browser.close()


@pytest.fixture(autouse=True)
def _no_page_errors(console):
    yield
    problems, console.problems[:] = list(console.problems), []
    assert not problems, f"errors in the console: {problems}"


def stored(server, key: str) -> dict:
    row = server.query("SELECT * FROM snippets WHERE key = ?", key)[0]
    return {**row, "texts": json.loads(row["texts"])}


def test_sign_in_with_the_keyboard_only(console, server):
    console.goto("/console/snippets")
    assert "/console/login" in console.url
    assert console.evaluate("document.activeElement.name") == "name"  # focused on arrival
    console.keyboard.type("demo-manager")
    console.keyboard.press("Tab")
    console.keyboard.type(server.password)
    console.keyboard.press("Enter")
    console.wait_for_url("**/console/snippets")
    assert console.locator(".who").inner_text().startswith("demo-manager")
    cookie = next(c for c in console.context.cookies() if c["name"] == "ra_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    screenshot(console, "console-library")


def test_find_a_missing_translation_preview_and_save(console, server):
    console.select_option("select[name=missing]", "ja")
    console.select_option("select[name=kind]", "reply")
    console.get_by_role("button", name="Apply").click()
    console.wait_for_url("**missing=ja**")
    console.locator(f'tr[data-key="{KEY}"] a').click()
    console.wait_for_url(f"**/console/snippets/edit/{KEY}")
    assert console.locator('section[data-language="ja"]').get_attribute("data-state") == "missing"
    screenshot(console, "console-editor")

    console.fill("input[name=title_ja]", "未発送の注文をキャンセルします")
    console.fill("textarea[name=body_ja]", "{{ customer.first_name }} 様\n\nご注文 {{ order.id }} をキャンセルしました。"
                                         "送料無料コード：{{ offer.code }}\n\n{{ agent.first_name }}")
    # An unshipped ticket: it fits, and inserting would issue a code (only previewed: none is stored).
    console.select_option("#preview-ticket", "1001")
    console.wait_for_selector('#preview-eligibility[data-eligible="true"]')
    assert "Maria" in console.locator("#preview-text").inner_text()
    assert console.locator("#preview-offer").get_attribute("data-outcome") == "issued"
    # The same reply in Japanese over the same ticket.
    console.select_option("select[name=preview_language]", "ja")
    console.locator("#preview-text", has_text="キャンセルしました").wait_for()
    console.locator("#lang-ja").scroll_into_view_if_needed()
    screenshot(console, "console-editor-japanese")
    # A shipped ticket: it does not fit, and the preview says why.
    console.select_option("select[name=preview_language]", "")
    console.select_option("#preview-ticket", "1004")
    console.wait_for_selector('#preview-eligibility[data-eligible="false"]')
    assert "shipped" in console.locator("#preview-reason").inner_text()
    assert server.query("SELECT count(*) AS n FROM offer_codes WHERE status = 'issued'")[0]["n"] == 0

    before = stored(server, KEY)["version"]
    console.click("#save")
    try:  # saving writes the index too: allow for a loaded machine
        console.wait_for_selector("#notice", timeout=60_000)
    except Exception:
        screenshot(console, "console-save-failed")
        raise
    assert f"version {before + 1}" in console.locator("#notice").inner_text()
    after = stored(server, KEY)
    assert after["version"] == before + 1 and after["texts"]["ja"]["title"] == "未発送の注文をキャンセルします"
    assert after["updated_by"] == "demo-manager"


def test_see_the_new_version_and_restore_the_old(console, server):
    console.get_by_role("link", name="History").click()
    current = stored(server, KEY)["version"]
    assert console.locator("#versions tbody tr").first.get_attribute("data-version") == str(current)
    assert "title (ja)" in console.locator("#diff").text_content()
    screenshot(console, "console-history")
    console.get_by_role("button", name=f"Restore version {current - 1}").click()
    console.wait_for_selector("#notice")
    restored = stored(server, KEY)
    assert restored["version"] == current + 1 and "ja" not in restored["texts"]
    action = server.query("SELECT action FROM snippet_versions v JOIN snippets s ON s.id = v.snippet_id "
                          "WHERE s.key = ? ORDER BY v.version DESC LIMIT 1", KEY)[0]["action"]
    assert action == f"restore:{current - 1}"


def test_verify_two_due_snippets_in_bulk(console, server):
    console.get_by_role("link", name="Verification").click()
    rows = console.locator("#due tbody tr[data-key]")
    assert sorted(rows.evaluate_all("rows => rows.map(r => r.dataset.key)")) == sorted(DUE)
    for key in DUE:
        console.locator(f'tr[data-key="{key}"] input[type=checkbox]').check()
    screenshot(console, "console-verification")
    console.click("#verify-selected")
    console.wait_for_selector("#notice")
    for key in DUE:
        row = stored(server, key)
        assert row["verified_by"] == "demo-manager" and row["verified_at"] > "2026"
    assert "Nothing is due" in console.locator("#due").inner_text()


def test_approve_a_pending_code(console, server):
    console.get_by_role("link", name="Approvals").click()
    row = console.locator(f'tr[data-code="{PENDING}"]')
    row.locator("input[name=note]").fill("late parcel, approved")
    screenshot(console, "console-approvals")
    row.get_by_role("button", name="Approve").click()
    console.wait_for_selector("#notice")
    code = server.query("SELECT * FROM offer_codes WHERE code = ?", PENDING)[0]
    assert (code["status"], code["decided_by"], code["note"]) == ("issued", "demo-manager", "late parcel, approved")
    console.get_by_role("link", name="Codes").click()
    assert console.locator(f'#codes tr[data-code="{PENDING}"]').count() == 1
    screenshot(console, "console-codes")
    console.get_by_role("link", name="Offers").click()
    screenshot(console, "console-offers")


def _suggest(server) -> int:
    request = urllib.request.Request(
        f"{server.url}/api/v1/suggest", data=json.dumps({"ticket": {"id": "9", "body": "cancel my order"}}).encode(),
        headers={"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_revoke_an_agents_token(console, server):
    assert _suggest(server) == 200
    console.get_by_role("link", name="Users").click()
    console.locator('tr[data-name="demo-agent"] button[data-action="revoke"]').click()
    console.wait_for_selector("#notice")
    assert _suggest(server) == 401
    assert server.query("SELECT token_hash FROM users WHERE name = 'demo-agent'")[0]["token_hash"].startswith("revoked:")
    screenshot(console, "console-users")


def test_a_pack_with_one_bad_line_imports_nothing(console, server, tmp_path):
    lines = [{"key": "reply/pack-one", "kind": "reply", "language": "en", "title": "One", "body": "Hello"},
             {"key": "reply/pack-two", "kind": "reply", "language": "xx-bad", "title": "Two", "body": "Hi"},
             {"key": "reply/pack-three", "kind": "reply", "language": "ar", "title": "ثلاثة", "body": "مرحبا"}]
    pack = tmp_path / "bad.jsonl"
    pack.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    console.get_by_role("link", name="Packs").click()
    console.set_input_files("input[name=pack]", str(pack))
    console.get_by_role("button", name="Check (dry run)").click()
    errors = console.locator("#pack-errors li")
    errors.first.wait_for()
    assert errors.count() == 1 and errors.first.inner_text().startswith("bad.jsonl, line 2: language")
    assert console.locator("#import").count() == 0
    screenshot(console, "console-pack-error")
    assert server.query("SELECT count(*) AS n FROM snippets WHERE key LIKE 'reply/pack-%'")[0]["n"] == 0


def test_arabic_default_language_reads_right_to_left(console, server):
    console.goto("/console/snippets/new")
    console.fill("input[name=key]", "reply/arabic-hello")
    console.select_option("select[name=language]", "ar")
    console.click("#save")  # nothing typed yet: errors inline, nothing stored
    console.wait_for_selector("#form-errors")
    assert console.locator("#err-title_ar").count() == 1
    assert console.locator("input[name=title_ar]").get_attribute("dir") == "rtl"
    console.fill("input[name=title_ar]", "إلغاء الطلب قبل الشحن")
    console.fill("textarea[name=body_ar]", "مرحبًا {{ customer.first_name }}، تم إلغاء الطلب {{ order.id }}.")
    console.select_option("#preview-ticket", "1003")
    console.locator("#preview-text", has_text="ليلى").wait_for()
    assert console.locator("#preview-text").get_attribute("dir") == "rtl"
    screenshot(console, "console-editor-arabic")
    console.click("#save")
    console.wait_for_selector("#notice")
    row = stored(server, "reply/arabic-hello")
    assert row["default_language"] == "ar" and row["verified_by"] == "demo-manager" and row["status"] == "draft"
