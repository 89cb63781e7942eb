"""End to end: three waitress processes issuing goodwill codes at once over one store.

Issuance counts limits and takes pool codes after taking the offer's lock (SQLite's write lock,
a row lock on PostgreSQL), which serialises issuers across processes. Here several processes
(and threads in each) issue at the same moment, on each store, and the responses and the store
must show that no limit was exceeded, no pool code went out twice, and a repeated insertion
never made a second code.
"""
from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from server.auth import create_user
from server.db import is_url, open_store
from server.process import ServerProcess, flask_cli, start_all
from tests.api.test_server_process import START_WAIT, Response, call
from tests.conftest import BOTH_STORES, copy_demo_home
from tests.pg import query as store_query

pytestmark = pytest.mark.slow

PROCESSES = 3
THREADS = 4  # waitress --threads per process
WORKERS = 24  # client threads

CANCEL = "reply/cancel-unshipped"  # free-shipping: 1 per customer per 90 days, 25 per agent per day
PRICE_MATCH = "reply/price-match"  # goodwill-10: 10 per agent per day, pending after 5


@dataclass
class Cluster:
    bases: list[str]
    agents: list[str]  # tokens of agent-1, agent-2, agent-3
    manager: str
    database: str  # the SQLite file or the PostgreSQL URL


@pytest.fixture
def cluster(request, tmp_path, database) -> Iterator[Cluster]:
    """Three waitress processes over one fresh demo store, three agents and a manager."""
    home = tmp_path / "home"
    env = {}
    if is_url(database):  # PostgreSQL: the demo template is a SQLite file, load the demo itself
        env = {"REPLYASSIST_DATABASE_URL": database}
        flask_cli(home, "demo", env=env)
    else:
        copy_demo_home(request.getfixturevalue("demo_template"), home)
    users = [("agent-1", "agent"), ("agent-2", "agent"), ("agent-3", "agent"), ("marco", "manager")]
    store = open_store(database)  # in-process: a CLI start-up per user costs seconds
    try:
        tokens = [create_user(store, name, role) for name, role in users]
    finally:
        store.close()
    servers = [ServerProcess(home, threads=THREADS, log=home / f"server-{n}.log", env=env) for n in range(PROCESSES)]
    try:
        start_all(servers, timeout=START_WAIT)
        yield Cluster(bases=[f"{s.url}/api/v1" for s in servers], agents=tokens[:3], manager=tokens[3],
                      database=database)
    finally:
        for server in servers:
            server.stop(timeout=10)


def all_at_once(requests: list[Callable[[], Response]]) -> list[Response]:
    """Run the requests from up to WORKERS threads released together; results in input order.

    Worker w sends requests w, w + WORKERS, ...; the barrier makes the first wave start at the
    same moment, so the requests really overlap instead of trickling in as threads start.
    """
    workers = min(WORKERS, len(requests))
    barrier = threading.Barrier(workers)
    results: list[Response | None] = [None] * len(requests)

    def work(w: int) -> None:
        barrier.wait(timeout=30)
        for i in range(w, len(requests), workers):
            results[i] = requests[i]()

    with ThreadPoolExecutor(workers) as pool:
        for future in [pool.submit(work, w) for w in range(workers)]:
            future.result()
    return results  # type: ignore[return-value]


def insertion(cluster: Cluster, i: int, *, agent: int, key: str, ticket: dict) -> Callable[[], Response]:
    """Request i goes to process i % 3 (round robin), as agent number ``agent``."""
    base = cluster.bases[i % PROCESSES]
    return lambda: call(base, "POST", "/insertions", token=cluster.agents[agent],
                        body={"key": key, "ticket": ticket})


def cancel_ticket(ticket_id: str, email: str) -> dict:
    return {"id": ticket_id, "subject": "Cancel my order",
            "body": "I ordered a coat yesterday, can I still cancel it? It has not shipped.",
            "customer": {"first_name": "Maria", "email": email},
            "order": {"id": f"A-{ticket_id}", "status": "processing"}}


def price_ticket(ticket_id: str, email: str) -> dict:
    return {"id": ticket_id, "body": "The price of my jacket dropped the day after I bought it.",
            "customer": {"first_name": "Lea", "email": email}}


def query(database: str, sql: str, *params) -> list[tuple]:
    return store_query(database, sql, *params)


def statuses(results: list[Response]) -> Counter:
    return Counter(r.status for r in results)


def refusals(results: list[Response]) -> Counter:
    return Counter(r.json["limit"] for r in results if r.status == 409)


