"""The suggest path's cached reads (server/readcache.py) and fast response dump keep their promises.

Snippets, users and settings read from the process's cache are never older than what the
store held when the request began, whoever wrote it: this process, or another server process
on the same store. Responses dumped without marshmallow are what marshmallow would dump, and
hold only what the documented schema says.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from server.auth import create_user
from server.db import open_store
from server.process import ServerProcess, flask_cli
from server.suggest.routes import dump_suggest_response
from server.suggest.schemas import suggest_response_schema
from tests.conftest import demo_token

SUGGEST = "/api/v1/suggest"
KEY = "reply/cancel-unshipped"
TICKET = {"id": "C-1", "subject": "Cancel my order",
          "body": "I ordered a coat yesterday, can I still cancel it? It has not shipped.",
          "customer": {"first_name": "Maria", "email": "maria@example.com"},
          "order": {"id": "A-10482", "status": "processing"}}


def _text(response, key: str = KEY) -> str:
    assert response.status_code == 200, response.json
    return next(r for r in response.json["replies"] if r["key"] == key)["text"]


def test_an_edit_in_this_process_is_rendered_at_once(demo, client, agent, manager):
    first = _text(client.post(SUGGEST, json={"ticket": TICKET}, headers=agent))
    assert first.startswith("Hi Maria") and demo.extensions["replyassist.reads"].holds(KEY)
    r = client.patch(f"/api/v1/snippets/{KEY}", headers=manager, json={"body": "Dear {{ customer.first_name }}, done."})
    assert r.status_code == 200, r.json
    assert _text(client.post(SUGGEST, json={"ticket": {**TICKET, "id": "C-2"}}, headers=agent)) == "Dear Maria, done."


def test_a_response_is_what_the_documented_schema_dumps_and_nothing_more(demo, client, agent, monkeypatch):
    import server.suggest.routes as routes

    dumped = []

    def checked(result: dict) -> dict:
        out = dump_suggest_response(result)
        # The same as marshmallow's dump of the same result, key order included.
        assert json.dumps(out) == json.dumps(suggest_response_schema.dump(result))
        dumped.append(result)
        return out

    monkeypatch.setattr(routes, "dump_suggest_response", checked)
    tickets = [TICKET, {"id": "C-3", "body": "Ho cambiato indirizzo, potete spedire la merce altrove?"},
               {"id": "C-4", "subject": "Refund", "body": "The parcel arrived broken, I want my money back",
                "order": {"status": "delivered"}, "language": "en"}]
    for ticket in tickets:
        r = client.post(SUGGEST, json={"ticket": ticket}, headers=agent)
        assert r.status_code == 200, r.json
        assert r.json["replies"] and r.json["policies"]
        assert suggest_response_schema.validate(r.json) == {}  # an undocumented key or a wrong type is an error
    assert len(dumped) == 3 and any("phrases" in h for result in dumped for h in result["replies"])  # left out


def _call(url: str, token: str, body: dict, method: str = "POST") -> tuple[int, dict]:
    request = urllib.request.Request(url, method=method, data=json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


@pytest.mark.slow
def test_writes_of_another_server_process_are_seen_at_the_next_request(demo, client, tmp_path):
    """A second server (its own home and index, the same SQLite store) edits a snippet and
    rotates a token: this process's cached reads follow at once, not at its index's pace."""
    database = demo.config["DATABASE"]
    token = demo_token(Path(demo.config["HOME"]))
    agent = {"Authorization": f"Bearer {token}"}
    assert _text(client.post(SUGGEST, json={"ticket": TICKET}, headers=agent)).startswith("Hi Maria")
    store = open_store(database)
    try:
        manager = create_user(store, "marta", "manager")
    finally:
        store.close()
    other_home = tmp_path / "other"
    other_home.mkdir()
    env = {"REPLYASSIST_DATABASE": database, "REPLYASSIST_WARM_UP": "0"}
    with ServerProcess(other_home, threads=2, env=env, log=tmp_path / "other.log").start(timeout=180) as other:
        status, body = _call(f"{other.url}/api/v1/snippets/{KEY}", manager,
                             {"body": "Dear {{ customer.first_name }}, cancelled on the other node."}, "PATCH")
        assert status == 200, body
        again = client.post(SUGGEST, json={"ticket": {**TICKET, "id": "C-5"}}, headers=agent)
        assert _text(again) == "Dear Maria, cancelled on the other node."
        status, _ = _call(f"{other.url}{SUGGEST}", token, {"ticket": {**TICKET, "id": "C-6"}})
        assert status == 200
    # Another process rotates the agent's token (`flask demo` does when the token file is gone).
    (other_home / "demo-agent.token").unlink(missing_ok=True)
    fresh = flask_cli(other_home, "demo", env=env).strip().splitlines()[-1]
    assert client.post(SUGGEST, json={"ticket": TICKET}, headers=agent).status_code == 401
    assert client.post(SUGGEST, json={"ticket": TICKET}, headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
