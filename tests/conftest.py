"""Fixtures: a real store (a SQLite file, or a PostgreSQL database) and a real Whoosh index under
tmp_path for every app."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from server import create_app
from server.auth import create_user
from server.cli import DEMO_DIR
from server.db import is_url, open_store
from server.process import flask_cli
from tests.pg import INSTALL_HINT, PostgresServer, pg_bin

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "datasets"
ABCD_POLICIES = SHARED / "abcd" / "policies.jsonl"


# Runs a module's (or a test's) tests on both stores: `pytestmark = BOTH_STORES`.
BOTH_STORES = pytest.mark.parametrize("database", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture(scope="session")
def postgres():
    """One real PostgreSQL server for the whole session (tests/pg.py); never skipped when missing."""
    if pg_bin() is None:
        pytest.fail(INSTALL_HINT)
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture
def database(request, tmp_path) -> str:
    """The store a test runs on: the SQLite file in its home, or (BOTH_STORES) a fresh PostgreSQL database."""
    if getattr(request, "param", "sqlite") == "sqlite":
        return str(tmp_path / "home" / "replyassist.sqlite3")
    return request.getfixturevalue("postgres").new_database()


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """A demo home built once per session by the real ``flask demo`` command; tests get copies.

    Loading the demo store (a few hundred snippets in five languages, indexed) costs seconds;
    copying the finished SQLite file and Whoosh index costs milliseconds.
    """
    home = tmp_path_factory.mktemp("demo-template") / "home"
    home.mkdir()
    flask_cli(home, "demo")
    return home


def copy_demo_home(template: Path, home: Path) -> Path:
    """A private copy of the demo home (store, index, demo tokens) at ``home``."""
    shutil.copytree(template, home)
    return home


def demo_token(home: Path) -> str:
    """The demo agent's token, as ``flask demo`` left it in the home."""
    return (home / "demo-agent.token").read_text().strip()


@pytest.fixture
def app(request, tmp_path, database):
    """An app over an empty store in a fresh home directory (the demo store when ``demo`` is asked for;
    on PostgreSQL ``demo`` loads it the slow way, the template being a SQLite file)."""
    home = tmp_path / "home"
    if "demo" in request.fixturenames and not is_url(database):
        copy_demo_home(request.getfixturevalue("demo_template"), home)
    app = create_app({"TESTING": True, "HOME": str(home), "DATABASE": database})
    yield app
    app.extensions["replyassist.connections"].close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def store(app):
    s = open_store(app.config["DATABASE"])
    yield s
    s.close()


def _token(app, name: str, role: str) -> dict:
    s = open_store(app.config["DATABASE"])
    try:
        return {"Authorization": f"Bearer {create_user(s, name, role)}"}
    finally:
        s.close()


@pytest.fixture
def agent(app):
    """Headers of an agent."""
    return _token(app, "ana", "agent")


@pytest.fixture
def manager(app):
    """Headers of a manager."""
    return _token(app, "marco", "manager")


@pytest.fixture
def demo(app, runner):
    """The app with the demo store (policy cards, replies, offers) loaded."""
    store = open_store(app.config["DATABASE"])
    try:
        loaded = store.count_snippets() > 0  # copied from the template by ``app``
    finally:
        store.close()
    if not loaded:  # a module's own ``app`` fixture: load it the slow way
        result = runner.invoke(args=["demo"])
        assert result.exit_code == 0, result.output
    return app


def load_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def demo_lines() -> list[dict]:
    """Every line of the demo packs the ``demo`` command loads (policy cards, then replies)."""
    return load_jsonl(DEMO_DIR / "policies.jsonl") + load_jsonl(DEMO_DIR / "replies.jsonl")


# Counts derived from the demo packs, so adding a reply does not break every count in the suite.
DEMO_SNIPPETS = len(demo_lines())
DEMO_DOCUMENTS = sum(1 + len(line.get("translations") or {}) for line in demo_lines())  # one per language


def demo_reply(key: str) -> dict:
    return next(r for r in load_jsonl(DEMO_DIR / "replies.jsonl") if r["key"] == key)


def pytest_collection_modifyitems(items):
    """Name schemathesis' items by operation (pytest 9 gives them all the test's node id)."""
    for item in items:
        label = getattr(item, "operation_label", None)
        if label and not item.nodeid.endswith("]") and hasattr(item, "_id"):
            item._id = item.parent.id.child(item.name)  # so -k, --durations and failures name it