@BOTH_STORES  # each store's own way of serialising issuers (sqlite: write lock; PG: row lock)
def test_a_pool_code_goes_to_exactly_one_insertion(cluster):
    pool_codes = [f"SHOP-POOL{n:03d}" for n in range(30)]
    r = call(cluster.bases[0], "POST", "/offers/free-shipping/pool", token=cluster.manager,
             body={"codes": pool_codes})
    assert r.status == 200, r.json
    assert r.json == {"added": 30, "skipped": 0, "total": 30, "free": 30}
    # 45 customers, 15 per agent: under every limit but the pool's.
    results = all_at_once([insertion(cluster, i, agent=i % 3, key=CANCEL,
                                     ticket=cancel_ticket(f"POOL-{i}", f"pool{i}@example.com"))
                           for i in range(45)])

    assert statuses(results) == {201: 30, 409: 15}, [r.json for r in results if r.status not in (201, 409)]
    assert refusals(results) == {"pool": 15}
    handed_out = [r.json["offer"]["code"] for r in results if r.status == 201]
    assert sorted(handed_out) == pool_codes  # 30 distinct codes: the whole pool, each once
    assert all(r.json["offer"]["code"] in r.json["text"] for r in results if r.status == 201)

    rows = query(cluster.database, "SELECT id, code, source, ticket_id FROM offer_codes")
    assert len(rows) == 30 and {source for _, _, source, _ in rows} == {"pool"}
    pool = query(cluster.database, "SELECT p.code, p.used_by, c.code FROM code_pool p "
                                   "LEFT JOIN offer_codes c ON c.id = p.used_by")
    assert len(pool) == 30
    assert all(pool_code == issued for pool_code, _, issued in pool)  # used by the row carrying it
    assert len({used_by for _, used_by, _ in pool}) == 30
    # Refused insertions left nothing behind; each successful one points at its own code.
    recorded = query(cluster.database, "SELECT ticket_id, offer_code_id FROM insertions")
    assert sorted(recorded) == sorted((ticket_id, code_id) for code_id, _, _, ticket_id in rows)


@BOTH_STORES  # each store's own way of serialising issuers (sqlite: write lock; PG: row lock)
def test_one_customer_gets_one_code_however_many_tickets_arrive_at_once(cluster):
    results = all_at_once([insertion(cluster, i, agent=i % 3, key=CANCEL,
                                     ticket=cancel_ticket(f"SAME-{i}", "same.customer@example.com"))
                           for i in range(20)])

    assert statuses(results) == {201: 1, 409: 19}, [r.json for r in results if r.status not in (201, 409)]
    assert refusals(results) == {"per_customer": 19}
    [winner] = [r for r in results if r.status == 201]
    rows = query(cluster.database, "SELECT code, customer, status FROM offer_codes")
    assert rows == [(winner.json["offer"]["code"], "same.customer@example.com", "issued")]
    assert query(cluster.database, "SELECT count(*) FROM insertions") == [(1,)]


def test_an_agent_issues_at_most_the_daily_limit_and_the_later_ones_wait_for_approval(cluster):
    results = all_at_once([insertion(cluster, i, agent=0, key=PRICE_MATCH,
                                     ticket=price_ticket(f"PRICE-{i}", f"price{i}@example.com"))
                           for i in range(16)])

    assert statuses(results) == {201: 10, 409: 6}, [r.json for r in results if r.status not in (201, 409)]
    assert refusals(results) == {"per_agent_per_day": 6}
    assert Counter(r.json["offer"]["status"] for r in results if r.status == 201) == {"issued": 5, "pending": 5}
    # Serialised issuance: the first five codes stored are live, the next five pending.
    rows = query(cluster.database, "SELECT status, agent, offer_key FROM offer_codes ORDER BY id")
    assert rows == [("issued", "agent-1", "goodwill-10")] * 5 + [("pending", "agent-1", "goodwill-10")] * 5
    # A pending code never reaches the agent: no code, no text, a notice, until a manager approves it.
    for r in results:
        if r.status == 201 and r.json["offer"]["status"] == "pending":
            assert r.json["offer"]["code"] is None and r.json["text"] is None and "approval" in r.json["notice"]


@BOTH_STORES  # each store's own way of serialising issuers (sqlite: write lock; PG: row lock)
def test_the_same_insertion_sent_at_once_to_every_process_makes_one_code(cluster):
    ticket = cancel_ticket("TWELVE-CLICKS", "clicker@example.com")
    results = all_at_once([insertion(cluster, i, agent=0, key=CANCEL, ticket=ticket) for i in range(12)])

    assert statuses(results) == {201: 1, 200: 11}, [r.json for r in results]
    assert [r.json["repeated"] for r in results].count(False) == 1
    assert len({r.json["offer"]["code"] for r in results}) == 1
    assert len({r.json["insertion_id"] for r in results}) == 1
    [(code,)] = query(cluster.database, "SELECT code FROM offer_codes")
    assert code == results[0].json["offer"]["code"]
    assert query(cluster.database, "SELECT ticket_id, times FROM insertions") == [("TWELVE-CLICKS", 12)]
