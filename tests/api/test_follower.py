"""A node's follower (server/follower.py): it applies other nodes' writes, resumes, rebuilds when far behind.

Two apps in this process play two nodes: each has its own home and index, both use the demo
app's store. Node B writes through its API; node A's follower must bring A's index along.
"""
from __future__ import annotations

import time

import pytest

from index.indexer import indexed_state, open_index
from server import create_app, indexing
from server.db import open_store
from server.follower import Follower, doorbell_path, read_rebuilds, ring
from server.indexing import index_health
from tests.api.test_index_sync import search_keys, store_and_index_agree
from tests.conftest import BOTH_STORES

UMBRELLA = {"key": "policy/store/umbrella-loans", "kind": "policy", "language": "en",
            "title": "Umbrella loans at the store",
            "body": "Customers may borrow an umbrella when it rains and bring it back on their next visit."}


@pytest.fixture
def node_b(demo, tmp_path):
    """A second node: its own home and index, the demo app's store."""
    app = create_app({"TESTING": True, "HOME": str(tmp_path / "node-b"), "DATABASE": demo.config["DATABASE"]})
    yield app
    app.extensions["replyassist.connections"].close()  # psycopg warns (an error here) of unclosed ones


def follower_of(app, **kwargs) -> Follower:
    return Follower(app.config["DATABASE"], app.config["INDEX_DIR"], **kwargs)


@BOTH_STORES
def test_the_follower_applies_another_nodes_write_and_a_restart_resumes_from_its_position(
        demo, node_b, client, agent, manager, store):
    r = node_b.test_client().post("/api/v1/snippets", json=UMBRELLA, headers=manager)
    assert r.status_code == 201, r.json
    assert search_keys(client, agent, "umbrella") == []  # node A has not looked yet
    health = index_health(store, demo.config["INDEX_DIR"])
    assert health["state"] == "behind" and health["lag_writes"] == 1

    follower = demo.extensions["replyassist.reindexer"]
    assert follower.poll() == "applied"
    assert search_keys(client, agent, "umbrella") == [UMBRELLA["key"]]
    assert index_health(store, demo.config["INDEX_DIR"])["lag_writes"] == 0
    assert follower.poll() == "idle"  # nothing new: one read of the log's head
    assert follower.status()["leader"] and follower.status()["last_poll_seconds_ago"] is not None
    follower.stop()

    # A restart: the position is in the index on disk, so a new follower has nothing to apply.
    seq = indexed_state(open_index(demo.config["INDEX_DIR"])).seq
    again = follower_of(demo)
    try:
        assert again.poll() == "in_step"
    finally:
        again.stop()
    assert indexed_state(open_index(demo.config["INDEX_DIR"])).seq == seq
    assert store_and_index_agree(demo, store)


def test_a_node_more_writes_behind_than_allowed_rebuilds_aside(demo, node_b, client, agent, manager, store):
    b = node_b.test_client()
    assert b.post("/api/v1/snippets", json=UMBRELLA, headers=manager).status_code == 201
    for word in ("amber", "birch", "cedar"):
        r = b.patch(f"/api/v1/snippets/{UMBRELLA['key']}", json={"title": f"Umbrella loans ({word})"}, headers=manager)
        assert r.status_code == 200, r.json

    follower = follower_of(demo, max_writes=2)
    try:
        assert follower.poll() == "rebuild"
    finally:
        follower.stop()
    assert search_keys(client, agent, "cedar") == [UMBRELLA["key"]] and search_keys(client, agent, "birch") == []
    mine, theirs = read_rebuilds(demo.config["INDEX_DIR"])["last"], read_rebuilds(node_b.config["INDEX_DIR"])["last"]
    assert mine["snippets"] == store.count_snippets() == theirs["snippets"] + 1  # each node its own record
    assert store_and_index_agree(demo, store)


def test_a_position_trimmed_from_the_log_means_a_rebuild(demo, node_b, client, agent, manager, store):
    assert node_b.test_client().post("/api/v1/snippets", json=UMBRELLA, headers=manager).status_code == 201
    with store.transaction():  # node B trims the log up to its own position, past node A's
        assert store.compact_index_writes(store.index_head()[0], time.time() + 1) > 0
    assert index_health(store, demo.config["INDEX_DIR"])["state"] == "diverged"

    follower = follower_of(demo)
    try:
        assert follower.poll() == "rebuild"
    finally:
        follower.stop()
    assert search_keys(client, agent, "umbrella") == [UMBRELLA["key"]]
    assert index_health(store, demo.config["INDEX_DIR"])["state"] == "in_step"


