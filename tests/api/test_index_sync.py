"""The index follows the store's change log: it converges after divergence, and /health says how it stands."""
from __future__ import annotations

import json
import shutil

from index.indexer import apply_changes, indexed_state, open_index
from index.searcher import SnippetSearcher
from server import create_app
from server.follower import read_rebuilds
from server.indexing import index_health, sync_index, with_learned

PHANTOM = {"key": "reply/phantom-zeppelin", "kind": "reply", "default_language": "en", "status": "published",
           "texts": {"en": {"title": "Zeppelin refunds", "body": "Refund a zeppelin ride."}},
           "tags": [], "policies": []}
TICKETS = ["Hi, please cancel my order, it has not shipped yet.",
           "My package arrived damaged and I want a refund.",
           "How do I change the shipping address on my order?"]


def search_keys(client, headers, q: str) -> list[str]:
    r = client.get("/api/v1/search", query_string={"q": q}, headers=headers)
    assert r.status_code == 200, r.json
    return [h["key"] for h in r.json["hits"]]


def inject_phantom(app, store) -> None:
    """What the old order of commits left after a crash: the index holds a write the store rolled back."""
    seq, _ = store.index_head()
    apply_changes(open_index(app.config["INDEX_DIR"]), [PHANTOM], seq + 1, "rolledback")


def store_and_index_agree(app, store) -> bool:
    """Every published snippet in the index with its latest change, nothing else, and the newest write."""
    from index.indexer import index_revisions

    ix = open_index(app.config["INDEX_DIR"])
    with ix.reader() as reader:
        revisions = index_revisions(reader)
    tokens = store.published_tokens()
    state = indexed_state(ix)
    return (revisions == {k: {t} for k, t in tokens.items()}
            and (state.seq, state.token) == store.index_head())


def test_a_phantom_write_is_reconciled_even_after_a_later_write_reuses_its_seq(demo, client, agent, manager, store):
    inject_phantom(demo, store)
    assert search_keys(client, agent, "zeppelin") == [PHANTOM["key"]]  # what the issue saw: a 404 behind a hit
    assert client.get(f"/api/v1/snippets/{PHANTOM['key']}", headers=manager).status_code == 404
    assert index_health(store, demo.config["INDEX_DIR"])["state"] == "diverged"

    # One ordinary write: the store's seq now equals the one the index claims (a counter alone
    # would agree again), but its token differs, so the sync after it reconciles.
    r = client.patch("/api/v1/snippets/reply/cancel-unshipped", json={"title": "Cancel a blimp order before it ships"},
                     headers=manager)
    assert r.status_code == 200
    assert indexed_state(open_index(demo.config["INDEX_DIR"])).seq == store.index_head()[0]
    assert search_keys(client, agent, "zeppelin") == []
    assert search_keys(client, agent, "blimp") == ["reply/cancel-unshipped"]
    assert store_and_index_agree(demo, store)
    assert index_health(store, demo.config["INDEX_DIR"])["state"] == "in_step"


def test_a_phantom_write_is_reconciled_at_start(demo, agent, store):
    inject_phantom(demo, store)
    client = create_app({"TESTING": True, "HOME": demo.config["HOME"]}).test_client()
    assert search_keys(client, agent, "zeppelin") == []
    assert store_and_index_agree(demo, store)


def test_an_index_behind_the_store_catches_up_with_only_the_changed_snippets(demo, store):
    keys = ["policy/order_issue/manage_cancel", "reply/cancel-unshipped"]
    with store.transaction():
        store.queue_reindex(keys)  # what learning logs inside an insertion
    result = sync_index(store, demo.config["INDEX_DIR"])
    assert (result.mode, result.keys) == ("tail", 2)
    assert sync_index(store, demo.config["INDEX_DIR"]).mode == "none"
    assert store_and_index_agree(demo, store)


def test_health_reports_lag_queue_and_readiness(demo, client, store):
    health = client.get("/api/v1/health").json["index"]
    assert health["state"] == "in_step" and health["in_step"] is True
    assert (health["lag_writes"], health["lag_seconds"], health["learned_queue"]) == (0, 0.0, 0)
    assert health["applied_seq"] == health["store_seq"] == store.index_head()[0]
    assert client.get("/api/v1/health/ready").status_code == 200

    with store.transaction():
        store.queue_reindex(["reply/cancel-unshipped"])
        store.queue_reindex(["policy/order_issue/manage_cancel"])
    with store.transaction():
        store.log_index_write(["reply/cancel-unshipped"], "snippets")
    health = client.get("/api/v1/health").json["index"]
    assert health["state"] == "behind" and health["in_step"] is False
    assert health["lag_writes"] == 3 and health["learned_queue"] == 2
    assert health["store_seq"] - health["applied_seq"] == 3
    assert 0 <= health["lag_seconds"] < 60
    assert client.get("/api/v1/health/ready").status_code == 200  # within READY_MAX_LAG (5 s)
    demo.config["READY_MAX_LAG"] = -1.0
    r = client.get("/api/v1/health/ready")
    assert r.status_code == 503 and r.json["ready"] is False and r.json["index"]["lag_writes"] == 3

    demo.extensions["replyassist.reindexer"].flush()
    health = client.get("/api/v1/health").json["index"]
    assert (health["state"], health["lag_writes"], health["learned_queue"]) == ("in_step", 0, 0)
    assert client.get("/api/v1/health/ready").status_code == 200


