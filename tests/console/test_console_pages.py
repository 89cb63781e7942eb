"""The managers' console over the test client: sign-in and its protections, and each page's
writes, asserting what the store then holds. (tests/browser/test_console.py walks it in Chromium.)"""
from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from server import create_app, people
from server.auth import create_user
from server.db import open_store
from tests.conftest import copy_demo_home

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
XSS = '<script>alert(1)</script><img src=x onerror=alert(2)>"\'&'


def token_of(page) -> str:
    return CSRF.search(page.get_data(as_text=True)).group(1)


def sign_in(client, name: str, password: str):
    page = client.get("/console/login")
    return client.post("/console/login", data={"csrf_token": token_of(page), "name": name, "password": password})


def post(client, url: str, data: dict | None = None, page: str | None = None, **kwargs):
    """POST a console form with the CSRF token of the page it lives on."""
    token = token_of(client.get(page or "/console/users"))
    return client.post(url, data={"csrf_token": token, **(data or {})}, **kwargs)


@pytest.fixture
def demo(demo_template, tmp_path):
    """An app over a fresh copy of the demo home (store, index, demo manager)."""
    return create_app({"TESTING": True, "HOME": str(copy_demo_home(demo_template, tmp_path / "home"))})


@pytest.fixture
def home(demo) -> Path:
    return Path(demo.config["HOME"])


@pytest.fixture
def manager_client(demo, home):
    client = demo.test_client()
    password = (home / "demo-manager.password").read_text().strip()
    assert sign_in(client, "demo-manager", password).status_code == 302
    return client


@pytest.fixture
def db(demo):
    s = open_store(demo.config["DATABASE"])
    yield s
    s.close()


def make_person(db, name: str, role: str, password: str = "correct horse battery") -> str:
    token = create_user(db, name, role)
    people.set_password(db, name, password)
    return token


