"""Two app servers (nodes), each with its own home and index, on one store of record.

Node A and node B are real server processes with their own ``REPLYASSIST_HOME`` (so their
own Whoosh index) pointed at one shared store. What one node writes reaches the other's index
through the store's change log (server/follower.py), issuance keeps its limits whichever node
takes the request, and a node killed with -9 catches up when it comes back. Written against
the store's URL only, so each test runs on every store the suite can start.
"""
from __future__ import annotations

import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from server.auth import create_user
from server.db import open_store
from server.process import ServerProcess, flask_cli, start_all
from tests.api.test_issuance_processes import all_at_once, cancel_ticket
from tests.api.test_server_process import START_WAIT, Response, call
from tests.conftest import copy_demo_home, demo_token

pytestmark = pytest.mark.slow

WAIT = 60.0  # generous: a loaded machine; each wait ends as soon as its condition holds
PAUSE_POINT = "follower-apply"  # node B's follower stops here once, before applying A's first write
QUIET = {"REPLYASSIST_WARM_UP": "0"}  # detection models load on first use: faster start-ups


def demo_store(request, home_a: Path) -> tuple[dict[str, str], str]:
    """A demo store both nodes share, loaded through node A's home: their environment, the agent's token."""
    if request.param == "sqlite":  # node A's SQLite file, which node B opens too (nodes on one machine)
        copy_demo_home(request.getfixturevalue("demo_template"), home_a)
        return {"REPLYASSIST_DATABASE": str(home_a / "replyassist.sqlite3"), **QUIET}, demo_token(home_a)
    # A database of its own on the session's PostgreSQL server (tests/pg.py; fails when missing).
    env = {"REPLYASSIST_DATABASE_URL": request.getfixturevalue("postgres").new_database(), **QUIET}
    return env, flask_cli(home_a, "demo", env=env).strip().splitlines()[-1]


def shared_database(env: dict[str, str]) -> str:
    """The store's setting as the nodes read it (a SQLite path or a URL)."""
    return env.get("REPLYASSIST_DATABASE_URL") or env["REPLYASSIST_DATABASE"]


# A shared SQLite file (one machine, several homes) and a real PostgreSQL server (tests/pg.py).
STORES = ["sqlite", "postgresql"]


@dataclass
class Nodes:
    a: ServerProcess
    b: ServerProcess
    env: dict[str, str]  # the shared store's
    pause_flag: Path
    manager: str
    agents: list[str]
    words: Iterator[str] = field(default_factory=lambda: iter(WORDS))

    def api(self, node: ServerProcess) -> str:
        return f"{node.url}/api/v1"


WORDS = ["quokka", "narwhal", "axolotl", "pangolin", "okapi", "tapir", "wombat", "kinkajou", "capybara",
         "dugong", "fossa", "gharial"]


@pytest.fixture(scope="module", params=STORES)
def nodes(request, tmp_path_factory) -> Iterator[Nodes]:
    """Node A (waitress) and node B (gunicorn, 2 workers) on one demo store; B's follower pauses once."""
    root = tmp_path_factory.mktemp(f"nodes-{request.param}")
    home_a, home_b = root / "a", root / "b"
    env, agent = demo_store(request, home_a)
    home_b.mkdir()  # a node needs nothing on disk but its home: the index is built at start
    store = open_store(shared_database(env))  # two more users, without two more CLI start-ups
    try:
        manager, other = create_user(store, "marco", "manager"), create_user(store, "agent-2", "agent")
    finally:
        store.close()
    a = ServerProcess(home_a, env=env, log=home_a / "server.log")
    paused = {"REPLYASSIST_PAUSE_AT": PAUSE_POINT, "REPLYASSIST_PAUSE_DIR": str(root), "REPLYASSIST_READY_MAX_LAG": "0"}
    b = ServerProcess(home_b, kind="gunicorn", workers=2, env={**env, **paused}, log=home_b / "server.log")
    flag = root / f"{PAUSE_POINT}.paused"
    try:
        start_all([a, b], timeout=START_WAIT)
        yield Nodes(a=a, b=b, env=env, pause_flag=flag, manager=manager, agents=[agent, other])
    finally:
        flag.unlink(missing_ok=True)  # a paused follower would hold the stop up
        for node in (a, b):
            node.stop(timeout=10)


