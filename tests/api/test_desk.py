"""Sidebar round 2 on the server: localised values, rendered replies, favourites, sending without a code."""
from __future__ import annotations

import re

TICKET = {"id": "D-1", "subject": "Annullare l'ordine",
          "body": "Buongiorno, posso annullare l'ordine prima della spedizione? Grazie",
          "customer": {"first_name": "Giulia", "email": "giulia@example.it"},
          "order": {"id": "A-1", "status": "processing", "tracking_number": "Z1"}, "agent": {"first_name": "Ana"}}


def test_values_read_in_the_replys_language_from_the_managers_table(demo, client, agent, manager):
    ticket = {**TICKET, "id": "D-2", "language": "it", "order": {**TICKET["order"], "status": "shipped"}}
    rendered = client.post("/api/v1/replies/render", headers=agent,
                           json={"ticket": ticket, "keys": ["reply/order-status"]}).json
    text = rendered["replies"][0]["text"]
    assert "al momento risulta spedito e" in text and "shipped" not in text
    ja = client.post("/api/v1/replies/render", headers=agent,
                     json={"ticket": {**ticket, "language": "ja"}, "keys": ["reply/order-status"]}).json
    assert "発送済み" in ja["replies"][0]["text"] and "shipped" not in ja["replies"][0]["text"]
    # A manager changes the word; the next render uses it. Conditions still see the raw value.
    put = client.put("/api/v1/value-labels/it", headers=manager,
                     json={"labels": {"order.status": {"Shipped": "già partito"}}})
    assert put.status_code == 200 and put.json["labels"] == {"order.status": {"shipped": "già partito"}}
    again = client.post("/api/v1/replies/render", headers=agent,
                        json={"ticket": ticket, "keys": ["reply/order-status", "reply/cancel-shipped"]}).json
    assert "già partito" in again["replies"][0]["text"]
    assert again["replies"][1]["eligible"] is True and again["replies"][1]["conditions"] is True
    assert client.put("/api/v1/value-labels/it", headers=agent, json={"labels": {}}).status_code == 403
    bad = client.put("/api/v1/value-labels/it", headers=manager, json={"labels": {"status": {"a": "b"}}})
    assert bad.status_code == 422


def test_an_offer_code_date_reads_in_the_replys_language(demo, client, agent):
    inserted = client.post("/api/v1/insertions", headers=agent, json={"key": "reply/cancel-unshipped", "ticket": TICKET})
    assert inserted.status_code == 201, inserted.json
    assert inserted.json["language"] == "it"
    expires = inserted.json["offer"]["expires_on"]
    assert expires not in inserted.json["text"]  # not 2027-01-31 ...
    assert re.search(r"valido fino al \d{1,2} [a-z]+ \d{4}", inserted.json["text"])  # ... but 31 gennaio 2027


def test_render_gives_search_hits_a_preview_without_raw_templates(demo, client, agent):
    found = client.get("/api/v1/search?q=password", headers=agent).json["hits"]
    keys = list(dict.fromkeys(h["key"] for h in found if h["kind"] == "reply"))
    assert keys
    rendered = client.post("/api/v1/replies/render", headers=agent,
                           json={"ticket": {**TICKET, "language": "en"}, "keys": keys + ["policy/shipping_issue/status"]}).json
    assert [r["key"] for r in rendered["replies"]] == keys  # policies are not rendered
    for reply in rendered["replies"]:
        assert "{{" not in reply["text"] and reply["text"].startswith("Hi Giulia")
    no_conditions = next(r for r in rendered["replies"] if r["key"] == "reply/password-reset")
    assert no_conditions["eligible"] is True and no_conditions["conditions"] is False


def test_recent_and_favourite_replies_per_agent(demo, client, agent, manager):
    assert client.get("/api/v1/me/replies", headers=agent).json == {"favourites": [], "recent": []}
    client.post("/api/v1/insertions", headers=agent, json={"key": "reply/site-slow", "ticket": TICKET})
    client.post("/api/v1/insertions", headers=agent, json={"key": "reply/password-reset", "ticket": TICKET})
    fav = client.put("/api/v1/me/favourites/reply/return-window", headers=agent)
    assert fav.status_code == 200 and fav.json["favourites"][0]["key"] == "reply/return-window"
    mine = client.get("/api/v1/me/replies?language=it", headers=agent).json
    assert [r["key"] for r in mine["recent"]] == ["reply/password-reset", "reply/site-slow"]
    assert mine["favourites"] == [{"key": "reply/return-window", "title": mine["favourites"][0]["title"]}]
    assert mine["favourites"][0]["title"].startswith("Resi")  # Italian title
    # Per agent: the manager has none.
    assert client.get("/api/v1/me/replies", headers=manager).json == {"favourites": [], "recent": []}
    assert client.delete("/api/v1/me/favourites/reply/return-window", headers=agent).json["favourites"] == []
    assert client.put("/api/v1/me/favourites/reply/nope", headers=agent).status_code == 404


def test_a_reply_goes_out_without_its_code_when_a_limit_refuses_it(demo, client, agent, store):
    first = client.post("/api/v1/insertions", headers=agent, json={"key": "reply/cancel-unshipped", "ticket": TICKET})
    assert first.status_code == 201
    second_ticket = {**TICKET, "id": "D-9"}
    refused = client.post("/api/v1/insertions", headers=agent,
                          json={"key": "reply/cancel-unshipped", "ticket": second_ticket})
    assert refused.status_code == 409 and refused.json["limit"] == "per_customer"
    sent = client.post("/api/v1/insertions", headers=agent, json={
        "key": "reply/cancel-unshipped", "ticket": second_ticket, "without_offer": True,
        "withheld_because": "per_customer"})
    assert sent.status_code == 201, sent.json
    assert sent.json["offer"] is None and sent.json["offer_withheld"] is True and sent.json["missing"] == []
    assert "[[" not in sent.json["text"] and "codice" not in sent.json["text"]
    assert sent.json["text"].startswith("Ciao Giulia,") and sent.json["text"].endswith("Ana")
    rows = store.conn.execute("SELECT w.offer_key, w.reason, i.ticket_id, i.offer_code_id FROM withheld_offers w "
                              "JOIN insertions i ON i.id = w.insertion_id").fetchall()
    assert [tuple(r) for r in rows] == [("free-shipping", "per_customer", "D-9", None)]


def test_labels_import_replaces_a_languages_labels_and_refuses_a_bad_file(demo, runner, store, tmp_path):
    good = tmp_path / "labels.json"
    good.write_text('{"it": {"order.status": {"Shipped": "partito"}}}', encoding="utf-8")
    result = runner.invoke(args=["labels", "import", str(good)])
    assert result.exit_code == 0 and "labels: 1 for it" in result.output
    assert store.value_labels("it") == {"it": {"order.status": {"shipped": "partito"}}}
    bad = tmp_path / "bad.json"
    bad.write_text('{"it": {"status": {"a": "b"}}}', encoding="utf-8")
    result = runner.invoke(args=["labels", "import", str(bad)])
    assert result.exit_code != 0 and "not a labels file" in result.output
    assert store.value_labels("it")["it"]["order.status"] == {"shipped": "partito"}  # unchanged
