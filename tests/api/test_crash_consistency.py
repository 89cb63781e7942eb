"""Crash consistency: kill -9 real imports, rebuilds and servers at named points, then restart.

After every crash the store and the index must agree (every published snippet indexed with its
latest change, nothing else, the newest write applied) and nothing acknowledged is lost: an
import that exited 0 or a request that got a 2xx. The points are ``index.faults`` names, read
from REPLYASSIST_CRASH_AT / REPLYASSIST_PAUSE_AT (test-only). The store commits before the
index, so "between the commits" is ``store-committed``; the old order (index first) is covered
by tests/api/test_index_sync.py, which plants the phantom such a crash left.
"""
from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from index.indexer import index_revisions, indexed_state, open_index
from server import create_app
from server.db import open_store
from server.process import BIN, ROOT, ServerProcess, _env, flask_cli
from tests.api.test_server_process import call

pytestmark = pytest.mark.slow

# Short-lived processes skip the language models' warm-up: ~2 s of CPU each, most of this file's time.
QUICK = {"REPLYASSIST_WARM_UP": "0"}
COUNTS = {"crashes": 0, "restarts": 0, "acknowledged_writes_checked": 0, "snippets_compared": 0}


def line(key: str, title: str, body: str) -> dict:
    return {"key": key, "kind": "policy", "language": "en", "title": title, "body": body}


PACK_A = [line(f"policy/crash/a{i}", f"Alpha{i} rule", f"The alpha{i} procedure for orders.") for i in range(40)]
# Changes half of A and adds twenty: a crash must leave all of it or none of it.
PACK_B = ([line(f"policy/crash/a{i}", f"Bravo{i} rule", f"The bravo{i} procedure for orders.") for i in range(20)]
          + [line(f"policy/crash/c{i}", f"Charlie{i} rule", f"The charlie{i} procedure.") for i in range(20)])


def write_pack(path: Path, lines: list[dict]) -> Path:
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def run_cli(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "flask"), "--app", "server", *args], cwd=ROOT, env=_env(home, {**QUICK, **(env or {})}),
                          capture_output=True, text=True, timeout=300)


def crash_cli(home: Path, point: str, *args: str) -> None:
    result = run_cli(home, *args, env={"REPLYASSIST_CRASH_AT": point})
    assert result.returncode == -9, (point, result.returncode, result.stderr[-2000:])
    COUNTS["crashes"] += 1


def assert_agree(home: Path) -> dict:
    """Restart (the start-up path of a server) and compare the store with the index, key by key."""
    create_app({"TESTING": True, "HOME": str(home)})
    COUNTS["restarts"] += 1
    store = open_store(str(home / "replyassist.sqlite3"))
    try:
        ix = open_index(home / "index")
        with ix.reader() as reader:
            revisions = index_revisions(reader)
        tokens = store.published_tokens()
        assert revisions == {k: {t} for k, t in tokens.items()}
        state = indexed_state(ix)
        assert (state.seq, state.token) == store.index_head()
        COUNTS["snippets_compared"] += len(tokens)
        return {s["key"]: s for s in store.iter_snippets()}
    finally:
        store.close()


@pytest.fixture(scope="module")
def base_home(tmp_path_factory) -> Path:
    """A home with pack A imported (an acknowledged import: exit code 0) and two users' tokens."""
    home = tmp_path_factory.mktemp("base")
    flask_cli(home, "pack", "import", str(write_pack(home / "a.jsonl", PACK_A)), env=QUICK)
    write_pack(home / "b.jsonl", PACK_B)
    for name, role in (("mia", "manager"), ("ana", "agent")):
        token = flask_cli(home, "users", "create", name, "--role", role, env=QUICK).strip().splitlines()[-1]
        (home / f"{role}.token").write_text(token)
    return home


def tokens(home: Path) -> tuple[str, str]:
    """The manager's and the agent's token."""
    return (home / "manager.token").read_text(), (home / "agent.token").read_text()


