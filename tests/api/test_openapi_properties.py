"""Property-based: schemathesis over the served OpenAPI document, as a manager and as an agent.

Every generated request (valid and invalid) goes to a real server process (waitress, demo
store) and must get no 5xx and an answer the document describes: status code, content type,
headers, body schema; schema-valid requests must not be refused, invalid ones must be.
Bounded (examples and fuzzing phases, 5 examples per operation and role) to fit the shared
test budget. Counts per role land in tests/api/artifacts/schemathesis-<role>.json.
Every documented operation runs. Two rules the document can only state in words are handled
here, each tested on its own elsewhere: a date range's ``from`` comes before its ``to`` and
spans at most MAX_DAYS (generated dates are put in order; test_insights has the 422), and an
alert's customer must normalise to someone (``server.identity``: such a body must get its 422).
"""
from __future__ import annotations

import json
import re
import tempfile
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from server import create_app
from server.analytics.schemas import MAX_DAYS
from server.auth import create_user
from server.db import open_store
from server.identity import customer_key
from server.process import ServerProcess
from tests.conftest import copy_demo_home

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CONFIG = schemathesis.Config.from_dict({
    "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    "generation": {"max-examples": 5, "mode": "all"},
    # An invalid request may also be refused for its size (413, MAX_CONTENT_LENGTH) or state (409).
    "checks": {"negative_data_rejection": {"expected-statuses": [400, 401, 403, 404, 405, 409, 413, 422]}},
})
COUNTS: dict[str, Counter] = {}
BY_OPERATION: dict[str, dict[str, Counter]] = {}


def _document() -> dict:
    """The served document, read at collection from an app over an empty throwaway home.

    (schemathesis' fixture-based loader doesn't run under pytest 9, so the document is loaded
    here; the generated requests go to the module's server process below.)
    """
    with tempfile.TemporaryDirectory() as home:
        return create_app({"TESTING": True, "HOME": home}).test_client().get("/api/v1/openapi.json").json


schema = schemathesis.openapi.from_dict(_document(), config=CONFIG)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@pytest.fixture(scope="module")
def api_server(tmp_path_factory, demo_template):
    """A real server over a copy of the demo home, with a manager's and an agent's token and the shop's public key."""
    home = copy_demo_home(demo_template, tmp_path_factory.mktemp("props") / "home")
    store = open_store(str(home / "replyassist.sqlite3"))
    tokens = {role: create_user(store, f"prop-{role}", role) for role in ("manager", "agent")}
    store.close()
    # Self-service's rate limit (tested in test_public) would turn most of its cases into 429s.
    server = ServerProcess(home, threads=4, env={"REPLYASSIST_PUBLIC_RATE_LIMIT": "100000/60"}).start()
    server.tokens = tokens
    server.public_key = (home / "demo-public.key").read_text().strip()
    yield server
    server.stop()
    ARTIFACTS.mkdir(exist_ok=True)
    for role, counts in COUNTS.items():
        operations = {label: dict(c) for label, c in sorted(BY_OPERATION[role].items())}
        (ARTIFACTS / f"schemathesis-{role}.json").write_text(
            json.dumps({**counts, "operations": operations}, indent=1, sort_keys=True))


def keep_range_rule(query: dict | None) -> None:
    """Put a generated ``from``/``to`` in order and within MAX_DAYS (a rule JSON Schema can't state)."""
    if query and "from" in query and "to" not in query:
        query["to"] = date.today().isoformat()  # the default `to`, stated so the pair can be ordered
    if not query or not all(isinstance(query.get(k), str) and ISO_DATE.fullmatch(query[k]) for k in ("from", "to")):
        return
    try:
        start, end = sorted((date.fromisoformat(query["from"]), date.fromisoformat(query["to"])))
    except ValueError:  # not a calendar date: an invalid case, left as it is
        return
    query["from"], query["to"] = max(start, end - timedelta(days=MAX_DAYS - 1)).isoformat(), end.isoformat()


def names_nobody(case) -> bool:
    """An alert whose customer's e-mail and id normalise to nothing: its 422 is the rule, not a refusal."""
    if case.operation.label != "POST /api/v1/contacts/alerts" or not isinstance(case.body, dict):
        return False
    ticket = case.body.get("ticket")
    customer = ticket.get("customer") if isinstance(ticket, dict) else None
    return isinstance(customer, dict) and customer_key(customer) is None


def check(case, role: str, server) -> None:
    """Send one generated case with the role's token and validate the answer against the document."""
    counts = COUNTS.setdefault(role, Counter())
    counts["cases"] += 1
    keep_range_rule(case.query)
    nobody = names_nobody(case)
    try:
        response = case.call_and_validate(base_url=server.url, headers={
            "Authorization": f"Bearer {server.tokens[role]}", "X-Replyassist-Key": server.public_key},
            excluded_checks=[positive_data_acceptance] if nobody else None)
        if nobody:  # the one schema-valid body the server must refuse: check that it does
            assert response.status_code == 422, response.text
    except Exception:
        counts["failures"] += 1
        raise
    counts[f"status_{response.status_code}"] += 1
    BY_OPERATION.setdefault(role, {}).setdefault(case.operation.label, Counter())[str(response.status_code)] += 1
    counts["5xx"] += response.status_code >= 500


@schema.parametrize()
@settings(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_as_a_manager_every_answer_is_documented_and_none_is_a_server_error(case, api_server):
    check(case, "manager", api_server)


@schema.parametrize()
@settings(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_as_an_agent_every_answer_is_documented_and_none_is_a_server_error(case, api_server):
    check(case, "agent", api_server)