# -- sign-in ------------------------------------------------------------------------------------
def test_pages_need_sign_in_and_the_cookie_is_locked_down(demo, home):
    client = demo.test_client()
    r = client.get("/console/snippets")
    assert r.status_code == 302 and "/console/login" in r.headers["Location"]
    password = (home / "demo-manager.password").read_text().strip()
    r = sign_in(client, "demo-manager", password)
    cookie = next(c for c in r.headers.getlist("Set-Cookie") if c.startswith("ra_console="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # plain http here; over https the flag is set (next test)
    page = client.get("/console/snippets")
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp


def test_cookie_is_secure_over_https(demo, home):
    client = demo.test_client()
    password = (home / "demo-manager.password").read_text().strip()
    page = client.get("/console/login", base_url="https://localhost")
    r = client.post("/console/login", base_url="https://localhost",
                    data={"csrf_token": token_of(page), "name": "demo-manager", "password": password})
    assert any(c.startswith("ra_console=") and "Secure" in c for c in r.headers.getlist("Set-Cookie"))


def test_password_is_stored_as_scrypt_never_plain(db, home):
    stored = db.get_user("demo-manager")["password_hash"]
    assert stored.startswith("scrypt:")
    assert (home / "demo-manager.password").read_text().strip() not in stored


def test_wrong_password_is_refused_and_repeated_failures_are_throttled(demo, db):
    make_person(db, "lena", "manager")
    client = demo.test_client()
    for _ in range(people.MAX_FAILURES_PER_NAME):
        r = sign_in(client, "lena", "wrong password!")
        assert r.status_code == 401 and "do not match" in r.get_data(as_text=True)
    r = sign_in(client, "lena", "correct horse battery")  # right, but too late: throttled
    assert r.status_code == 429 and "Too many failed sign-ins" in r.get_data(as_text=True)
    db.conn.execute("UPDATE sign_in_failures SET at = '2020-01-01T00:00:00+00:00'")  # the window passes
    assert sign_in(client, "lena", "correct horse battery").status_code == 302


def test_session_fixation_is_prevented(demo, home, db):
    client = demo.test_client()
    client.set_cookie("ra_console", "planted-by-attacker", path="/console")
    password = (home / "demo-manager.password").read_text().strip()
    r = sign_in(client, "demo-manager", password)
    issued = next(c for c in r.headers.getlist("Set-Cookie") if c.startswith("ra_console="))
    assert "planted-by-attacker" not in issued
    attacker = demo.test_client()
    attacker.set_cookie("ra_console", "planted-by-attacker", path="/console")
    assert attacker.get("/console/snippets").status_code == 302  # the planted id is worth nothing
    # A new sign-in replaces the old session id too.
    old = client.get_cookie("ra_console", path="/console").value
    sign_in(client, "demo-manager", password)
    assert client.get_cookie("ra_console", path="/console").value != old
    stale = demo.test_client()
    stale.set_cookie("ra_console", old, path="/console")
    assert stale.get("/console/snippets").status_code == 302


def test_sign_out_ends_the_session_on_the_server(demo, manager_client):
    session_id = manager_client.get_cookie("ra_console", path="/console").value
    r = post(manager_client, "/console/logout", page="/console/snippets")
    assert r.status_code == 302
    replay = demo.test_client()
    replay.set_cookie("ra_console", session_id, path="/console")
    assert replay.get("/console/snippets").status_code == 302


def test_idle_session_expires(manager_client, db):
    db.conn.execute("UPDATE console_sessions SET last_seen = '2020-01-01T00:00:00+00:00'")
    r = manager_client.get("/console/snippets")
    assert r.status_code == 302 and "expired=1" in r.headers["Location"]
    assert "ended after a while" in manager_client.get(r.headers["Location"]).get_data(as_text=True)


def test_csrf_is_refused_without_the_token(manager_client, db):
    before = db.get_snippet("reply/cancel-unshipped")["verified_at"]
    for url, data in [("/console/verification", {"key": "reply/cancel-unshipped"}),
                      ("/console/users", {"name": "mallory", "role": "agent"}),
                      ("/console/logout", {})]:
        r = manager_client.post(url, data=data)
        assert r.status_code == 403 and "security token" in r.get_data(as_text=True), url
        r = manager_client.post(url, data={**data, "csrf_token": "forged"})
        assert r.status_code == 403, url
    assert db.get_user("mallory") is None
    assert db.get_snippet("reply/cancel-unshipped")["verified_at"] == before
    assert manager_client.get("/console/snippets").status_code == 200  # still signed in


def test_sign_in_form_needs_its_token_too(demo, home):
    password = (home / "demo-manager.password").read_text().strip()
    r = demo.test_client().post("/console/login", data={"name": "demo-manager", "password": password})
    assert r.status_code == 403


def test_an_agent_session_cannot_reach_manager_pages(demo, db):
    make_person(db, "ana", "agent")
    client = demo.test_client()
    assert sign_in(client, "ana", "correct horse battery").status_code == 302
    assert "sidebar" in client.get("/console/").get_data(as_text=True)
    for url in ("/console/snippets", "/console/snippets/edit/reply/cancel-unshipped", "/console/verification",
                "/console/approvals", "/console/codes", "/console/offers", "/console/users", "/console/packs",
                "/console/packs/export"):
        assert client.get(url).status_code == 403, url
    token = token_of(client.get("/console/"))
    r = client.post("/console/verification", data={"csrf_token": token, "key": "reply/cancel-unshipped"})
    assert r.status_code == 403
    r = client.post("/console/users", data={"csrf_token": token, "name": "x", "role": "admin"})
    assert r.status_code == 403 and db.get_user("x") is None


def test_a_deactivated_user_loses_session_and_token(demo, manager_client, db):
    agent_token = make_person(db, "ana", "agent")
    agent = demo.test_client()
    sign_in(agent, "ana", "correct horse battery")
    assert post(manager_client, "/console/users/ana/deactivate").status_code == 302
    assert agent.get("/console/").status_code == 302
    r = demo.test_client().get("/api/v1/snippets", headers={"Authorization": f"Bearer {agent_token}"})
    assert r.status_code == 401
    assert sign_in(demo.test_client(), "ana", "correct horse battery").status_code == 401


# -- users ----------------------------------------------------------------------------------------
def test_users_create_rotate_revoke(demo, manager_client, db):
    r = post(manager_client, "/console/users", {"name": "tomas", "role": "agent"})
    token = re.search(r'id="token-value">([^<]+)<', r.get_data(as_text=True)).group(1)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    api = demo.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/snippets", headers=auth).status_code == 200
    r = post(manager_client, "/console/users/tomas/rotate")
    rotated = re.search(r'id="token-value">([^<]+)<', r.get_data(as_text=True)).group(1)
    assert rotated != token and api.get("/api/v1/snippets", headers=auth).status_code == 401
    auth = {"Authorization": f"Bearer {rotated}"}
    assert api.get("/api/v1/snippets", headers=auth).status_code == 200
    post(manager_client, "/console/users/tomas/revoke")
    assert api.get("/api/v1/snippets", headers=auth).status_code == 401
    # A manager looks after agents only.
    r = post(manager_client, "/console/users", {"name": "boss", "role": "admin"})
    assert r.status_code == 403 and db.get_user("boss") is None


def test_the_last_admin_cannot_lock_themself_out(demo, db):
    make_person(db, "root", "admin")
    client = demo.test_client()
    sign_in(client, "root", "correct horse battery")
    r = post(client, "/console/users/root/role", {"role": "manager"})
    assert r.status_code == 409 and "last active admin" in r.get_data(as_text=True)
    r = post(client, "/console/users/root/deactivate")
    assert r.status_code == 409
    assert db.get_user("root")["role"] == "admin" and db.get_user("root")["active"] == 1
    make_person(db, "second", "admin")
    assert post(client, "/console/users/root/role", {"role": "manager"}).status_code == 302
    assert db.get_user("root")["role"] == "manager"


def test_cli_creates_a_manager_with_a_prompted_password(demo, db):
    runner = demo.test_cli_runner()
    result = runner.invoke(args=["users", "create", "marta", "--role", "manager", "--password"],
                           input="a long enough secret\na long enough secret\n")
    assert result.exit_code == 0, result.output
    assert "a long enough secret" not in result.stdout  # prompted, never echoed
    assert result.stdout.strip().splitlines()[-1].startswith("ra_")
    assert sign_in(demo.test_client(), "marta", "a long enough secret").status_code == 302
    short = runner.invoke(args=["users", "create", "max", "--role", "manager", "--password"], input="short\nshort\n")
    assert short.exit_code != 0 and "at least 10" in short.output and db.get_user("max") is None


# -- snippets ------------------------------------------------------------------------------------
def editor_form(client, key: str) -> dict:
    """The editor's form fields as the browser would send them."""
    html = client.get(f"/console/snippets/edit/{key}").get_data(as_text=True)
    data = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html):
        data[name] = value
    for name, body in re.findall(r'<textarea name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        data[name] = body
    for name, options in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.findall(r'<option(?: value="([^"]*)")? selected>([^<]*)', options)
        if chosen:
            data[name] = [v or t for v, t in chosen] if name == "policies" else (chosen[0][0] or chosen[0][1])
    data = {k: _unescape(v) if isinstance(v, str) else [_unescape(x) for x in v] for k, v in data.items()}
    for name in [k for k in data if k.startswith("field_required_") or k == "public"]:
        if f'name="{name}" value="1" checked' not in html:
            del data[name]
    return data


def _unescape(text: str) -> str:
    import html
    return html.unescape(text)


def test_library_filters_by_missing_language_and_searches(manager_client, db):
    db.conn.execute("UPDATE snippets SET texts = json_remove(texts, '$.ja') WHERE key = 'reply/cancel-unshipped'")
    html = manager_client.get("/console/snippets?missing=ja&kind=reply").get_data(as_text=True)
    keys = re.findall(r'<tr data-key="([^"]+)"', html)
    assert "reply/cancel-unshipped" in keys and all(not db.get_snippet(k)["texts"].get("ja") for k in keys)
    html = manager_client.get("/console/snippets?q=annullare").get_data(as_text=True)
    assert "reply/cancel-unshipped" in re.findall(r'<tr data-key="([^"]+)"', html)


def test_library_unused_filter_and_usage_sort(manager_client, db):
    db.conn.execute(
        "INSERT INTO insertions (ticket_id, snippet_key, snippet_version, kind, language, agent, times, created_at, "
        "last_at) VALUES ('t1', 'reply/change-address', 1, 'reply', 'en', 'ana', 3, ?, ?)",
        ("2026-11-30T00:00:00+00:00", "2099-01-01T00:00:00+00:00"))
    html = manager_client.get("/console/snippets?kind=reply&sort=usage").get_data(as_text=True)
    assert re.findall(r'<tr data-key="([^"]+)"', html)[0] == "reply/change-address"
    html = manager_client.get("/console/snippets?kind=reply&unused=30").get_data(as_text=True)
    keys = re.findall(r'<tr data-key="([^"]+)"', html)
    assert keys and "reply/change-address" not in keys


def test_saving_the_editor_stores_a_new_version(manager_client, db):
    key = "reply/cancel-unshipped"
    form = editor_form(manager_client, key)
    form.update(title_ja="新しいタイトル", action="save")
    r = manager_client.post(f"/console/snippets/edit/{key}", data=form)
    assert r.status_code == 302, r.get_data(as_text=True)[-2000:]
    stored = db.get_snippet(key)
    assert stored["version"] == 2 and stored["texts"]["ja"]["title"] == "新しいタイトル"
    assert stored["updated_by"] == "demo-manager"
    assert stored["when"] and stored["offer"] == "free-shipping" and stored["policies"]  # kept as they were
    assert "Saved reply/cancel-unshipped as version 2" in manager_client.get(r.headers["Location"]).get_data(as_text=True)


def test_a_preview_sent_while_a_save_answers_leaves_its_notice_to_the_next_page(manager_client):
    # The editor's live preview (a POST from the page being left) can reach the server between
    # the save and the page it redirects to: the notice is that page's.
    key = "reply/cancel-unshipped"
    form = editor_form(manager_client, key)
    r = manager_client.post(f"/console/snippets/edit/{key}", data={**form, "title_ja": "別のタイトル", "action": "save"})
    assert r.status_code == 302
    assert manager_client.post("/console/snippets/preview", data={**form, "preview_ticket": "1001"}).status_code == 200
    assert "Saved reply/cancel-unshipped as version 2" in manager_client.get(r.headers["Location"]).get_data(as_text=True)


def test_the_editor_marks_a_snippet_public(manager_client, db):
    key = "reply/site-slow"
    form = editor_form(manager_client, key)
    assert form.get("public") == "1"  # the demo's public replies show checked
    form.update(public_languages="it, en", action="save")
    assert manager_client.post(f"/console/snippets/edit/{key}", data=form).status_code == 302
    assert db.get_snippet(key)["public"] == ["en", "it"]
    form = editor_form(manager_client, key)
    assert form["public_languages"] == "en, it"
    del form["public"]  # unchecked: agents only
    form.update(action="save")
    assert manager_client.post(f"/console/snippets/edit/{key}", data=form).status_code == 302
    assert db.get_snippet(key)["public"] is False


def test_clearing_a_translation_condition_or_field_removes_it(manager_client, db):
    key = "reply/change-address"
    form = editor_form(manager_client, key)
    form.update(title_it="", body_it="", action="save")
    for name in [k for k in form if k.startswith(("when_path_", "when_values_"))]:
        form[name] = ""
    r = manager_client.post(f"/console/snippets/edit/{key}", data=form)
    assert r.status_code == 302, r.get_data(as_text=True)[-1500:]
    stored = db.get_snippet(key)
    assert "it" not in stored["texts"] and stored["when"] == {} and "en" in stored["texts"]


def test_a_second_editors_save_is_refused_with_a_diff(manager_client, db, demo):
    key = "reply/cancel-unshipped"
    mine = editor_form(manager_client, key)
    theirs = editor_form(manager_client, key)
    theirs.update(title_en="Their title", action="save")
    assert manager_client.post(f"/console/snippets/edit/{key}", data=theirs).status_code == 302
    mine.update(title_en="My title", action="save")
    r = manager_client.post(f"/console/snippets/edit/{key}", data=mine)
    html = r.get_data(as_text=True)
    assert r.status_code == 409 and 'id="conflict"' in html
    assert "<del>Their</del>" in html and "<ins>My</ins>" in html
    assert 'value="My title"' in html  # nothing typed is lost
    assert db.get_snippet(key)["texts"]["en"]["title"] == "Their title"


def test_validation_errors_are_inline_and_in_plain_words(manager_client, db):
    key = "reply/cancel-unshipped"
    form = editor_form(manager_client, key)
    form.update(title_it="", body_it="Ciao {{ cliente.nome }}", verify_every_days="0", action="save")
    r = manager_client.post(f"/console/snippets/edit/{key}", data=form)
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert 'id="err-title_it"' in html and "Required" in html
    assert 'id="err-body_it"' in html and "unknown placeholder" in html
    assert 'id="err-verify_every_days"' in html and "Enter a number from 1 to 3650" in html
    assert db.get_snippet(key)["version"] == 1


def test_new_snippet_starts_verified_by_its_creator(manager_client, db):
    data = {"key": "reply/hello", "kind": "reply", "language": "en", "status": "draft", "title_en": "Hello",
            "body_en": "Hi {{ customer.first_name }}", "field_rows": "0", "when_rows": "0", "action": "save",
            "verify_every_days": "90"}
    r = post(manager_client, "/console/snippets/new", data, page="/console/snippets/new")
    assert r.status_code == 302
    stored = db.get_snippet("reply/hello")
    assert stored["status"] == "draft" and stored["verified_by"] == "demo-manager" and stored["verified_at"]
    assert stored["verify_every_days"] == 90


def test_preview_renders_eligibility_and_offer_without_issuing(manager_client, db):
    key = "reply/cancel-unshipped"
    form = editor_form(manager_client, key)
    codes_before = db.conn.execute("SELECT count(*) FROM offer_codes").fetchone()[0]
    shipped = manager_client.post("/console/snippets/preview", data={**form, "preview_ticket": "1004"}).json
    assert shipped["eligible"] is False and "shipped" in shipped["reason"]
    unshipped = manager_client.post("/console/snippets/preview", data={**form, "preview_ticket": "1001"}).json
    assert unshipped["eligible"] is True and "Maria" in unshipped["text"]
    assert unshipped["offer"]["outcome"] == "issued" and unshipped["offer"]["code"] in unshipped["text"]
    assert db.conn.execute("SELECT count(*) FROM offer_codes").fetchone()[0] == codes_before
    custom = json.dumps({"subject": "cancel", "body": "please cancel", "order": {"status": "processing"}})
    own = manager_client.post("/console/snippets/preview", data={**form, "sample_ticket": custom}).json
    assert own["offer"]["outcome"] == "refused" and "customer" in own["offer"]["detail"]
    assert "[[customer.first_name]]" in own["text"] and "customer.first_name" in own["missing"]
    bad = manager_client.post("/console/snippets/preview", data={**form, "sample_ticket": "{oops"}).json
    assert "not valid JSON" in bad["error"]


def test_history_diff_and_restore(manager_client, db):
    key = "reply/cancel-unshipped"
    form = editor_form(manager_client, key)
    original = form["title_en"]
    form.update(title_en="Changed title", action="save")
    manager_client.post(f"/console/snippets/edit/{key}", data=form)
    html = manager_client.get(f"/console/snippets/history/{key}?a=1&b=2").get_data(as_text=True)
    assert "title (en)" in html and "<ins>Changed</ins>" in html
    r = post(manager_client, f"/console/snippets/restore/{key}", {"version": "1"}, page=f"/console/snippets/history/{key}")
    assert r.status_code == 302
    stored = db.get_snippet(key)
    assert stored["version"] == 3 and stored["texts"]["en"]["title"] == original
    assert db.list_versions(stored["id"])[0]["action"] == "restore:1"


def test_bulk_verify_of_due_snippets(manager_client, db):
    keys = ["reply/cancel-unshipped", "reply/cancel-shipped"]
    db.conn.execute("UPDATE snippets SET verified_at = '2020-01-01T00:00:00+00:00' WHERE key IN (?, ?)", keys)
    html = manager_client.get("/console/verification").get_data(as_text=True)
    queue = re.findall(r'<tr data-key="([^"]+)"', html)
    assert queue[:2] == sorted(keys, key=queue.index) and set(queue) == set(keys)
    r = post(manager_client, "/console/verification", {"key": keys}, page="/console/verification")
    assert r.status_code == 302
    for key in keys:
        assert db.get_snippet(key)["verified_by"] == "demo-manager"
    assert "Nothing is due" in manager_client.get("/console/verification").get_data(as_text=True)


def test_xss_payloads_are_shown_literally(manager_client, db):
    data = {"key": "reply/xss", "kind": "reply", "language": "en", "status": "published", "title_en": XSS,
            "body_en": XSS, "title_ja": XSS, "body_ja": XSS, "tags": "x", "field_rows": "1",
            "field_name_0": "note", "field_label_0": XSS, "field_type_0": "choice", "field_choices_0": XSS,
            "when_rows": "1", "when_path_0": "order.status", "when_values_0": XSS, "action": "save"}
    r = post(manager_client, "/console/snippets/new", data, page="/console/snippets/new")
    assert r.status_code == 302, r.get_data(as_text=True)[-1500:]
    db.conn.execute("UPDATE snippets SET owner = ? WHERE key = 'reply/xss'", (XSS,))
    for url in ("/console/snippets", "/console/snippets?q=alert", "/console/snippets/edit/reply/xss",
                "/console/snippets/history/reply/xss", "/console/verification?owner=" + XSS):
        html = manager_client.get(url).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html, url
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in manager_client.get("/console/snippets/edit/reply/xss").get_data(as_text=True)


def test_xss_in_codes_offers_users_and_packs_is_shown_literally(manager_client, db):
    db.insert_code({"offer_key": "free-shipping", "code": "SHIP-XSS1", "source": "generated", "status": "pending",
                    "customer": XSS, "agent": XSS, "ticket_id": XSS, "snippet_key": XSS,
                    "issued_at": "2026-01-01T00:00:00+00:00", "expires_on": "2099-01-01"})
    db.set_code_status(db.list_codes()[0][0]["id"], "pending", XSS, "2026-01-02T00:00:00+00:00", XSS)
    offer = db.get_offer("free-shipping")
    db.upsert_offer("free-shipping", {**offer, "label": XSS})
    post(manager_client, "/console/users", {"name": XSS, "role": "agent"})
    pack = {"pack": (io.BytesIO(b'{"key": "reply/x", "kind": "reply", "language": "en", "title": "t", "body": "b",'
                                b' "offer": "<script>alert(3)</script>"}\n'), "<script>x.jsonl")}
    checked = post(manager_client, "/console/packs/check", pack, page="/console/packs",
                   content_type="multipart/form-data").get_data(as_text=True)
    pages = [manager_client.get(u).get_data(as_text=True) for u in
             ("/console/approvals", "/console/codes", "/console/offers", "/console/offers/edit/free-shipping",
              "/console/users", "/console/snippets/edit/reply/cancel-unshipped")]
    for html in [*pages, checked]:
        assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[0] and "&lt;script&gt;alert(3)" in checked


def test_approve_and_void_codes(demo, manager_client, db):
    for i in range(2):
        db.insert_code({"offer_key": "free-shipping", "code": f"SHIP-TEST{i}", "source": "generated",
                        "status": "pending", "customer": f"c{i}@example.com", "agent": "demo-agent",
                        "ticket_id": f"t{i}", "snippet_key": "reply/cancel-unshipped",
                        "issued_at": "2026-01-01T00:00:00+00:00", "expires_on": "2099-01-01"})
    first, second = (db.list_codes(status="pending")[0][i]["id"] for i in (1, 0))
    html = manager_client.get("/console/approvals").get_data(as_text=True)
    assert "SHIP-TEST0" in html and "SHIP-TEST1" in html
    post(manager_client, f"/console/codes/decide/{first}", {"decision": "approve", "note": "ok, late parcel"},
         page="/console/approvals")
    code = db.get_code(first)
    assert (code["status"], code["decided_by"], code["note"]) == ("issued", "demo-manager", "ok, late parcel")
    post(manager_client, f"/console/codes/decide/{second}", {"decision": "void"}, page="/console/approvals")
    assert db.get_code(second)["status"] == "void"
    html = manager_client.get("/console/codes?status=void&customer=C1@example.com").get_data(as_text=True)
    assert "SHIP-TEST1" in html and "SHIP-TEST0" not in html
    # Typed as issuance normalises it (server/identity.py): case, sub-address, a trailing blank.
    html = manager_client.get("/console/codes?customer=C1%2Bshop@Example.com%20").get_data(as_text=True)
    assert "SHIP-TEST1" in html and "SHIP-TEST0" not in html


def test_offer_form_validates_and_pool_warns_when_low(manager_client, db):
    page = "/console/offers/edit/free-shipping"
    r = post(manager_client, page, {"label": "Free shipping", "kind": "free_shipping", "code_prefix": "ship",
                                    "valid_days": "30", "per_customer_max": "1", "per_customer_window_days": "90",
                                    "per_agent_per_day": "0"}, page=page)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="err-code_prefix"' in html and 'id="err-per_agent_per_day"' in html
    r = post(manager_client, page, {"label": "Free shipping", "kind": "free_shipping", "code_prefix": "SHIP",
                                    "valid_days": "thirty", "per_customer_max": "1", "per_customer_window_days": "90",
                                    "per_agent_per_day": "5", "value": "five"}, page=page)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "Enter a whole number." in html and "Enter a number." in html
    r = post(manager_client, page, {"label": "Free shipping", "kind": "free_shipping", "code_prefix": "SHIP",
                                    "valid_days": "30", "per_customer_max": "2", "per_customer_window_days": "90",
                                    "per_agent_per_day": "5", "needs_approval_after": "3"}, page=page)
    assert r.status_code == 302
    offer = db.get_offer("free-shipping")
    assert offer["per_customer"]["max"] == 2 and offer["needs_approval_after"] == 3
    post(manager_client, "/console/offers/pool/free-shipping", {"codes": "code\nPOOL-0001\nPOOL-0002"}, page=page)
    assert db.pool_counts("free-shipping") == {"total": 2, "free": 2}
    assert "running low" in manager_client.get("/console/offers").get_data(as_text=True)


def test_pack_upload_dry_run_then_import(manager_client, db):
    good = {"key": "reply/new-one", "kind": "reply", "language": "en", "title": "New", "body": "Hello"}
    bad = {"key": "reply/broken", "kind": "reply", "language": "en", "title": "", "body": "x"}
    lines = [json.dumps(good), json.dumps(bad), json.dumps({**good, "key": "policy/x"})]
    data = {"pack": (io.BytesIO("\n".join(lines).encode()), "mine.jsonl")}
    r = post(manager_client, "/console/packs/check", data, page="/console/packs", content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "mine.jsonl, line 2: title" in html and 'id="import"' not in html
    assert db.get_snippet("reply/new-one") is None
    data = {"pack": (io.BytesIO((json.dumps(good) + "\n").encode()), "mine.jsonl")}
    r = post(manager_client, "/console/packs/check", data, page="/console/packs", content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    assert "create <strong>1</strong>" in html and db.get_snippet("reply/new-one") is None
    upload = re.search(r'name="upload" value="([^"]+)"', html).group(1)
    r = post(manager_client, "/console/packs/import", {"upload": upload, "name": "mine.jsonl"}, page="/console/packs")
    assert r.status_code == 302 and db.get_snippet("reply/new-one")["status"] == "published"


def test_pack_export_downloads_curation_state(manager_client, db):
    db.conn.execute("UPDATE snippets SET status = 'draft', owner = 'demo-manager' WHERE key = 'reply/cancel-shipped'")
    r = manager_client.get("/console/packs/export")
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    lines = [json.loads(line) for line in r.get_data(as_text=True).splitlines()]
    line = next(x for x in lines if x["key"] == "reply/cancel-shipped")
    assert (line["status"], line["owner"], line["verify_every_days"]) == ("draft", "demo-manager", 180)


# -- the API's side of verification -------------------------------------------------------------
def test_api_lists_due_snippets_and_flags_overdue_to_agents(demo, db):
    agent = {"Authorization": f"Bearer {create_user(db, 'ana', 'agent')}"}
    api = demo.test_client()
    assert api.get("/api/v1/snippets?due=true", headers=agent).json["total"] == 0  # day one: nothing due
    db.conn.execute("UPDATE snippets SET verified_at = '2020-01-01T00:00:00+00:00' WHERE key = 'reply/cancel-unshipped'")
    due = api.get("/api/v1/snippets?due=true", headers=agent).json
    assert [s["key"] for s in due["items"]] == ["reply/cancel-unshipped"]
    assert due["items"][0]["verification"]["overdue"] is True
    assert api.get("/api/v1/snippets?due=false&limit=500", headers=agent).json["total"] == db.count_snippets() - 1
    ticket = {"id": "t1", "subject": "Cancel my order", "body": "Please cancel my order before it ships",
              "order": {"status": "processing"}}
    replies = api.post("/api/v1/suggest", json={"ticket": ticket}, headers=agent).json["replies"]
    flags = {r["key"]: r["verification_overdue"] for r in replies}
    assert flags["reply/cancel-unshipped"] is True
    assert not any(v for k, v in flags.items() if k != "reply/cancel-unshipped")
