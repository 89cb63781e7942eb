"""Property-based: schemathesis over the served OpenAPI document, as a manager and as an agent.

Every generated request (valid and invalid) must get no 5xx and an answer the document
describes: status code, content type, headers and body schema. Bounded (examples and fuzzing
phases, a few examples per operation) so it fits the shared test budget; the counts are
written to tests/api/artifacts/schemathesis-<role>.json for the closing note.
"""
from __future__ import annotations

import json
import logging
import tempfile
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from server import create_app
from server.auth import create_user
from server.db import open_store

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CONFIG = schemathesis.Config.from_dict({
    "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    "generation": {"max-examples": 12, "mode": "all"},
})
COUNTS: dict[str, Counter] = {}


@pytest.fixture(scope="module")
def api_app(tmp_path_factory):
    """The real app over a demo store (real SQLite file, real index) and a token per role."""
    app = create_app({"TESTING": True, "HOME": str(tmp_path_factory.mktemp("props") / "home")})
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    store = open_store(app.config["DATABASE"])
    app.config["PROPERTY_TOKENS"] = {role: create_user(store, f"prop-{role}", role) for role in ("manager", "agent")}
    store.conn.close()
    yield app
    ARTIFACTS.mkdir(exist_ok=True)
    for role, counts in COUNTS.items():
        (ARTIFACTS / f"schemathesis-{role}.json").write_text(json.dumps(dict(counts), indent=1, sort_keys=True))


def _document() -> dict:
    """The served document, read once at collection from an app over an empty throwaway home.

    (schemathesis' fixture-based loader doesn't run under pytest 9; the cases are sent to the
    module's demo app below, so only the document comes from here.)
    """
    with tempfile.TemporaryDirectory() as home:
        app = create_app({"TESTING": True, "HOME": home})
        document = app.test_client().get("/api/v1/openapi.json").json
        logging.getLogger().handlers.clear()
    return document


schema = schemathesis.openapi.from_dict(_document(), config=CONFIG)
schema.config.update(base_url="http://localhost")  # the cases go to the WSGI app, not the network


def check(case, role: str, app) -> None:
    """Send one generated case with the role's token and validate the answer against the document."""
    counts = COUNTS.setdefault(role, Counter())
    token = app.config["PROPERTY_TOKENS"][role]
    counts["cases"] += 1
    # Every send (the checks' re-sends too) goes to this app over WSGI.
    case.operation.app = case.operation.schema.app = app
    try:
        response = case.call_and_validate(headers={"Authorization": f"Bearer {token}"})
    except Exception:
        counts["failures"] += 1
        raise
    counts[f"status_{response.status_code}"] += 1
    counts["5xx"] += response.status_code >= 500


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_as_a_manager_every_answer_is_documented_and_none_is_a_server_error(case, api_app):
    check(case, "manager", api_app)


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_as_an_agent_every_answer_is_documented_and_none_is_a_server_error(case, api_app):
    check(case, "agent", api_app)