def test_one_worker_per_node_follows_and_another_takes_over_when_it_stops(app):
    first, second = follower_of(app), follower_of(app)  # two gunicorn workers on one home
    try:
        assert first.leads() and not second.leads()
        assert not second.status()["leader"]
        first.stop()
        assert second.leads() and second.status()["leader"]
    finally:
        first.stop()
        second.stop()


def test_the_follower_thread_follows_on_its_own_and_stops_cleanly(demo, node_b, client, agent, manager):
    follower = follower_of(demo, watch=True, period=0.05)
    follower.start()
    try:
        assert node_b.test_client().post("/api/v1/snippets", json=UMBRELLA, headers=manager).status_code == 201
        deadline = time.monotonic() + 30
        while search_keys(client, agent, "umbrella") != [UMBRELLA["key"]] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert search_keys(client, agent, "umbrella") == [UMBRELLA["key"]]
        assert follower.status()["running"] and follower.polls > 0
    finally:
        follower.stop()
    assert not follower.status()["running"] and not follower.status()["leader"]
    store = open_store(demo.config["DATABASE"])
    try:
        assert index_health(store, demo.config["INDEX_DIR"])["lag_writes"] == 0
    finally:
        store.close()


def serving_aside(app):
    """Make ``app`` a serving process whose node follows the store from its trainer process."""
    keeper = app.extensions["replyassist.reindexer"]
    keeper.watch, keeper.lead = True, False
    return keeper


def test_a_save_waits_for_the_trainer_process_commit_and_is_searchable_when_it_answers(demo, client, agent, manager):
    keeper = serving_aside(demo)
    # The trainer process's follower (another process in a server; a thread here).
    trainer = follower_of(demo, watch=True, period=0.05)
    assert trainer.leads()  # holds the node's follower lock before the save looks at it
    trainer.start()
    try:
        assert client.post("/api/v1/snippets", json=UMBRELLA, headers=manager).status_code == 201
        assert search_keys(client, agent, "umbrella") == [UMBRELLA["key"]]  # read-your-writes kept
        assert trainer.applied == 1  # its commit, not the request's (which would leave it in step)
    finally:
        trainer.stop()
        keeper.stop()


def test_a_save_rings_the_follower_which_commits_it_long_before_its_next_poll(demo, client, agent, manager):
    keeper = serving_aside(demo)
    # A follower that would not look at the store on its own for a minute: the save's wait
    # (FOLLOWER_WAIT, 15 s) ends first, so only the doorbell can make it the follower's commit.
    trainer = follower_of(demo, watch=True, period=60.0)
    assert trainer.leads()
    trainer.start()
    try:
        assert client.post("/api/v1/snippets", json=UMBRELLA, headers=manager).status_code == 201
        assert search_keys(client, agent, "umbrella") == [UMBRELLA["key"]]
        assert trainer.applied == 1  # the follower's commit, not the request's own after the wait
    finally:
        trainer.stop()
        keeper.stop()
    assert doorbell_path(demo.config["INDEX_DIR"]).exists()  # left for the next leader to reuse
    assert not ring(demo.config["INDEX_DIR"])  # nobody listens any more: saves fall back to waiting


def test_ringing_a_node_without_a_follower_says_nobody_listens(demo):
    assert not ring(demo.config["INDEX_DIR"])  # no FIFO at all
    follower = follower_of(demo)  # leads, but does not watch: no doorbell
    try:
        assert follower.leads() and not ring(demo.config["INDEX_DIR"])
    finally:
        follower.stop()


def test_a_save_commits_itself_when_no_follower_runs_or_none_indexes_it_in_time(demo, client, agent, manager,
                                                                               monkeypatch):
    keeper = serving_aside(demo)  # ... but no trainer process runs: nobody holds the follower lock
    try:
        assert client.post("/api/v1/snippets", json=UMBRELLA, headers=manager).status_code == 201
        assert search_keys(client, agent, "umbrella") == [UMBRELLA["key"]]

        monkeypatch.setattr(indexing, "FOLLOWER_WAIT", 0.1)
        stuck = follower_of(demo)  # holds the lock, never polls (a trainer busy past the wait)
        assert stuck.leads()
        try:
            r = client.patch(f"/api/v1/snippets/{UMBRELLA['key']}", json={"body": "Borrow a parasol."}, headers=manager)
            assert r.status_code == 200, r.json
            assert search_keys(client, agent, "parasol") == [UMBRELLA["key"]]
        finally:
            stuck.stop()
    finally:
        keeper.stop()
