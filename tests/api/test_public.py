"""The public self-service API: only public, published text; no code, no raw placeholder; key, CORS, limits."""
from __future__ import annotations

import json
import re

import pytest

from server import create_app
from server.db import open_store
from server.selfservice.keys import create_public_key
from server.selfservice.service import RateLimiter, parse_rate
from tests.conftest import copy_demo_home

SHOP = "https://shop.example"
ANSWERS = "/api/v1/public/answers"


@pytest.fixture
def public_app(tmp_path, demo_template):
    """The demo store, with a rate limit the tests do not hit unless they mean to."""
    home = copy_demo_home(demo_template, tmp_path / "home")
    return create_app({"TESTING": True, "HOME": str(home), "PUBLIC_RATE_LIMIT": "1000/60"})


@pytest.fixture
def key(public_app):
    store = open_store(public_app.config["DATABASE"])
    try:
        return create_public_key(store, "northwind", [SHOP + "/"])
    finally:
        store.close()


def ask(client, key, q, **params):
    return client.get(ANSWERS, query_string={"q": q, **params}, headers={"X-Replyassist-Key": key})


def test_answers_come_from_public_snippets_only_with_no_code_or_placeholder(public_app, key, manager):
    client = public_app.test_client()
    # A public reply with an offer, and a draft marked public: the first shows without its
    # code sentence, the second never.
    for status in ("published", "draft"):
        created = client.post("/api/v1/snippets", headers=manager, json={
            "key": f"reply/late-{status}", "kind": "reply", "language": "en", "status": status,
            "title": f"Late parcel apology ({status})", "offer": "goodwill-10", "public": True,
            "body": "Hi {{ customer.first_name }},\n\nSorry your late parcel is late. Parcels usually arrive "
                    "within five days. Here is a code: {{ offer.code }} (valid until {{ offer.expires_on }}). "
                    "Order {{ order.id }} is {{ order.status }}.\n\nBest,\n{{ agent.first_name }}"})
        assert created.status_code == 201, created.json
    public = {s["key"] for s in client.get("/api/v1/snippets?limit=500", headers=manager).json["items"]
              if s["public"] and s["status"] == "published"}

    seen = set()
    for q in ("late parcel", "cancel my order", "where is my order", "price dropped refund the difference",
              "website slow", "forgot my password", "promo code not working", "return a shirt"):
        response = ask(client, key, q, limit=10)
        assert response.status_code == 200
        for answer in response.json["answers"]:
            seen.add(answer["key"])
            assert answer["key"] in public
            assert "{{" not in answer["text"] and "[[" not in answer["text"]
            assert not re.search(r"[A-Z0-9]+-[A-Z0-9]{8,}", answer["text"])  # no code
    assert "reply/late-published" in seen and "reply/late-draft" not in seen
    assert not any(k.startswith("policy/") for k in seen)  # policy cards are not public
    late = ask(client, key, "late parcel").json["answers"][0]
    assert late["key"] == "reply/late-published"
    assert late["text"] == ("Hi,\n\nSorry your late parcel is late. Parcels usually arrive within five days.\n\n"
                            "Best,\nThe support team")


def test_the_same_ranking_as_agents_and_languages(public_app, key, agent, manager):
    client = public_app.test_client()
    q = "I bought boots yesterday and today the price dropped 20%. Can you refund the difference?"
    suggested = client.post("/api/v1/suggest", headers=agent, json={"ticket": {"id": "t1", "body": q}}).json
    answer = ask(client, key, q).json["answers"][0]
    assert answer["key"] == suggested["replies"][0]["key"] == "reply/price-match"
    assert answer["title"] == suggested["replies"][0]["title"]
    japanese = ask(client, key, "注文した商品がまだ届きません。配送状況を確認したいです。").json
    assert japanese["language"] == "ja"
    top = japanese["answers"][0]
    assert top["key"] == "reply/order-status" and top["language"] == "ja" and top["text"].startswith("お客様")
    italian = ask(client, key, "Il sito è lentissimo e non si carica", language="it").json
    assert italian["language"] == "it" and italian["answers"][0]["key"] == "reply/site-slow"
    assert italian["answers"][0]["text"].endswith("Il team di assistenza")
    # public: ["it"] shows in Italian only.
    client.patch("/api/v1/snippets/reply/site-slow", headers=manager, json={"public": ["it"]})
    assert "reply/site-slow" not in {a["key"] for a in ask(client, key, "website slow, not loading").json["answers"]}
    assert ask(client, key, "Il sito è lentissimo", language="it").json["answers"][0]["key"] == "reply/site-slow"


