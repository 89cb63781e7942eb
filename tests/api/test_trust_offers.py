"""A manager's approval means something and a code is one customer's (issue 8, defects 1, 4, 5)."""
from __future__ import annotations

import pytest

from tests.api.test_insertions import cancel_ticket, codes, insert
from tests.conftest import BOTH_STORES

PROBE = "limit.probe@example.com"


def price_ticket(ticket_id, email):
    return {**cancel_ticket(ticket_id, email=email), "body": "Your price dropped the day after I bought."}


def test_a_pending_code_never_reaches_the_agent(demo, client, agent, manager):
    for i in range(5):  # goodwill-10: past 5 codes a day an agent's codes wait for a manager
        assert insert(client, agent, key="reply/price-match", ticket=price_ticket(f"P-{i}", f"p{i}@example.com")).status_code == 201
    ticket = price_ticket("P-5", "p5@example.com")
    r = insert(client, agent, key="reply/price-match", ticket=ticket)
    assert r.status_code == 201
    [pending] = [c for c in codes(demo) if c["status"] == "pending"]
    assert pending["code"] not in r.text  # nowhere in the response, not even in `offer`
    assert r.json["offer"] == {"key": "goodwill-10", "code": None, "expires_on": pending["expires_on"],
                               "status": "pending"}
    assert r.json["text"] is None and "approval" in r.json["notice"]
    again = insert(client, agent, key="reply/price-match", ticket=ticket)
    assert again.status_code == 200 and pending["code"] not in again.text and again.json["text"] is None
    client.post(f"/api/v1/offer-codes/{pending['id']}/approve", headers=manager)
    approved = insert(client, agent, key="reply/price-match", ticket=ticket).json
    assert approved["offer"]["code"] == pending["code"] and pending["code"] in approved["text"]
    assert approved["notice"] is None


def test_a_rejected_code_is_not_shown_either(demo, client, agent, manager):
    for i in range(6):
        insert(client, agent, key="reply/price-match", ticket=price_ticket(f"P-{i}", f"p{i}@example.com"))
    [pending] = [c for c in codes(demo) if c["status"] == "pending"]
    client.post(f"/api/v1/offer-codes/{pending['id']}/reject", headers=manager)
    r = insert(client, agent, key="reply/price-match", ticket=price_ticket("P-5", "p5@example.com"))
    assert pending["code"] not in r.text and r.json["text"] is None and "rejected" in r.json["notice"]


@BOTH_STORES  # the store's guarantees, on SQLite and on PostgreSQL
def test_same_ticket_id_for_another_customer_is_a_409_not_alices_code(demo, client, agent, manager):
    alice = insert(client, agent, ticket=cancel_ticket("XT-1", email="alice@example.com"))
    assert alice.status_code == 201
    for headers in (agent, manager):  # another agent, same ticket id, another customer
        bob = insert(client, headers, ticket=cancel_ticket("XT-1", email="bob@example.com"))
        assert bob.status_code == 409, bob.json
        assert bob.json["type"].endswith("conversation-customer-mismatch")
        assert "another customer" in bob.json["detail"]
        assert alice.json["offer"]["code"] not in bob.text
    same = insert(client, manager, ticket=cancel_ticket("XT-1", email="Alice@Example.com"))
    assert same.status_code == 200 and same.json["offer"]["code"] == alice.json["offer"]["code"]


@pytest.mark.parametrize("where", [{"helpdesk": "freshdesk"}, {"brand": "outlet.example.com"}])
def test_ticket_ids_of_two_helpdesks_or_brands_are_two_conversations(demo, client, agent, where):
    zendesk = {"helpdesk": "zendesk", "brand": "shop.zendesk.com"}
    first = insert(client, agent, ticket=cancel_ticket("XT-1", email="alice@example.com", **zendesk))
    other = insert(client, agent, ticket=cancel_ticket("XT-1", email="bob@example.com", **{**zendesk, **where}))
    assert first.status_code == 201 and other.status_code == 201 and other.json["repeated"] is False
    assert other.json["offer"]["code"] != first.json["offer"]["code"]
    assert {(c["helpdesk"], c["brand"], c["ticket_id"]) for c in codes(demo)} == {
        ("zendesk", "shop.zendesk.com", "XT-1"), (where.get("helpdesk", "zendesk"), where.get("brand", "shop.zendesk.com"), "XT-1")}