def wait_for(what: str, check: Callable[[], object], timeout: float = WAIT) -> object:
    """Poll ``check`` until it returns something true; fail with ``what`` after ``timeout``."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    pytest.fail(f"{what}: not within {timeout:.0f} s (last: {last!r})")


def health(nodes: Nodes, node: ServerProcess) -> dict:
    r = call(nodes.api(node), "GET", "/health")
    assert r.status == 200, r.json
    return r.json["index"]


def policy(word: str) -> dict:
    return {"key": f"policy/store/{word}-corner", "kind": "policy", "language": "en",
            "title": f"The {word} corner", "body": f"Customers may visit the {word} corner of the store."}


def suggested(nodes: Nodes, node: ServerProcess, word: str) -> list[str]:
    r = call(nodes.api(node), "POST", "/suggest", token=nodes.agents[0],
             body={"ticket": {"id": f"T-{word}", "body": f"Where is the {word} corner in your store?"}})
    assert r.status == 200, r.json
    return [h["key"] for h in r.json["policies"]]


def found(nodes: Nodes, node: ServerProcess, word: str) -> list[str]:
    r = call(nodes.api(node), "GET", "/search", token=nodes.agents[0], query=f"?q={urllib.parse.quote(word)}")
    assert r.status == 200, r.json
    return [h["key"] for h in r.json["hits"]]


def test_a_snippet_saved_on_one_node_is_suggested_by_the_other(nodes):
    word = next(nodes.words)
    assert policy(word)["key"] not in suggested(nodes, nodes.b, word)

    r = call(nodes.api(nodes.a), "POST", "/snippets", token=nodes.manager, body=policy(word))
    assert r.status == 201, r.json
    assert suggested(nodes, nodes.a, word)[0] == policy(word)["key"]  # A: its own write, at once

    # B's follower saw the write and stopped before applying it: B says it is behind, not ready.
    wait_for("node B's follower reaching the write", nodes.pause_flag.exists)
    behind = health(nodes, nodes.b)
    assert behind["state"] == "behind" and behind["lag_writes"] >= 1 and behind["lag_seconds"] > 0, behind
    assert behind["follower"]["last_poll_at"] is not None, behind["follower"]  # whichever worker answers
    assert call(nodes.api(nodes.b), "GET", "/health/ready").status == 503
    assert health(nodes, nodes.a)["state"] == "in_step"

    nodes.pause_flag.unlink()
    wait_for("node B suggesting the policy saved on A", lambda: suggested(nodes, nodes.b, word)[:1] == [policy(word)["key"]])
    caught_up = wait_for("node B in step", lambda: (h := health(nodes, nodes.b))["lag_writes"] == 0 and h)
    assert caught_up["state"] == "in_step" and caught_up["applied_seq"] == caught_up["store_seq"]
    assert caught_up["follower"]["last_poll_seconds_ago"] is not None  # (whichever of B's workers answers)
    assert call(nodes.api(nodes.b), "GET", "/health/ready").status == 200


def test_issuance_through_both_nodes_keeps_every_limit_and_hands_each_pool_code_out_once(nodes):
    pool = [f"NODES-POOL{n:02d}" for n in range(12)]
    r = call(nodes.api(nodes.a), "POST", "/offers/free-shipping/pool", token=nodes.manager, body={"codes": pool})
    assert r.status == 200 and r.json["free"] == 12, r.json
    # free-shipping: one per customer per 90 days. 16 customers once each and one customer on 8
    # tickets (17 customers for 12 codes), sent at once, alternately to A and B, by two agents.
    tickets = [cancel_ticket(f"NODES-{i}", f"nodes{i}@example.com") for i in range(16)]
    tickets += [cancel_ticket(f"NODES-SAME-{i}", "same.nodes@example.com") for i in range(8)]
    node = [nodes.a, nodes.b]
    results: list[Response] = all_at_once([
        (lambda i=i, t=t: call(nodes.api(node[i % 2]), "POST", "/insertions", token=nodes.agents[i // 2 % 2],
                               body={"key": "reply/cancel-unshipped", "ticket": t}))
        for i, t in enumerate(tickets)])

    statuses = Counter(r.status for r in results)
    assert set(statuses) <= {201, 409} and statuses[201] == 12, [r.json for r in results if r.status not in (201,)]
    handed_out = [r.json["offer"]["code"] for r in results if r.status == 201]
    assert sorted(handed_out) == pool  # all twelve, each exactly once
    same = [r for r, t in zip(results, tickets) if t["customer"]["email"] == "same.nodes@example.com"]
    assert sum(r.status == 201 for r in same) <= 1
    assert {r.json["limit"] for r in results if r.status == 409} <= {"pool", "per_customer"}

    codes = call(nodes.api(nodes.b), "GET", "/offer-codes", token=nodes.manager, query="?limit=1000").json
    stored = [c for c in codes["items"] if c["offer_key"] == "free-shipping"]
    assert sorted(c["code"] for c in stored) == pool
    assert Counter(c["customer"] for c in stored)["same.nodes@example.com"] <= 1


def test_a_node_killed_while_the_other_writes_catches_up_after_a_restart(nodes):
    nodes.pause_flag.unlink(missing_ok=True)  # (run alone: B must not stay paused)
    nodes.b.kill()  # SIGKILL to the master and both workers: no exit handlers, the index as it was
    words = [next(nodes.words) for _ in range(4)]
    for word in words:
        assert call(nodes.api(nodes.a), "POST", "/snippets", token=nodes.manager, body=policy(word)).status == 201
    edited = next(nodes.words)
    r = call(nodes.api(nodes.a), "PATCH", f"/snippets/{policy(words[0])['key']}", token=nodes.manager,
             body={"title": f"The {words[0]} corner by the {edited} shelf"})
    assert r.status == 200, r.json
    r = call(nodes.api(nodes.a), "POST", "/insertions", token=nodes.agents[0],  # learned text, too
             body={"key": "reply/order-status", "ticket": {"id": "NODES-LEARN", "body": "Where is my order?"}})
    assert r.status == 201, r.json
    store_head = health(nodes, nodes.a)["store_seq"]

    nodes.b.env = {k: v for k, v in nodes.b.env.items() if k != "REPLYASSIST_PAUSE_AT"}
    nodes.b.start(timeout=START_WAIT)
    back = wait_for("node B back in step", lambda: (h := health(nodes, nodes.b))["lag_writes"] == 0 and h)
    assert back["state"] == "in_step" and back["applied_seq"] >= store_head, back
    for word in words:
        assert found(nodes, nodes.b, word)[:1] == [policy(word)["key"]], word
    assert found(nodes, nodes.b, edited)[:1] == [policy(words[0])["key"]]
    assert call(nodes.api(nodes.b), "GET", "/health/ready").status == 200
