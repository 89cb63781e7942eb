"""The server's side of the extension: origin checks on the API, and the demo helpdesk."""
from __future__ import annotations

import re

import pytest

from server import create_app
from tests.browser.harness import EXTENSION_ID

EXTENSION_ORIGIN = f"chrome-extension://{EXTENSION_ID}"
SUGGEST = "/api/v1/suggest"
TICKET = {"ticket": {"id": "T-9", "body": "Please cancel my order, it has not shipped."}}


def test_the_pinned_extension_is_allowed_by_default(demo, client, agent):
    r = client.post(SUGGEST, json=TICKET, headers={**agent, "Origin": EXTENSION_ORIGIN})
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == EXTENSION_ORIGIN
    assert "Origin" in r.headers["Vary"]


def test_another_origin_is_refused_before_the_view_runs(demo, client, agent, store):
    r = client.post("/api/v1/insertions", json={"key": "reply/cancel-unshipped", **TICKET},
                    headers={**agent, "Origin": "https://evil.example"})
    assert r.status_code == 403
    assert r.content_type == "application/problem+json"
    assert r.json["title"] == "Origin not allowed" and "https://evil.example" in r.json["detail"]
    assert "Access-Control-Allow-Origin" not in r.headers
    # Refused means not carried out: no insertion, no code.
    assert store.conn.execute("SELECT COUNT(*) FROM insertions").fetchone()[0] == 0
    assert store.conn.execute("SELECT COUNT(*) FROM offer_codes").fetchone()[0] == 0


@pytest.mark.parametrize("origin", ["null", "chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                                    "http://localhost:8080", "https://evil.example"])
def test_other_origins_are_refused_even_unauthenticated(client, origin):
    r = client.get("/api/v1/health", headers={"Origin": origin})
    assert r.status_code == 403


def test_requests_without_an_origin_and_from_the_server_itself_pass(client):
    assert client.get("/api/v1/health").status_code == 200
    r = client.get("/api/v1/health", headers={"Origin": "http://localhost"})  # the test client's host
    assert r.status_code == 200
    assert "Access-Control-Allow-Origin" not in r.headers  # same origin needs no CORS


def test_a_preflight_from_the_extension_is_answered(client):
    r = client.options(SUGGEST, headers={"Origin": EXTENSION_ORIGIN, "Access-Control-Request-Method": "POST",
                                         "Access-Control-Request-Headers": "authorization, content-type"})
    assert r.status_code == 204
    assert r.headers["Access-Control-Allow-Origin"] == EXTENSION_ORIGIN
    assert "Authorization" in r.headers["Access-Control-Allow-Headers"]
    assert "POST" in r.headers["Access-Control-Allow-Methods"]


def test_configured_origins_replace_the_default(tmp_path):
    app = create_app({"TESTING": True, "HOME": str(tmp_path / "home"),
                      "CORS_ORIGINS": "chrome-extension://bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb, https://console.example"})
    client = app.test_client()
    assert client.get("/api/v1/health", headers={"Origin": "https://console.example"}).status_code == 200
    assert client.get("/api/v1/health", headers={"Origin": EXTENSION_ORIGIN}).status_code == 403


def test_pages_outside_the_api_are_not_checked(tmp_path):
    app = create_app({"TESTING": True, "HOME": str(tmp_path / "home"), "DEMO": True})
    r = app.test_client().get("/demo/tickets/1", headers={"Origin": "https://evil.example"})
    assert r.status_code == 200


def test_the_manifest_key_pins_the_documented_id():
    import base64
    import hashlib
    import json

    from tests.browser.harness import EXTENSION

    manifest = json.loads((EXTENSION / "manifest.json").read_text())
    digest = hashlib.sha256(base64.b64decode(manifest["key"])).hexdigest()[:32]
    assert "".join(chr(ord("a") + int(c, 16)) for c in digest) == EXTENSION_ID


def test_demo_pages_are_off_unless_demo_is_on(client):
    assert client.get("/demo/tickets/1").status_code == 404


def test_demo_tickets_carry_what_the_extension_reads(tmp_path):
    client = create_app({"TESTING": True, "HOME": str(tmp_path / "home"), "DEMO": True}).test_client()
    assert client.get("/demo/").headers["Location"].endswith("/demo/tickets/1")
    r = client.get("/demo/tickets/3")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "default-src 'none'" in r.headers["Content-Security-Policy"]
    assert '<meta name="replyassist-demo"' in html
    assert 'data-ticket-id="1003"' in html and 'data-order-status="processing"' in html
    assert re.search(r'<textarea[^>]*data-reply-box[^>]*dir="auto"', html)
    assert "إلغاء" in html
    assert client.get("/demo/tickets/99").status_code == 404