@pytest.mark.parametrize("customer", [
    {"email": PROBE + "\u200b"}, {"email": PROBE + "."}, {"email": "limit.probe\uff20example.com"},
    {"email": "limit.probe+x@example.com"}, {"email": "limit.prob\u0435@example.com"},
    {"email": "limit.pro\u00adbe@example.com"}, {"email": "limit.probe\u0301@example.com"},
    {"id": "cust-7"},
], ids=["zwsp", "trailing-dot", "fullwidth-at", "subaddress", "cyrillic-e", "soft-hyphen",
        "combining-accent", "customer-id"])
def test_the_per_customer_limit_holds_however_the_customer_is_spelled(demo, client, agent, customer):
    # free-shipping: 1 per customer in 90 days. The first ticket knows both e-mail and id.
    first = insert(client, agent, ticket=cancel_ticket("L-1", email=PROBE) | {
        "customer": {"email": PROBE, "id": "cust-7", "first_name": "Lim"}})
    assert first.status_code == 201
    second = insert(client, agent, ticket=cancel_ticket("L-2") | {"customer": customer})
    assert second.status_code == 409, second.json
    assert second.json["limit"] == "per_customer"
    assert len(codes(demo)) == 1


def test_subaddressing_can_be_kept_as_separate_customers(tmp_path, client, agent, demo):
    demo.config["OFFER_SUBADDRESSING"] = "keep"
    assert insert(client, agent, ticket=cancel_ticket("L-1", email=PROBE)).status_code == 201
    assert insert(client, agent, ticket=cancel_ticket("L-2", email="limit.probe+x@example.com")).status_code == 201


def test_migration_10_keeps_codes_insertions_and_pool_links(tmp_path, monkeypatch):
    """A store the legacy migrations left at version 9 is finished by them, then stamped (Alembic)."""
    import sqlite3

    from server import db
    from server.migrations import legacy
    path = str(tmp_path / "old.sqlite3")
    monkeypatch.setattr(legacy, "MIGRATIONS", [m for m in legacy.MIGRATIONS if m[0] < 10])
    old = sqlite3.connect(path, isolation_level=None)
    legacy.migrate(old)
    old.execute("INSERT INTO offer_codes (offer_key, code, source, status, customer, agent, ticket_id, "
                "snippet_key, issued_at, expires_on) VALUES ('o', 'SHOP-1', 'pool', 'issued', "
                "'maria@example.com', 'ana', 'T-1', 'reply/x', '2026-01-01T00:00:00+00:00', '2026-02-01')")
    old.execute("INSERT INTO code_pool VALUES ('SHOP-1', 'o', '2026-01-01', 1)")
    old.execute("INSERT INTO insertions (ticket_id, snippet_key, snippet_version, kind, language, agent, "
                "offer_code_id, created_at, last_at) VALUES ('T-1', 'reply/x', 1, 'reply', 'en', 'ana', "
                "1, '2026-01-01', '2026-01-01')")
    old.close()
    monkeypatch.undo()
    new = db.open_store(path)
    assert new.schema_version() >= 70
    assert new.code_for("T-1", "reply/x")["code"] == "SHOP-1" and new.code_customers(1) == ["maria@example.com"]
    assert new.get_insertion("T-1", "reply/x")["offer_code_id"] == 1
    assert new.conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert len(new.codes_since("o", since="2025-01-01", customer=["maria@example.com"])) == 1
