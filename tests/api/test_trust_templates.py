"""No template can sink the server, and none goes out as its own source (issue 8, defects 2, 3)."""
from __future__ import annotations

import pytest

from server.db import open_store
from tests.api.test_insertions import cancel_ticket, codes, insert

SNIPPETS = "/api/v1/snippets"


def reply(body: str, key: str = "reply/trap") -> dict:
    return {"key": key, "kind": "reply", "language": "en", "title": "Cancel order trap", "body": body,
            "tags": ["cancel"]}


@pytest.mark.parametrize(("body", "reason"), [
    ("{{ 'a'*10**9 }}", "can never render within the limits"),
    ("{% set x = 'ab' %}" + "{% set x = x ~ x %}" * 40 + "{{ x }}", "can never render within the limits"),
    ("{{ [0] * 10**9 }}", "can never render within the limits"),
    ("{{ '%0999999999d' % 1 }}", "formatting is not available"),
    ("{{ customer.first_name|center(10**9) }}", "the filter 'center' is not available"),
    ("{% include 'x' %}", "{% include %} is not available"),
    ("{% extends 'x' %}", "{% extends %} is not available"),
    ("{% macro m(n) %}{{ m(n) }}{% endmacro %}{{ m(1) }}", "{% macro %} is not available"),
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "'__class__' is private"),
    ("{{ '{:>999999999}'.format(1) }}", "calling a function or method is not available"),
])
def test_a_template_that_cannot_render_is_refused_at_save_with_the_reason(client, manager, body, reason):
    r = client.post(SNIPPETS, json=reply("Hi {{ customer.first_name }}. " + body), headers=manager)
    assert r.status_code == 422, r.json
    assert reason in " ".join(r.json["errors"]["body"])
    assert client.get(f"{SNIPPETS}/reply/trap", headers=manager).status_code == 404


TRIPLE = ("{% for a in customer.note %}{% for b in customer.note %}{% for c in customer.note %}"
          "x{% endfor %}{% endfor %}{% endfor %}")


def test_a_template_that_explodes_on_one_ticket_is_a_clear_error_and_writes_nothing(demo, client, agent, manager):
    body = "Hi {{ customer.first_name }}, we can cancel {{ order.id }}. " + TRIPLE
    assert client.post(SNIPPETS, json={**reply(body), "offer": "free-shipping"}, headers=manager).status_code == 201
    ticket = cancel_ticket("TR-1")
    ticket["customer"]["note"] = "n" * 1000  # 10^9 iterations unbounded
    r = insert(client, agent, key="reply/trap", ticket=ticket)
    assert r.status_code == 422, r.json
    assert "cannot be rendered" in r.json["detail"] and "10,000 loop iterations" in r.json["detail"]
    assert "{%" not in r.text
    assert codes(demo) == []  # no code issued, no insertion recorded
    store = open_store(demo.config["DATABASE"])
    assert store.get_insertion("TR-1", "reply/trap") is None
    store.close()
    shown = client.post("/api/v1/suggest", json={"ticket": ticket, "limit": 20}, headers=agent)
    assert shown.status_code == 200
    [trap] = [h for h in shown.json["replies"] if h["key"] == "reply/trap"]
    assert trap["text"] is None and "loop iterations" in trap["render_error"]
    ticket["customer"]["note"] = "short"
    ok = insert(client, agent, key="reply/trap", ticket=ticket)
    assert ok.status_code == 201 and ok.json["text"].endswith("x" * 125)


def test_a_template_stored_before_the_checks_never_goes_out_as_source(demo, client, agent):
    store = open_store(demo.config["DATABASE"])
    with store.transaction():  # as an old store might hold it
        store.conn.execute("UPDATE snippets SET texts = json_set(texts, '$.en.body', ?) WHERE key = ?",
                           ("Hi {% include 'x' %} {{ ''.__class__ }}", "reply/cancel-unshipped"))
    store.close()
    r = insert(client, agent)
    assert r.status_code == 422 and "include %} is not available" in r.json["detail"]
    assert "text" not in r.json and "Hi {%" not in r.text and codes(demo) == []