def test_public_is_validated_stored_and_exported(public_app, manager, tmp_path):
    client = public_app.test_client()
    bad = client.patch("/api/v1/snippets/reply/site-slow", headers=manager, json={"public": ["english"]})
    assert bad.status_code == 422 and "public" in bad.json["errors"]
    ok = client.patch("/api/v1/snippets/reply/site-slow", headers=manager, json={"public": ["it", "en"]})
    assert ok.status_code == 200 and ok.json["public"] == ["en", "it"]
    assert client.get("/api/v1/snippets/reply/refund-status", headers=manager).json["public"] is False
    out = tmp_path / "pack.jsonl"
    assert public_app.test_cli_runner().invoke(args=["pack", "export", str(out)]).exit_code == 0
    lines = {line.split('"key": "')[1].split('"')[0]: line for line in out.read_text().splitlines()}
    assert '"public": ["en", "it"]' in lines["reply/site-slow"]
    assert '"public": false' in lines["reply/refund-status"]  # written, so import -> export is lossless
    # A pack line without "public" leaves the snippet's choice alone.
    line = {"key": "reply/site-slow", "kind": "reply", "language": "en", "title": "Slow", "body": "Try again."}
    pack = tmp_path / "old.jsonl"
    pack.write_text(json.dumps(line) + "\n")
    assert public_app.test_cli_runner().invoke(args=["pack", "import", str(pack)]).exit_code == 0
    assert client.get("/api/v1/snippets/reply/site-slow", headers=manager).json["public"] == ["en", "it"]


def test_a_key_is_required(public_app):
    client = public_app.test_client()
    assert client.get(ANSWERS, query_string={"q": "slow website"}).status_code == 401
    wrong = client.get(ANSWERS, query_string={"q": "slow website"}, headers={"X-Replyassist-Key": "rapk_nope"})
    assert wrong.status_code == 401 and wrong.mimetype == "application/problem+json"
    assert wrong.headers["Cache-Control"] == "no-store"


def test_rate_limit_answers_429_with_retry_after(public_app, key):
    public_app.extensions["replyassist.public_limiter"] = RateLimiter(*parse_rate("5/60"))
    client = public_app.test_client()
    codes = [ask(client, key, "website slow").status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    limited = ask(client, key, "website slow")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert limited.json["retry_after"] == int(limited.headers["Retry-After"])


def test_cors_only_for_the_shops_origins(public_app, key):
    client = public_app.test_client()
    preflight = client.options(ANSWERS, headers={"Origin": SHOP, "Access-Control-Request-Method": "GET",
                                                 "Access-Control-Request-Headers": "x-replyassist-key"})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == SHOP
    assert "X-Replyassist-Key" in preflight.headers["Access-Control-Allow-Headers"]
    allowed = client.get(ANSWERS, query_string={"q": "website slow"},
                         headers={"X-Replyassist-Key": key, "Origin": SHOP})
    assert allowed.status_code == 200 and allowed.headers["Access-Control-Allow-Origin"] == SHOP
    for origin in ("https://evil.example", "chrome-extension://agdaiocgilkaohmjahdndclkkkieaaac"):
        refused = client.options(ANSWERS, headers={"Origin": origin, "Access-Control-Request-Method": "GET"})
        assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused.headers
        get = client.get(ANSWERS, query_string={"q": "website slow"},
                         headers={"X-Replyassist-Key": key, "Origin": origin})
        assert get.status_code == 403 and "Access-Control-Allow-Origin" not in get.headers
    # The agents' API keeps refusing a shop's site.
    assert client.get("/api/v1/health", headers={"Origin": SHOP}).status_code == 403


def test_answers_are_cacheable_and_revalidate(public_app, key):
    client = public_app.test_client()
    first = ask(client, key, "website slow")
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    assert {"Origin", "X-Replyassist-Key"} <= {v.strip() for v in first.headers["Vary"].split(",")}
    again = client.get(ANSWERS, query_string={"q": "website slow"},
                       headers={"X-Replyassist-Key": key, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_public_key_create_prints_the_key_last(public_app):
    result = public_app.test_cli_runner().invoke(args=["public-key", "create", "--origin", SHOP])
    assert result.exit_code == 0, result.output
    new_key = result.output.strip().splitlines()[-1]
    assert new_key.startswith("rapk_")
    assert ask(public_app.test_client(), new_key, "website slow").status_code == 200
    bad = public_app.test_cli_runner().invoke(args=["public-key", "create", "--origin", "shop.example/path"])
    assert bad.exit_code != 0 and "not a site origin" in bad.output
