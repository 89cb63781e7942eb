"""Bearer tokens and roles, tokens at rest, and `flask users create`."""
from __future__ import annotations

from pathlib import Path

import pytest

from server.auth import create_user, hash_token, rotate_token

SNIPPETS = "/api/v1/snippets"
NEW = {"key": "policy/store/umbrella-loans", "kind": "policy", "language": "en",
       "title": "Umbrella loans at the store", "body": "Customers may borrow an umbrella when it rains."}


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Basic bWFyY286c2VjcmV0"},
    {"Authorization": "Token ra_abc"},
    {"Authorization": "Bearer"},
    {"Authorization": "Bearer    "},
    {"Authorization": "Bearer ra_not-a-token-anyone-has"},
])
@pytest.mark.parametrize("method,path", [("get", SNIPPETS), ("post", "/api/v1/suggest"), ("post", SNIPPETS)])
def test_missing_or_unknown_credentials_are_401(client, manager, store, headers, method, path):
    r = getattr(client, method)(path, json={"ticket": {"id": "1"}} if method == "post" else None, headers=headers)
    assert r.status_code == 401
    assert r.content_type == "application/problem+json"
    assert r.json["status"] == 401 and "token" in r.json["detail"]
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert store.count_snippets() == 0


def test_a_rotated_token_replaces_the_old_one(client, runner, store):
    result = runner.invoke(args=["users", "create", "boss", "--role", "manager"])
    old = {"Authorization": f"Bearer {result.output.splitlines()[-1]}"}
    assert client.get(SNIPPETS, headers=old).status_code == 200
    new = {"Authorization": f"Bearer {rotate_token(store, 'boss')}"}
    assert client.get(SNIPPETS, headers=old).status_code == 401
    assert client.get(SNIPPETS, headers=new).status_code == 200


def test_agent_may_read_but_not_write(demo, client, agent, store):
    assert client.get(f"{SNIPPETS}/reply/cancel-shipped", headers=agent).status_code == 200
    r = client.post(SNIPPETS, json=NEW, headers=agent)
    assert r.status_code == 403
    assert r.content_type == "application/problem+json"
    assert "manager" in r.json["detail"] and "agent" in r.json["detail"]
    assert store.get_snippet(NEW["key"]) is None

    for response in (client.patch(f"{SNIPPETS}/reply/cancel-shipped", json={"title": "Hacked"}, headers=agent),
                     client.delete(f"{SNIPPETS}/reply/cancel-shipped", headers=agent),
                     client.post(f"{SNIPPETS}/reply/cancel-shipped/verify", headers=agent),
                     client.get(f"{SNIPPETS}/reply/cancel-shipped/versions", headers=agent)):
        assert response.status_code == 403
    stored = store.get_snippet("reply/cancel-shipped")
    assert stored["version"] == 1 and stored["status"] == "published" and stored["verified_by"] == "demo"


def test_manager_can_write(client, manager, store):
    r = client.post(SNIPPETS, json=NEW, headers=manager)
    assert r.status_code == 201
    assert store.get_snippet(NEW["key"])["updated_by"] == "marco"


def test_admin_can_write(client, store):
    admin = {"Authorization": f"Bearer {create_user(store, 'root', 'admin')}"}
    r = client.post(SNIPPETS, json=NEW, headers=admin)
    assert r.status_code == 201
    r = client.patch(f"{SNIPPETS}/{NEW['key']}", json={"title": "Umbrella loans"}, headers=admin)
    assert r.status_code == 200
    stored = store.get_snippet(NEW["key"])
    assert stored["updated_by"] == "root" and stored["version"] == 2


def test_tokens_are_stored_only_as_hashes(app, agent, manager, store):
    tokens = {name: h["Authorization"].removeprefix("Bearer ") for name, h in (("ana", agent), ("marco", manager))}
    for name, token in tokens.items():
        user = store.get_user(name)
        assert user["token_hash"] == hash_token(token) != token
    # Nowhere in the database files (main file and write-ahead log) is a raw token.
    database = Path(app.config["DATABASE"])
    raw = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
    assert raw  # the files were read
    for token in tokens.values():
        assert token.encode() not in raw
        assert hash_token(token).encode() in raw


def test_cli_creates_a_user_and_prints_a_working_token(client, runner, store):
    result = runner.invoke(args=["users", "create", "boss", "--role", "manager"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("ra_") and " " not in token
    assert store.get_user("boss")["role"] == "manager"

    r = client.post(SNIPPETS, json=NEW, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201, r.json
    assert store.get_snippet(NEW["key"])["updated_by"] == "boss"


def test_cli_default_role_is_agent(client, runner, store):
    result = runner.invoke(args=["users", "create", "newbie"])
    assert result.exit_code == 0, result.output
    assert store.get_user("newbie")["role"] == "agent"
    token = result.output.strip().splitlines()[-1]
    assert client.post(SNIPPETS, json=NEW, headers={"Authorization": f"Bearer {token}"}).status_code == 403


def test_cli_refuses_an_existing_name_and_keeps_its_token(client, runner, store):
    first = runner.invoke(args=["users", "create", "boss", "--role", "manager"])
    token = first.output.strip().splitlines()[-1]
    again = runner.invoke(args=["users", "create", "boss", "--role", "admin"])
    assert again.exit_code != 0
    assert "'boss' already exists" in again.output
    assert "ra_" not in again.output
    assert store.get_user("boss")["role"] == "manager"
    assert client.get(SNIPPETS, headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_cli_rejects_an_unknown_role(runner, store):
    result = runner.invoke(args=["users", "create", "boss", "--role", "superuser"])
    assert result.exit_code != 0
    assert "superuser" in result.output and "manager" in result.output
    assert store.get_user("boss") is None