def copy_home(base: Path, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    shutil.copytree(base, home)
    return home


@pytest.mark.parametrize("point, committed", [
    ("store-logged", False),  # inside the store transaction: rolled back, the index untouched
    ("store-committed", True),  # between the store commit and the index commit
    ("index-before-commit", True),  # the index writer holds every document, not committed
    ("index-committed", True),  # both committed
])
def test_an_import_killed_at_any_point_leaves_store_and_index_in_agreement(base_home, tmp_path, point, committed):
    home = copy_home(base_home, tmp_path)
    crash_cli(home, point, "pack", "import", str(home / "b.jsonl"))
    snippets = assert_agree(home)
    titles = {k: s["texts"]["en"]["title"] for k, s in snippets.items()}
    assert len(titles) == (60 if committed else 40)
    assert titles["policy/crash/a0"] == ("Bravo0 rule" if committed else "Alpha0 rule")
    assert titles["policy/crash/a39"] == "Alpha39 rule"  # acknowledged by the first import
    COUNTS["acknowledged_writes_checked"] += 40


@pytest.mark.parametrize("point", [
    "rebuild-built",  # the new index is built aside, not yet caught up
    "swap-files-moved",  # its files are in the live directory, the live table of contents is not
    "rebuild-swapped",  # swapped in, its report not yet stored
])
def test_a_rebuild_killed_at_any_point_leaves_a_working_index_in_agreement(base_home, tmp_path, point):
    home = copy_home(base_home, tmp_path)
    crash_cli(home, point, "index", "rebuild")
    assert len(assert_agree(home)) == 40
    assert not list(home.glob(".index.rebuild-*"))  # the dead rebuild's staging went at start


def search(base: str, token: str, q: str) -> list[str]:
    r = call(base, "GET", "/search", token=token, query=f"?q={urllib.request.quote(q)}")
    assert r.status == 200, r.json
    return [h["key"] for h in r.json["hits"]]


def create(base: str, token: str, i: int):
    try:
        return call(base, "POST", "/snippets", token=token, body=line(
            f"policy/crash/s{i}", f"Sierra{i} rule", f"The sierra{i} procedure."))
    except OSError:  # the server died under this request: no answer, so no promise
        return None


def wait_until(check, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_killed_servers_lose_nothing_they_acknowledged(base_home, tmp_path):
    home = copy_home(base_home, tmp_path)
    manager, agent = tokens(home)
    acknowledged: list[str] = []

    # 1. The third write dies between the store commit and the index commit.
    server = ServerProcess(home, env={**QUICK, "REPLYASSIST_CRASH_AT": "store-committed:3"}).start()
    for i in range(3):
        r = create(f"{server.url}/api/v1", manager, i)
        if r is not None and r.status == 201:
            acknowledged.append(f"policy/crash/s{i}")
    server.process.wait(timeout=30)
    assert server.process.returncode == -9 and len(acknowledged) == 2
    server.stop()
    COUNTS["crashes"] += 1

    # 2. Restarted: start-up catches up; then the background indexer dies before committing
    #    the learned text of an insertion that was already answered 201.
    #    (The server's own indexer thread: with the trainer process, server/trainer.py, the
    #    background commits run there, through the same sync; the fault would kill that one.)
    server = ServerProcess(home, env={**QUICK, "REPLYASSIST_CRASH_AT": "index-before-commit:2",
                                      "REPLYASSIST_TRAINER_PROCESS": "0"}).start()
    COUNTS["restarts"] += 1
    ticket = {"id": "T-77", "body": "Which sierra1 procedure applies to my zeppelin order?"}
    r = call(f"{server.url}/api/v1", "POST", "/insertions", token=agent,
             body={"key": "policy/crash/s1", "ticket": ticket})
    assert r.status == 201, r.json
    server.process.wait(timeout=30)
    assert server.process.returncode == -9
    server.stop()
    COUNTS["crashes"] += 1

    # 3. Restarted cleanly: everything acknowledged is there, in the store and in the index.
    with ServerProcess(home, env=QUICK) as server:
        COUNTS["restarts"] += 1
        base = f"{server.url}/api/v1"
        for key in acknowledged:
            assert call(base, "GET", f"/snippets/{key}", token=manager).status == 200
            assert search(base, agent, key.rpartition("/")[2].replace("s", "sierra", 1)) == [key]
        r = call(base, "POST", "/suggest", token=agent, body={"ticket": {**ticket, "id": "T-78"}})
        best = r.json["policies"][0]
        assert best["key"] == "policy/crash/s1"
        # The learned text of the acknowledged insertion: in the store, and (health below) the
        # index agrees with the store key by key. (`learned_from` is the learner's word now, and
        # the learner trains in the background after a start.)
        learned = call(base, "GET", "/snippets/policy/crash/s1/learned", token=manager).json
        assert [e["ticket_id"] for e in learned["examples"]] == ["T-77"], learned
        COUNTS["acknowledged_writes_checked"] += len(acknowledged) + 1
        health = call(base, "GET", "/health").json["index"]
        assert health["state"] == "in_step" and call(base, "GET", "/health/ready").status == 200

        # 4. An import killed beside the running server: it never serves a phantom, and it
        #    catches up with what the store committed without a restart.
        crash_cli(home, "store-logged", "pack", "import", str(home / "b.jsonl"))
        assert search(base, agent, "charlie3") == []
        crash_cli(home, "index-before-commit", "pack", "import", str(home / "b.jsonl"))
        wait_until(lambda: search(base, agent, "charlie3") == ["policy/crash/c3"])
        for key in search(base, agent, "rule procedure"):
            assert call(base, "GET", f"/snippets/{key}", token=manager).status == 200
        wait_until(lambda: call(base, "GET", "/health").json["index"]["state"] == "in_step")
    snippets = assert_agree(home)
    assert len(snippets) == 40 + 3 + 20
    print(f"\ncrash-consistency counts: {json.dumps(COUNTS)}")


def test_agents_keep_working_while_a_rebuild_runs(base_home, tmp_path):
    home = copy_home(base_home, tmp_path)
    manager, agent = tokens(home)
    with ServerProcess(home, env=QUICK) as server:
        base = f"{server.url}/api/v1"
        rebuild = subprocess.Popen(
            [str(BIN / "flask"), "--app", "server", "index", "rebuild"], cwd=ROOT, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
            env=_env(home, {**QUICK, "REPLYASSIST_PAUSE_AT": "rebuild-built", "REPLYASSIST_PAUSE_DIR": str(home)}))
        flag = home / "rebuild-built.paused"
        try:
            wait_until(flag.exists, timeout=120)
            # The rebuild has read its snapshot and built the new index: the store is not locked.
            conn = sqlite3.connect(home / "replyassist.sqlite3", timeout=0)
            conn.execute("BEGIN IMMEDIATE")
            conn.rollback()
            conn.close()
            r = call(base, "PATCH", "/snippets/policy/crash/a5", token=manager, body={"title": "Delta5 rule"})
            assert r.status == 200, r.json
            r = call(base, "POST", "/insertions", token=agent,
                     body={"key": "policy/crash/a6", "ticket": {"id": "T-5", "body": "alpha6 question"}})
            assert r.status == 201, r.json
            r = call(base, "POST", "/suggest", token=agent, body={"ticket": {"id": "T-6", "body": "alpha7 orders"}})
            assert r.status == 200 and r.json["policies"][0]["key"] == "policy/crash/a7"  # the old index answers
            assert search(base, agent, "delta5") == ["policy/crash/a5"]
        finally:
            flag.unlink(missing_ok=True)
        out, err = rebuild.communicate(timeout=120)
        assert rebuild.returncode == 0, err[-2000:]
        assert out.strip().endswith("indexed 40 documents")
        assert "40/40" in err  # progress
        # What changed during the build was applied before the swap.
        assert search(base, agent, "delta5") == ["policy/crash/a5"]
        last = call(base, "GET", "/health").json["index"]["last_rebuild"]
        assert last["caught_up_snippets"] == 2  # the edit and the insertion's learned text
    assert_agree(home)
