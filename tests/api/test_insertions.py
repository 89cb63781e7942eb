"""POST /insertions: fields, eligibility, goodwill codes within limits, idempotency, audit."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from server.db import open_store
from server.localise import local_date
from server.offers.service import issue_code

from tests.conftest import BOTH_STORES

INSERT = "/api/v1/insertions"
CODE = re.compile(r"^SHIPFREE-[A-Z2-7]{13}$")


def cancel_ticket(ticket_id="T-100", status="processing", email="maria@example.com", **extra):
    return {"id": ticket_id, "subject": "Cancel my order",
            "body": "I ordered a coat yesterday, can I still cancel it? It has not shipped.",
            "customer": {"first_name": "Maria", "email": email, "membership": "gold"},
            "order": {"id": "A-10482", "status": status}, "agent": {"first_name": "Ana"}, **extra}


def insert(client, headers, key="reply/cancel-unshipped", ticket=None, **body):
    return client.post(INSERT, json={"key": key, "ticket": ticket or cancel_ticket(), **body}, headers=headers)


def codes(app) -> list[dict]:
    store = open_store(app.config["DATABASE"])
    try:
        return store.list_codes(limit=1000)[0]
    finally:
        store.close()


def test_cancel_unshipped_inserts_text_with_a_fresh_code_and_records_it(demo, client, agent):
    r = insert(client, agent)
    assert r.status_code == 201, r.json
    data = r.json
    offer = data["offer"]
    assert offer["key"] == "free-shipping" and offer["status"] == "issued" and CODE.match(offer["code"])
    expected_expiry = (datetime.now(timezone.utc).date() + timedelta(days=30)).isoformat()
    assert offer["expires_on"] == expected_expiry
    assert "Hi Maria" in data["text"] and "A-10482" in data["text"]
    # The text gives the date as the reply's language writes it (server/localise.py).
    assert offer["code"] in data["text"] and f"(valid until {local_date(expected_expiry, 'en')})" in data["text"]
    assert data["missing"] == [] and data["eligible"] is True and data["language"] == "en"
    [code] = codes(demo)
    assert (code["code"], code["customer"], code["agent"], code["ticket_id"], code["snippet_key"]) == (
        offer["code"], "maria@example.com", "ana", "T-100", "reply/cancel-unshipped")
    store = open_store(demo.config["DATABASE"])
    row = store.get_insertion("T-100", "reply/cancel-unshipped")
    store.close()
    assert row["agent"] == "ana" and row["snippet_version"] == 1 and row["offer_code_id"] == code["id"]
    assert row["language"] == "en" and "cancel" in row["ticket_text"]


@BOTH_STORES  # the store's guarantees, on SQLite and on PostgreSQL
def test_double_click_returns_the_same_code_never_a_second(demo, client, agent):
    first = insert(client, agent)
    assert first.status_code == 201, first.json
    first, again = first.json, insert(client, agent)
    assert again.status_code == 200 and again.json["repeated"] is True, again.json
    assert again.json["offer"]["code"] == first["offer"]["code"]
    assert again.json["insertion_id"] == first["insertion_id"]
    assert len(codes(demo)) == 1


def test_codes_are_unique_and_unguessable(demo, client, agent):
    seen = {insert(client, agent, ticket=cancel_ticket(f"T-{i}", email=f"c{i}@example.com")).json["offer"]["code"]
            for i in range(20)}
    assert len(seen) == 20 and all(CODE.match(c) for c in seen)


def test_italian_ticket_gets_the_italian_text(demo, client, agent):
    r = insert(client, agent, ticket=cancel_ticket(language="it"))
    assert r.json["language"] == "it" and "Ciao Maria" in r.json["text"] and r.json["offer"]["code"] in r.json["text"]


def test_shipped_order_refuses_the_unshipped_reply_with_the_reason(demo, client, agent):
    r = insert(client, agent, ticket=cancel_ticket(status="shipped"))
    assert r.status_code == 409 and r.content_type == "application/problem+json"
    assert "order A-10482 is shipped; this reply is for orders that are pending, processing or unfulfilled" in r.json["detail"]
    assert codes(demo) == []  # no code for a reply that was not inserted
    forced = insert(client, agent, ticket=cancel_ticket(status="shipped"), confirm_ineligible=True)
    assert forced.status_code == 201 and forced.json["eligible"] is False


def test_required_field_missing_is_a_clear_422_and_nothing_is_recorded(demo, client, agent):
    ticket = cancel_ticket("T-addr")
    r = insert(client, agent, key="reply/change-address", ticket=ticket)
    assert r.status_code == 422
    assert "New delivery address" in r.json["errors"]["fields"]["new_address"][0]
    r = insert(client, agent, key="reply/change-address", ticket=ticket, fields={"new_address": "  "})
    assert r.status_code == 422
    r = insert(client, agent, key="reply/change-address", ticket=ticket, fields={"nope": "x", "new_address": "Via Roma 1"})
    assert r.status_code == 422 and "nope" in r.json["errors"]["fields"]
    r = insert(client, agent, key="reply/change-address", ticket=ticket, fields={"new_address": "Via Roma 1, Milano"})
    assert r.status_code == 201 and "Via Roma 1, Milano" in r.json["text"] and r.json["offer"] is None


def test_missing_context_values_stay_visible(demo, client, agent):
    ticket = {"id": "T-bare", "body": "where is my order?"}
    r = insert(client, agent, key="reply/order-status", ticket=ticket)
    assert r.status_code == 201
    assert "[[customer.first_name]]" in r.json["text"] and "customer.first_name" in r.json["missing"]


def test_offer_needs_a_customer_identity(demo, client, agent):
    ticket = cancel_ticket(email="")
    r = insert(client, agent, ticket=ticket)
    assert r.status_code == 422 and "customer.email or customer.id" in r.json["detail"]


@BOTH_STORES  # the store's guarantees, on SQLite and on PostgreSQL
def test_per_customer_limit_at_its_edge(demo, client, agent):
    # free-shipping: at most 1 per customer in 90 days.
    assert insert(client, agent, ticket=cancel_ticket("T-1")).status_code == 201
    r = insert(client, agent, ticket=cancel_ticket("T-2", email="MARIA@example.com"))
    assert r.status_code == 409 and r.json["limit"] == "per_customer"
    assert "maria@example.com already received 1" in r.json["detail"] and "90 days" in r.json["detail"]
    frees = datetime.fromisoformat(r.json["available_from"])
    assert timedelta(days=89) < frees - datetime.now(timezone.utc) <= timedelta(days=90)
    assert len(codes(demo)) == 1


@BOTH_STORES  # the store's guarantees, on SQLite and on PostgreSQL
def test_per_customer_window_frees_up(demo):
    store = open_store(demo.config["DATABASE"])
    long_ago = datetime.now(timezone.utc) - timedelta(days=91)
    with store.transaction():
        issue_code(store, offer_key="free-shipping", ticket_id="old", snippet_key="reply/cancel-unshipped",
                   customer={"email": "x@example.com"}, agent="ana", now=long_ago)
    with store.transaction():
        fresh = issue_code(store, offer_key="free-shipping", ticket_id="new", snippet_key="reply/cancel-unshipped",
                           customer={"email": "x@example.com"}, agent="ana")
    store.close()
    assert fresh["status"] == "issued"


@BOTH_STORES  # the store's guarantees, on SQLite and on PostgreSQL
def test_per_agent_daily_limit_and_approval_threshold(demo, client, agent):
    # goodwill-10 (reply/price-match): 10 per agent per day; above 5 a manager must approve.
    statuses = []
    for i in range(10):
        ticket = cancel_ticket(f"P-{i}", email=f"p{i}@example.com")
        ticket["body"] = "Your price dropped the day after I bought."
        r = insert(client, agent, key="reply/price-match", ticket=ticket)
        assert r.status_code == 201, r.json
        statuses.append(r.json["offer"]["status"])
    assert statuses == ["issued"] * 5 + ["pending"] * 5
    r = insert(client, agent, key="reply/price-match", ticket=cancel_ticket("P-10", email="p10@example.com"))
    assert r.status_code == 409 and r.json["limit"] == "per_agent_per_day"
    assert "10 per agent per day" in r.json["detail"]


def test_pending_code_is_not_in_the_text_until_approved(demo, client, agent, manager):
    for i in range(5):
        insert(client, agent, key="reply/price-match", ticket=cancel_ticket(f"P-{i}", email=f"p{i}@example.com"))
    ticket = cancel_ticket("P-5", email="p5@example.com")
    pending = insert(client, agent, key="reply/price-match", ticket=ticket).json
    assert pending["offer"]["status"] == "pending"
    assert pending["offer"]["code"] is None and pending["text"] is None
    listed = client.get("/api/v1/offer-codes", query_string={"status": "pending"}, headers=manager).json
    assert [c["ticket_id"] for c in listed["items"]] == ["P-5"]
    code_id = listed["items"][0]["id"]
    assert client.post(f"/api/v1/offer-codes/{code_id}/approve", headers=agent).status_code == 403
    approved = client.post(f"/api/v1/offer-codes/{code_id}/approve", json={"note": "loyal customer"}, headers=manager)
    assert approved.status_code == 200 and approved.json["status"] == "issued" and approved.json["decided_by"] == "marco"
    again = insert(client, agent, key="reply/price-match", ticket=ticket).json
    assert again["offer"]["status"] == "issued" and again["offer"]["code"] in again["text"]
    assert client.post(f"/api/v1/offer-codes/{code_id}/approve", headers=manager).status_code == 409


def test_rejected_and_voided_codes(demo, client, agent, manager):
    for i in range(6):
        insert(client, agent, key="reply/price-match", ticket=cancel_ticket(f"P-{i}", email=f"p{i}@example.com"))
    items = client.get("/api/v1/offer-codes", headers=manager).json["items"]
    pending = next(c for c in items if c["status"] == "pending")
    issued = next(c for c in items if c["status"] == "issued")
    assert client.post(f"/api/v1/offer-codes/{pending['id']}/reject", headers=manager).json["status"] == "rejected"
    voided = client.post(f"/api/v1/offer-codes/{issued['id']}/void", json={"note": "sent by mistake"}, headers=manager)
    assert voided.json["status"] == "void" and voided.json["note"] == "sent by mistake"
    assert client.post(f"/api/v1/offer-codes/{issued['id']}/void", headers=manager).status_code == 409
    assert client.post("/api/v1/offer-codes/99999/void", headers=manager).status_code == 404


@BOTH_STORES  # the store's guarantees, on SQLite and on PostgreSQL
def test_pool_codes_are_handed_out_once_then_refused(demo, client, agent, manager):
    r = client.post("/api/v1/offers/free-shipping/pool", json={"codes": ["SHOP-AAAA1", "SHOP-AAAA2"]}, headers=manager)
    assert r.json == {"added": 2, "skipped": 0, "total": 2, "free": 2}
    got = [insert(client, agent, ticket=cancel_ticket(f"T-{i}", email=f"c{i}@example.com")).json["offer"]["code"]
           for i in range(2)]
    assert sorted(got) == ["SHOP-AAAA1", "SHOP-AAAA2"]
    r = insert(client, agent, ticket=cancel_ticket("T-3", email="c3@example.com"))
    assert r.status_code == 409 and r.json["limit"] == "pool" and "used up" in r.json["detail"]


def test_offers_api(demo, client, agent, manager):
    assert [o["key"] for o in client.get("/api/v1/offers", headers=agent).json] == ["free-shipping", "goodwill-10", "member-20"]
    offer = client.get("/api/v1/offers/free-shipping", headers=agent).json
    offer["per_agent_per_day"] = 3
    assert client.put("/api/v1/offers/free-shipping", json=offer, headers=agent).status_code == 403
    assert client.put("/api/v1/offers/free-shipping", json=offer, headers=manager).status_code == 200
    assert client.get("/api/v1/offers/free-shipping", headers=agent).json["per_agent_per_day"] == 3
    bad = client.put("/api/v1/offers/free-shipping", json={**offer, "code_prefix": "bad prefix"}, headers=manager)
    assert bad.status_code == 422 and "code_prefix" in bad.json["errors"]


def test_policy_use_is_recorded_without_text_or_offer(demo, client, agent):
    r = insert(client, agent, key="policy/order_issue/manage_cancel")
    assert r.status_code == 201 and r.json["kind"] == "policy" and r.json["text"] is None and r.json["offer"] is None


@pytest.mark.parametrize("key,status", [("reply/nope", 404)])
def test_unknown_reply_is_404(demo, client, agent, key, status):
    assert insert(client, agent, key=key).status_code == status


def test_suggest_ranks_by_eligibility_and_says_why(demo, client, agent):
    unshipped = client.post("/api/v1/suggest", json={"ticket": cancel_ticket()}, headers=agent).json
    assert unshipped["replies"][0]["key"] == "reply/cancel-unshipped"
    top = unshipped["replies"][0]
    assert top["eligible"] is True and top["offer_preview"]["kind"] == "free_shipping"
    shipped_ticket = cancel_ticket(status="shipped")
    shipped_ticket["body"] = "I want to cancel my order A-10482, I changed my mind."
    shipped = client.post("/api/v1/suggest", json={"ticket": shipped_ticket}, headers=agent).json
    assert shipped["replies"][0]["key"] == "reply/cancel-shipped"
    # Relevant enough to be shown, but after every reply that fits, with the reason.
    keys = [h["key"] for h in shipped["replies"]]
    demoted = shipped["replies"][keys.index("reply/cancel-unshipped")]
    assert demoted["eligible"] is False and "order A-10482 is shipped" in demoted["reason"]
    eligible_flags = [h["eligible"] for h in shipped["replies"]]
    assert eligible_flags == sorted(eligible_flags, key=lambda e: e is False)
    unknown = client.post("/api/v1/suggest", json={"ticket": {"id": "T-9", "body": "please cancel my order"}},
                          headers=agent).json
    assert any(h["eligible"] is None and "order.status" in h["reason"] for h in unknown["replies"])


def test_suggest_lists_fill_in_fields(demo, client, agent):
    r = client.post("/api/v1/suggest", json={"ticket": {"id": "T-5", "body": "Please send my order to my new address, it has not shipped"}},
                    headers=agent).json
    change = next(h for h in r["replies"] if h["key"] == "reply/change-address")
    assert change["fields"] == [{"name": "new_address", "label": "New delivery address", "type": "text",
                                 "required": True, "choices": []}]
    assert "fields.new_address" in change["missing"]


@BOTH_STORES  # the store's guarantees, on SQLite and on PostgreSQL
def test_suggest_records_what_it_showed(demo, client, agent):
    client.post("/api/v1/suggest", json={"ticket": cancel_ticket("T-ev")}, headers=agent)
    demo.extensions["replyassist.events"].flush()  # written off the request path, in batches
    store = open_store(demo.config["DATABASE"])
    rows = store.conn.execute("SELECT ticket_id, agent, language, shown FROM suggestion_events").fetchall()
    store.close()
    assert len(rows) == 1 and rows[0]["ticket_id"] == "T-ev" and rows[0]["agent"] == "ana"
    assert '["policy", "policy/order_issue/manage_cancel", 1]' in rows[0]["shown"]
