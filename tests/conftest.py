"""Fixtures: a real SQLite file and a real Whoosh index under tmp_path for every app."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from server import create_app
from server.auth import create_user
from server.cli import DEMO_DIR
from server.db import open_store
from server.process import flask_cli

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "datasets"
ABCD_POLICIES = SHARED / "abcd" / "policies.jsonl"


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
def app(request, tmp_path):
    """An app over an empty store in a fresh home directory (the demo store when ``demo`` is asked for)."""
    home = tmp_path / "home"
    if "demo" in request.fixturenames:
        copy_demo_home(request.getfixturevalue("demo_template"), home)
    return create_app({"TESTING": True, "HOME": str(home)})


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
    s.conn.close()


def _token(app, name: str, role: str) -> dict:
    s = open_store(app.config["DATABASE"])
    try:
        return {"Authorization": f"Bearer {create_user(s, name, role)}"}
    finally:
        s.conn.close()


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
        store.conn.close()
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
