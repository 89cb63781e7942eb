"""The suggest request's shortcuts keep their promises: templates, connections, events.

Compiled templates are reused only while the text is the same, pooled connections never carry
a transaction into the next request, and suggestion events written off the request path all
reach the database, also when the production servers stop.
"""
from __future__ import annotations

import json
import time
import urllib.request

import pytest

from server.db import ConnectionPool, open_store
from server.process import ServerProcess, start_all
from tests.conftest import copy_demo_home, demo_token

SUGGEST = "/api/v1/suggest"
TICKET = {"id": "T-1", "subject": "Cancel my order",
          "body": "I ordered a coat yesterday, can I still cancel it? It has not shipped.",
          "customer": {"first_name": "Maria"}, "order": {"id": "A-10482", "status": "processing"}}


def _reply(response, key: str) -> dict:
    return next(r for r in response.json["replies"] if r["key"] == key)


def test_an_edited_reply_renders_its_new_text(demo, client, agent, manager):
    key = "reply/cancel-unshipped"
    before = _reply(client.post(SUGGEST, json={"ticket": TICKET}, headers=agent), key)
    assert "Hi Maria" in before["text"]
    r = client.patch(f"/api/v1/snippets/{key}", headers=manager, json={
        "body": "Dear {{ customer.first_name }}, order {{ order.id }} is cancelled. {{ fields.note }}"})
    assert r.status_code == 200, r.json
    after = _reply(client.post(SUGGEST, json={"ticket": {**TICKET, "id": "T-2"}}, headers=agent), key)
    assert after["text"].startswith("Dear Maria, order A-10482 is cancelled.")
    assert after["missing"] == ["fields.note"]
    assert [f["name"] for f in after["fields"]] == ["note"]  # placeholders of the new text


def test_a_pooled_connection_never_carries_a_transaction(tmp_path):
    database = str(tmp_path / "db.sqlite3")
    open_store(database).close()
    pool = ConnectionPool(database)
    conn = pool.take()
    conn.begin(write=True)
    conn.execute("INSERT INTO meta VALUES ('left-behind', '1')")
    pool.give_back(conn)  # as a request that failed half-way does at teardown
    assert pool.engine.pool.checkedin() == 1  # kept for the next request
    again = pool.take()
    assert not again.in_transaction
    assert again.execute("SELECT count(*) FROM meta WHERE key = 'left-behind'").fetchone()[0] == 0
    other = open_store(database)  # the write lock was released
    with other.transaction():
        other.conn.execute("INSERT INTO meta VALUES ('next', '1')")
    other.close()
    pool.give_back(again)


def test_events_reach_the_database_without_a_flush(demo, client, agent):
    for n in range(5):
        assert client.post(SUGGEST, json={"ticket": {**TICKET, "id": f"E-{n}"}}, headers=agent).status_code == 200
    store = open_store(demo.config["DATABASE"])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ids = [r[0] for r in store.conn.execute("SELECT ticket_id FROM suggestion_events ORDER BY id")]
            if len(ids) == 5:
                break
            time.sleep(0.1)
        assert ids == [f"E-{n}" for n in range(5)]  # all of them, in order, by the background writer
    finally:
        store.close()


def _suggest(server: ServerProcess, token: str, ticket_id: str) -> None:
    request = urllib.request.Request(f"{server.url}{SUGGEST}", method="POST",
                                     data=json.dumps({"ticket": {**TICKET, "id": ticket_id}}).encode(),
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200


@pytest.mark.slow
def test_stopping_the_servers_loses_no_event(tmp_path, demo_template):
    """Events queued when waitress or gunicorn get SIGTERM are written before the process exits."""
    home = copy_demo_home(demo_template, tmp_path / "home")
    token = demo_token(home)
    # Events gather for a minute: only the writes at exit can store them before the test looks.
    env = {"REPLYASSIST_EVENTS_PAUSE": "60"}
    servers = {"waitress": ServerProcess(home, threads=4, env=env, log=tmp_path / "waitress.log"),
               "gunicorn": ServerProcess(home, threads=2, kind="gunicorn", workers=2, env=env,
                                         log=tmp_path / "gunicorn.log")}
    try:
        start_all(servers.values(), timeout=120)
        for name, server in servers.items():
            for n in range(20):
                _suggest(server, token, f"{name}-{n}")
        for server in servers.values():
            server.stop()  # SIGTERM right after the last answer: the writers still hold events
    finally:
        for server in servers.values():
            server.stop()
    store = open_store(str(home / "replyassist.sqlite3"))
    try:
        ids = {r[0] for r in store.conn.execute("SELECT ticket_id FROM suggestion_events")}
    finally:
        store.close()
    assert ids == {f"{name}-{n}" for name in servers for n in range(20)}