def test_health_says_when_the_index_disagrees_with_the_store(demo, client, store):
    inject_phantom(demo, store)
    r = client.get("/api/v1/health")
    assert r.status_code == 200  # alive; readiness is the load balancer's signal
    index = r.json["index"]
    assert (index["state"], index["in_step"]) == ("diverged", False)
    assert index["applied_seq"] == store.index_head()[0] + 1 and index["lag_writes"] is None
    assert "never committed" in index["detail"]
    assert client.get("/api/v1/health/ready").status_code == 503


def test_health_reports_the_last_rebuild(demo, runner, client, store):
    first = client.get("/api/v1/health").json["index"]["last_rebuild"]
    assert first["snippets"] == 0  # the empty index created at the first start
    result = runner.invoke(args=["index", "rebuild"])
    assert result.exit_code == 0, result.output
    last = client.get("/api/v1/health").json["index"]["last_rebuild"]
    documents = sum(len(s["texts"]) for s in store.iter_snippets("published"))
    assert last["documents"] == documents and last["snippets"] == store.count_snippets()
    assert last["procs"] == 1  # a small store: one process
    assert last["snapshot_seq"] == store.index_head()[0] and last["seconds"] >= 0
    assert last["finished_at"] >= last["started_at"]
    assert client.get("/api/v1/health").json["index"]["rebuild_running"] is None
    status = json.loads(runner.invoke(args=["index", "status"]).output)
    assert status["state"] == "in_step" and status["last_rebuild"]["documents"] == documents


def test_a_rebuild_in_several_processes_ranks_like_the_index_it_replaces(demo, runner, store):
    def rankings() -> list:
        searcher = SnippetSearcher(demo.config["INDEX_DIR"])
        try:
            return [{kind: [(h.key, h.language, h.score) for h in hits]
                     for kind, hits in searcher.suggest(text, "en", limit=5).items()} for text in TICKETS]
        finally:
            searcher.close()

    before = rankings()  # built commit by commit while the demo was imported
    result = runner.invoke(args=["index", "rebuild", "--procs", "2"])
    assert result.exit_code == 0, result.output
    assert read_rebuilds(demo.config["INDEX_DIR"])["last"]["procs"] == 2  # this node's record
    assert rankings() == before
    assert store_and_index_agree(demo, store)


def test_learned_text_survives_a_rebuild(demo, client, agent, runner, store):
    ticket = {"id": "T-9", "body": "The zeppelin ticket was never delivered, cancel it"}
    key = "policy/order_issue/manage_cancel"
    r = client.post("/api/v1/insertions", json={"key": key, "ticket": ticket}, headers=agent)
    assert r.status_code in (200, 201), r.json
    demo.extensions["replyassist.reindexer"].flush()
    assert with_learned(store, [store.get_snippet(key)])[0]["learned"]
    before = client.post("/api/v1/suggest", json={"ticket": ticket}, headers=agent).json["policies"][0]
    assert before["key"] == key and before["learned_from"] == 1
    assert runner.invoke(args=["index", "rebuild", "--procs", "2"]).exit_code == 0
    after = client.post("/api/v1/suggest", json={"ticket": {**ticket, "id": "T-10"}}, headers=agent).json
    assert after["policies"][0]["key"] == key and after["policies"][0]["learned_from"] == 1
    assert store_and_index_agree(demo, store)


def test_an_index_deleted_under_a_running_app_is_rebuilt_by_the_background_indexer(demo, client, agent, store):
    assert search_keys(client, agent, "cancel")
    shutil.rmtree(demo.config["INDEX_DIR"])
    assert index_health(store, demo.config["INDEX_DIR"])["state"] == "unavailable"
    assert demo.extensions["replyassist.reindexer"].flush().mode == "rebuild"
    assert store_and_index_agree(demo, store)
    assert "policy/order_issue/manage_cancel" in search_keys(client, agent, "cancel order")
