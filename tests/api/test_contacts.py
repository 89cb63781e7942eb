"""Repeat contacts: counted per customer (normalised like the offer limits), alerts for managers."""
from __future__ import annotations


def ticket(n: int, email: str, subject: str, url: str | None = None) -> dict:
    t = {"id": f"T-{n}", "subject": subject, "body": subject, "customer": {"first_name": "Maria", "email": email}}
    if url:
        t["url"] = url
    return t


def suggest(client, headers, t):
    response = client.post("/api/v1/suggest", headers=headers, json={"ticket": t})
    assert response.status_code == 200, response.json
    return response.json["contact"]


def test_the_third_ticket_of_one_customer_is_a_repeat_contact(demo, client, agent, manager):
    first = suggest(client, agent, ticket(1, "maria@example.com", "My parcel is late", "https://desk.example/t/1"))
    assert first["count"] == 1 and first["repeat"] is False and first["earlier"] == []
    # Seen again (a reload): still one contact.
    assert suggest(client, agent, ticket(1, "maria@example.com", "My parcel is late"))["count"] == 1
    # An insertion on a second ticket counts too, spelled with another case.
    inserted = client.post("/api/v1/insertions", headers=agent, json={
        "key": "reply/site-slow", "ticket": ticket(2, "Maria@Example.COM", "Refund for the boots")})
    assert inserted.status_code == 201, inserted.json
    third = suggest(client, agent, ticket(3, "maria+orders@example.com", "Still no refund"))
    assert third["count"] == 3 and third["repeat"] is True and third["window_days"] == 14
    assert [e["ticket_id"] for e in third["earlier"]] == ["T-2", "T-1"]  # newest first
    assert third["earlier"][1] == {"ticket_id": "T-1", "subject": "My parcel is late",
                                   "url": "https://desk.example/t/1", "at": third["earlier"][1]["at"]}
    assert third["alerted"] is False
    # Someone else is not counted with her.
    assert suggest(client, agent, ticket(4, "mario@example.com", "Hello"))["count"] == 1

    alert = client.post("/api/v1/contacts/alerts", headers=agent,
                        json={"ticket": ticket(3, "maria+orders@example.com", "Still no refund"), "note": "angry"})
    assert alert.status_code == 201, alert.json
    assert alert.json["customer"] == "maria@example.com" and alert.json["contacts"] == 3
    assert [e["subject"] for e in alert.json["summary"]] == ["Refund for the boots", "My parcel is late"]
    again = client.post("/api/v1/contacts/alerts", headers=agent,
                        json={"ticket": ticket(3, "maria+orders@example.com", "Still no refund")})
    assert again.status_code == 200 and again.json["id"] == alert.json["id"]  # one click, one alert
    assert suggest(client, agent, ticket(3, "maria+orders@example.com", "Still no refund"))["alerted"] is True

    assert client.get("/api/v1/contacts/alerts", headers=agent).status_code == 403
    listed = client.get("/api/v1/contacts/alerts", headers=manager).json
    assert listed["total"] == 1 and listed["items"][0]["agent"] == "ana" and listed["items"][0]["note"] == "angry"


def test_bad_input_is_a_clear_error(demo, client, agent):
    nobody = client.post("/api/v1/contacts/alerts", headers=agent, json={"ticket": {"id": "T-9", "subject": "hi"}})
    assert nobody.status_code == 422 and "customer" in nobody.json["errors"]["ticket"]
    bad_url = client.post("/api/v1/suggest", headers=agent,
                          json={"ticket": {"id": "T-9", "body": "hi", "url": "javascript:alert(1)"}})
    assert bad_url.status_code == 422 and "url" in bad_url.json["errors"]["ticket"]
    anonymous = client.post("/api/v1/suggest", headers=agent, json={"ticket": {"id": "T-9", "body": "hi"}})
    assert anonymous.json["contact"] is None
