"""Learning from insertions: taught, capped, explained, cleared, and credited to policies."""
from __future__ import annotations

import time

from server import learning
from tests.conftest import _token

INSERT = "/api/v1/insertions"
GOAT = "A goat from the farm next door chewed through the box on my porch"


def suggest(client, headers, body, limit=5):
    # Learned text is indexed in the background; serve the queue now instead of waiting.
    client.application.extensions["replyassist.reindexer"].flush()
    return client.post("/api/v1/suggest", json={"ticket": {"id": "S-1", "body": body}, "limit": limit},
                       headers=headers).json


def insert(client, headers, key, ticket_id, body, **extra):
    ticket = {"id": ticket_id, "body": body, "customer": {"first_name": "Lu", "email": f"{ticket_id}@example.com"},
              "order": {"id": "A-1", "status": "delivered"}, **extra}
    r = client.post(INSERT, json={"key": key, "ticket": ticket, "confirm_ineligible": True}, headers=headers)
    assert r.status_code in (200, 201), r.json
    return r.json


def learned(client, headers, key):
    return client.get(f"/api/v1/snippets/{key}/learned", headers=headers).json


def test_an_insertion_teaches_the_reply_and_its_policies(demo, client, agent, manager):
    before = suggest(client, agent, GOAT)
    assert "reply/missing-package" not in [h["key"] for h in before["replies"][:1]]
    insert(client, agent, "reply/missing-package", "T-goat", GOAT)
    for key in ("reply/missing-package", "policy/shipping_issue/missing"):
        found = learned(client, manager, key)
        assert found["count"] == 1 and found["examples"][0]["text"] == GOAT
        assert found["examples"][0]["via"] == "reply/missing-package" and found["examples"][0]["agent"] == "ana"
    after = suggest(client, agent, "the goat next door chewed my box")
    top = after["replies"][0]
    assert top["key"] == "reply/missing-package" and top["learned_from"] == 1
    assert "used for 1 ticket like this one" in top["why"]  # the learner ranked it, and says so
    assert after["policies"][0]["key"] == "policy/shipping_issue/missing"


def test_a_repeated_insertion_teaches_once(demo, client, agent, manager):
    insert(client, agent, "reply/missing-package", "T-1", GOAT)
    insert(client, agent, "reply/missing-package", "T-1", GOAT)
    assert learned(client, manager, "reply/missing-package")["count"] == 1


def test_marking_a_policy_used_teaches_it(demo, client, agent, manager):
    r = client.post(INSERT, json={"key": "policy/order_issue/status_mystery_fee",
                                  "ticket": {"id": "T-9", "body": "what is this weird 4.99 surcharge"}}, headers=agent)
    assert r.status_code == 201 and r.json["text"] is None
    assert learned(client, manager, "policy/order_issue/status_mystery_fee")["count"] == 1
    assert suggest(client, agent, "weird surcharge")["policies"][0]["key"] == "policy/order_issue/status_mystery_fee"


def test_one_agent_cannot_dominate_and_the_newest_are_kept(demo, client, agent, manager, monkeypatch):
    monkeypatch.setattr(learning, "PER_AGENT", 3)
    monkeypatch.setattr(learning, "PER_SNIPPET", 5)
    for i in range(5):
        insert(client, agent, "reply/site-slow", f"A-{i}", f"page spinning forever attempt {i}")
    texts = [e["text"] for e in learned(client, manager, "reply/site-slow")["examples"]]
    assert texts == [f"page spinning forever attempt {i}" for i in (4, 3, 2)]
    other = _token(demo, "bo", "agent")
    for i in range(4):
        insert(client, other, "reply/site-slow", f"B-{i}", f"checkout button frozen try {i}")
    examples = learned(client, manager, "reply/site-slow")["examples"]
    # bo keeps his newest 3, then the snippet keeps the newest 5 of all.
    assert [(e["agent"], e["text"][-1]) for e in examples] == [
        ("bo", "3"), ("bo", "2"), ("bo", "1"), ("ana", "4"), ("ana", "3")]


def test_clearing_forgets_and_the_ranking_goes_back(demo, client, agent, manager):
    insert(client, agent, "reply/missing-package", "T-goat", GOAT)
    assert client.delete("/api/v1/snippets/reply/missing-package/learned", headers=agent).status_code == 403
    r = client.delete("/api/v1/snippets/reply/missing-package/learned", headers=manager)
    assert r.status_code == 200 and r.json["removed"] == 1
    assert learned(client, manager, "reply/missing-package")["count"] == 0
    hits = suggest(client, agent, "the goat next door chewed my box", limit=14)["replies"]
    assert all(h["learned_from"] == 0 for h in hits)


def test_learning_survives_an_index_rebuild(demo, client, agent, runner):
    insert(client, agent, "reply/missing-package", "T-goat", GOAT)
    result = runner.invoke(args=["index", "rebuild"])
    assert result.exit_code == 0, result.output
    assert suggest(client, agent, "the goat next door chewed my box")["replies"][0]["key"] == "reply/missing-package"


def test_italian_tickets_teach_in_italian(demo, client, agent, manager):
    body = "La capra del vicino ha masticato il pacco davanti alla porta"
    insert(client, agent, "reply/missing-package", "T-it", body, language="it")
    assert learned(client, manager, "reply/missing-package")["examples"][0]["language"] == "it"
    demo.extensions["replyassist.reindexer"].flush()
    hits = client.post("/api/v1/suggest", json={"ticket": {"id": "S", "body": "una capra ha masticato il pacco",
                                                           "language": "it"}}, headers=agent).json
    assert hits["replies"][0]["key"] == "reply/missing-package" and hits["replies"][0]["learned_from"] == 1
    # The English-only policy learned the Italian ticket too (reply -> policy credit).
    assert hits["policies"][0]["key"] == "policy/shipping_issue/missing"


def test_learned_text_is_indexed_in_the_background(demo, client, agent):
    insert(client, agent, "reply/missing-package", "T-goat", GOAT)
    # No flush: the reindexer thread serves the queue on its own, within about a second.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        replies = client.post("/api/v1/suggest", json={"ticket": {"id": "S", "body": "the goat chewed my box"}},
                              headers=agent).json["replies"]
        # Since the learner ranks by learned tickets, one ticket lifts the reply into the top 3.
        top = next((h for h in replies[:3] if h["key"] == "reply/missing-package"), {"learned_from": 0})
        if top["learned_from"] == 1:
            break
        time.sleep(0.1)
    assert top["learned_from"] == 1


def test_matched_terms_are_the_snippets_own_words_not_its_learned_tickets(demo, client, agent):
    # "goat" and "chewed" are only in the learned ticket: the learner's evidence ("used for 1
    # ticket like this one"), not words the reply has, so `why` must not say it matched them.
    insert(client, agent, "reply/missing-package", "T-goat", GOAT)
    top = suggest(client, agent, "a goat chewed my package on the porch, it never arrived")["replies"][0]
    assert top["key"] == "reply/missing-package" and "used for 1 ticket like this one" in top["why"]
    assert "packag" in top["matched_terms"]  # its own title: "Package marked delivered ..."
    assert not {"goat", "chew"} & set(top["matched_terms"]) and "goat" not in top["why"]
