"""End to end: real waitress processes sharing one home (one SQLite file, one Whoosh index).

Two server processes serve the same store, as a deployment with several workers does: a write
through one must be what the other answers with next, also while writes and reads overlap.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from server.process import ServerProcess, flask_cli, start_all
from tests.conftest import DEMO_DOCUMENTS, DEMO_SNIPPETS, copy_demo_home, demo_token

pytestmark = pytest.mark.slow

START_WAIT = 60.0  # seconds a server may take to answer /health before the fixture gives up

KEY = "policy/store/umbrella-loans"
UMBRELLA = {"key": KEY, "kind": "policy", "language": "en", "title": "Umbrella loans at the store",
            "body": "Customers may borrow an umbrella when it rains and bring it back on their next visit."}
BICYCLES = {"key": "policy/store/bicycle-parking", "kind": "policy", "language": "en",
            "title": "Bicycle parking at the store",
            "body": "Customers may park a bicycle in the courtyard rack while they shop."}
# One distinct word per revision, so a search tells which revision an index holds.
REVISION_WORDS = ["amber", "birch", "cedar", "dahlia", "ember", "fjord", "garnet", "harbor", "indigo", "jasper"]


@dataclass
class Response:
    status: int
    content_type: str
    json: object


def call(base: str, method: str, path: str, *, token: str | None = None, body: object = None,
         data: bytes | None = None, query: str = "") -> Response:
    """One HTTP request to a real server; 4xx and 5xx come back as responses, not exceptions."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if body is not None:
        data = json.dumps(body).encode()
    if data is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(f"{base}{path}{query}", data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            status, content_type, raw = r.status, r.headers.get_content_type(), r.read()
    except urllib.error.HTTPError as e:
        status, content_type, raw = e.code, e.headers.get_content_type(), e.read()
    return Response(status, content_type, json.loads(raw) if raw else None)


@dataclass
class Servers:
    a: str
    b: str
    agent: str
    manager: str
    log_b: Path


@pytest.fixture(scope="module")
def servers(tmp_path_factory, demo_template):
    """Two waitress processes over one demo home, with an agent's and a manager's token."""
    home = copy_demo_home(demo_template, tmp_path_factory.mktemp("servers") / "home")
    agent = demo_token(home)
    manager = flask_cli(home, "users", "create", "marco", "--role", "manager").strip().splitlines()[-1]
    a, b = (ServerProcess(home, threads=8, log=home / f"server-{name}.log") for name in ("a", "b"))
    try:
        start_all([a, b], timeout=START_WAIT)
        yield Servers(a=f"{a.url}/api/v1", b=f"{b.url}/api/v1", agent=agent, manager=manager, log_b=b.log)
    finally:
        for server in (a, b):
            server.stop(timeout=10)


def ticket(body: str) -> dict:
    return {"ticket": {"id": "T-1", "body": body}}


def search(base: str, token: str, q: str) -> list[dict]:
    r = call(base, "GET", "/search", token=token, query=f"?q={urllib.request.quote(q)}")
    assert r.status == 200, r.json
    return r.json["hits"]


def test_both_processes_serve_the_demo_store(servers):
    for base in (servers.a, servers.b):
        health = call(base, "GET", "/health").json
        assert health["snippets"] == DEMO_SNIPPETS and health["index_documents"] == DEMO_DOCUMENTS
        r = call(base, "POST", "/suggest", token=servers.agent,
                 body=ticket("Please cancel my order, it has not shipped yet."))
        assert r.status == 200
        assert r.json["policies"][0]["key"] == "policy/order_issue/manage_cancel"


def test_a_write_through_one_process_is_seen_by_the_other_at_once(servers):
    umbrella_ticket = ticket("Can I borrow an umbrella? It is raining outside the store")
    before = call(servers.b, "POST", "/suggest", token=servers.agent, body=umbrella_ticket)
    assert KEY not in [h["key"] for h in before.json["policies"]]

    r = call(servers.a, "POST", "/snippets", token=servers.manager, body=UMBRELLA)
    assert r.status == 201, r.json

    after = call(servers.b, "POST", "/suggest", token=servers.agent, body=umbrella_ticket)
    assert after.status == 200
    assert after.json["policies"][0]["key"] == KEY
    assert call(servers.b, "GET", f"/snippets/{KEY}", token=servers.agent).json["version"] == 1
    assert call(servers.b, "GET", "/health").json["snippets"] == DEMO_SNIPPETS + 1


def test_reads_on_one_process_while_the_other_writes(servers):
    r = call(servers.a, "POST", "/snippets", token=servers.manager, body=BICYCLES)
    assert r.status == 201, r.json

    def patch(word: str) -> Response:
        return call(servers.a, "PATCH", f"/snippets/{BICYCLES['key']}", token=servers.manager,
                    body={"title": f"Bicycle parking ({word} revision)"})

    def suggest(i: int) -> Response:
        return call(servers.b, "POST", "/suggest", token=servers.agent,
                    body=ticket(f"Where can I park my bicycle while I shop? (ticket {i})"))

    with ThreadPoolExecutor(max_workers=10) as pool:
        writes, reads = [], []
        for i in range(20):  # interleaved, so reads overlap the writes' commits
            reads.append(pool.submit(suggest, i))
            if i % 2 == 0:
                writes.append(pool.submit(patch, REVISION_WORDS[i // 2]))
        write_results = [f.result() for f in writes]
        read_results = [f.result() for f in reads]

    assert [r.status for r in write_results] == [200] * 10, [r.json for r in write_results if r.status != 200]
    assert [r.status for r in read_results] == [200] * len(read_results)
    # Every read saw a complete state: the bicycle policy, under one of its titles.
    for r in read_results:
        if r.status == 200:
            assert r.json["policies"][0]["key"] == BICYCLES["key"]

    final_a = call(servers.a, "GET", f"/snippets/{BICYCLES['key']}", token=servers.agent).json
    final_b = call(servers.b, "GET", f"/snippets/{BICYCLES['key']}", token=servers.agent).json
    assert final_a["version"] == final_b["version"] == 1 + 10
    assert final_a["title"] == final_b["title"]
    final_word = final_a["title"].split("(")[1].split()[0]
    # Both indexes hold the final title, and none of the replaced ones.
    for base in (servers.a, servers.b):
        hits = search(base, servers.agent, final_word)
        assert [(h["key"], h["title"]) for h in hits] == [(BICYCLES["key"], final_a["title"])]
        for word in REVISION_WORDS:
            if word != final_word:
                assert BICYCLES["key"] not in [h["key"] for h in search(base, servers.agent, word)]


def test_a_hundred_kilobyte_ticket_is_answered(servers):
    body = ("Please cancel my order, it has not shipped. " * 2500)[:100_000]
    r = call(servers.b, "POST", "/suggest", token=servers.agent, body=ticket(body))
    assert r.status == 200
    assert r.json["policies"][0]["key"] == "policy/order_issue/manage_cancel"


def test_malformed_json_is_a_400_problem(servers):
    r = call(servers.a, "POST", "/suggest", token=servers.agent, data=b'{"ticket": {')
    assert r.status == 400
    assert r.content_type == "application/problem+json"
    assert r.json["status"] == 400 and "JSON" in r.json["detail"]


def test_an_oversized_body_is_a_413_problem(servers):
    r = call(servers.a, "POST", "/suggest", token=servers.agent, data=b"{" + b" " * (2 * 1024 * 1024) + b"}")
    assert r.status == 413
    assert r.content_type == "application/problem+json"
