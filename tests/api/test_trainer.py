"""The node's trainer process (server/trainer.py): it publishes the learner's models to a file that
every worker loads; a corrupt or missing file is retrained; one trainer per node."""
from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest

from server.db import open_store
from server.learner import Learner
from server.process import ServerProcess
from server.trainer import Published, Supervisor, load, models_path, publish
from tests.api.test_learner import ODD, teach_odd
from tests.conftest import copy_demo_home, demo_token


def wait_for(condition, what: str, timeout: float = 120.0):
    """Poll until ``condition()`` is truthy (a generous bound for a loaded machine; not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def data_version(app) -> int:
    store = open_store(app.config["DATABASE"])
    try:
        return store.data_version()
    finally:
        store.close()


def file_learner(app) -> Learner:
    return Learner(app.config["DATABASE"], models_file=models_path(app.config["INDEX_DIR"]))


def test_a_worker_loads_the_published_models_and_ignores_a_corrupt_file(demo, client, agent):
    teach_odd(client, agent)
    trained = demo.extensions["replyassist.learner"]  # TESTING trains inline: a known model
    trained.refresh(data_version(demo))
    worker = file_learner(demo)
    published = Published(worker)
    assert not published.check() and worker.model("en", "reply") is None  # nothing published yet

    publish(worker.models_file, trained.models, trained.version, time.time(), 0.1)
    assert published.check()
    assert worker.version == trained.version
    assert worker.model("en", "reply").learned["reply/return-window"] == len(ODD)
    assert not published.check()  # the same file is not read twice

    worker.models_file.write_bytes(b"not a pickle")  # torn or foreign: the last models stay
    assert load(worker.models_file) is None
    assert not published.check()
    assert worker.model("en", "reply").learned["reply/return-window"] == len(ODD)
    assert worker.status()["mode"] == "trainer process" and worker.status()["data_version"] == trained.version


def test_only_one_trainer_runs_per_node_and_another_worker_takes_over(demo, tmp_path):
    path = models_path(demo.config["INDEX_DIR"])
    first, second = (Supervisor(demo.config["DATABASE"], path, {"nice": 0}) for _ in range(2))
    try:
        first.ensure()
        second.ensure()
        assert first.status()["leader"] and first.status()["running"]
        assert not second.status()["leader"] and second.child is None
        first.stop()  # the leading worker goes away: its child exits with it
        second.ensure()
        assert second.status()["leader"] and second.status()["running"]
        published = wait_for(lambda: load(path), "the new leader's trainer to publish")
        assert published["version"] == data_version(demo)
    finally:
        first.stop()
        second.stop()


@pytest.fixture(scope="module")
def server(demo_template, tmp_path_factory):
    """One real server (the production path: not TESTING) over a copy of the demo home."""
    home = copy_demo_home(demo_template, tmp_path_factory.mktemp("trainer") / "home")
    # An equal share of the cores: a loaded test machine must not starve the niced (or idle) trainer.
    with ServerProcess(home, threads=2, log=home / "server.stderr", env={"REPLYASSIST_TRAINER_NICE": "0",
                                                                           "REPLYASSIST_TRAINER_IDLE": "0"}) as running:
        yield running, demo_token(home)


def call(server, token: str, method: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(f"{server.url}/api/v1{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def trained_up_to_date(server, token: str) -> dict | None:
    learner = call(server, token, "GET", "/health")["learner"]
    return learner if learner["data_version"] == learner["store_data_version"] else None


def test_a_server_trains_in_its_trainer_process_and_suggests_from_it(server):
    running, token = server
    call(running, token, "POST", "/suggest", {"ticket": {"id": "t-0", "body": "where is my order?"}})
    learner = wait_for(lambda: trained_up_to_date(running, token), "the first published models")
    assert learner["mode"] == "trainer process" and learner["trainer"]["leader"]
    assert learner["trainer"]["pid"] and learner["trained_at"]
    assert Path(learner["trainer"]["file"]).exists()

    for i, text in enumerate(ODD):
        call(running, token, "POST", "/insertions",
             {"key": "reply/return-window", "ticket": {"id": f"odd-{i}", "body": text, "language": "en",
                                                       "customer": {"email": f"odd{i}@example.com"}}})
    wait_for(lambda: trained_up_to_date(running, token), "a training that includes the insertions")
    top = call(running, token, "POST", "/suggest",
               {"ticket": {"id": "t-1", "body": "a strong smell of smoke on the scarf"}})["replies"][0]
    assert top["key"] == "reply/return-window" and "used for 5 tickets like this one" in top["why"]


def test_a_corrupt_or_missing_models_file_is_retrained_not_fatal(server):
    running, token = server
    call(running, token, "POST", "/suggest", {"ticket": {"id": "t-2", "body": "where is my order?"}})
    learner = wait_for(lambda: trained_up_to_date(running, token), "published models")
    path = Path(learner["trainer"]["file"])
    path.write_bytes(b"\x80\x05 torn")
    wait_for(lambda: load(path), "the trainer to write the torn file again")
    path.unlink()
    wait_for(lambda: load(path), "the trainer to write the missing file again")
    top = call(running, token, "POST", "/suggest",
               {"ticket": {"id": "t-3", "body": "a strong smell of smoke on the scarf"}})["replies"][0]
    assert top["key"] == "reply/return-window"  # still served, from the models loaded again
    assert "Traceback" not in running.tail(200)
    running.check_alive()
