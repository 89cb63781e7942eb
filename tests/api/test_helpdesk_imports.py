"""Imports of Zendesk macros, Freshdesk canned responses and Gorgias macros (fixtures we wrote)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.db import open_store
from server.render import render

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "helpdesk"


def snippets(app) -> dict[str, dict]:
    store = open_store(app.config["DATABASE"])
    try:
        return {s["key"]: s for s in store.iter_snippets()}
    finally:
        store.close()


def body(snippet: dict) -> str:
    return snippet["texts"][snippet["default_language"]]["body"]


def test_zendesk_macros_from_the_command_line(app, runner):
    result = runner.invoke(args=["import", "zendesk-macros", str(FIXTURES / "zendesk_macros.json")])
    assert result.exit_code == 0, result.output
    assert "3 created, 0 updated, 0 unchanged, 1 skipped" in result.output
    assert "no equivalent for ticket.organization.name" in result.output
    stored = snippets(app)
    label = stored["reply/zendesk/send-prepaid-label"]
    text = body(label)
    # HTML became clean text: no script, no handler, no tags; the link kept its address.
    assert "alert" not in text and "<" not in text and "steal" not in text
    assert "damaged & not as you expected" in text and "- Pack the item in its original bag\n- Drop it" in text
    assert "our returns page (https://help.northwind.example/returns)" in text
    assert "{{ customer.first_name }}" in text and "{{ customer.email }}" in text and "{{ agent.first_name }}" in text
    assert label["tags"] == ["returns", "damaged-item", "damaged", "return-label", "from-zendesk"]
    assert label["texts"]["en"]["title"] == "Send prepaid label" and label["status"] == "published"
    # The placeholder with no equivalent stays visible: a fill-in field the agent sees unfilled.
    order = stored["reply/zendesk/where-is-my-order"]
    assert "{{ fields.ticket_organization_name }}" in body(order)
    assert order["fields"]["ticket_organization_name"]["label"] == "ticket.organization.name (zendesk)"
    rendered = render(body(order), {"customer": {"first_name": "Maria"}})
    assert "[[fields.ticket_organization_name]]" in rendered.text and "Hello Maria" in rendered.text
    retired = stored["reply/zendesk/holiday-hours-2025-retired"]
    assert retired["status"] == "draft" and "[[if ticket.priority == 'urgent']]" in body(retired)
    assert not any("tier-2" in k for k in stored)  # a macro that only sets fields has no reply text


def test_reimport_updates_by_source_id(app, runner, tmp_path):
    path = FIXTURES / "zendesk_macros.json"
    assert runner.invoke(args=["import", "zendesk-macros", str(path)]).exit_code == 0
    again = runner.invoke(args=["import", "zendesk-macros", str(path)])
    assert "0 created, 0 updated, 3 unchanged" in again.output
    data = json.loads(path.read_text())
    data["macros"][1]["title"] = "Shipping::Where is my parcel"  # renamed in Zendesk: same id
    data["macros"][1]["actions"][0]["value"] = "Hi {{ticket.requester.first_name}}, it ships today."
    changed = tmp_path / "macros.json"
    changed.write_text(json.dumps(data))
    result = runner.invoke(args=["import", "zendesk-macros", str(changed)])
    assert "0 created, 1 updated, 2 unchanged" in result.output, result.output
    snippet = snippets(app)["reply/zendesk/where-is-my-order"]  # same key, new text
    assert snippet["texts"]["en"]["title"] == "Where is my parcel" and snippet["version"] == 2
    assert body(snippet) == "Hi {{ customer.first_name }}, it ships today."


def test_freshdesk_canned_responses(app, runner):
    result = runner.invoke(args=["import", "freshdesk-canned", str(FIXTURES / "freshdesk_canned.json")])
    assert result.exit_code == 0 and "3 created" in result.output, result.output
    stored = snippets(app)
    refund = stored["reply/freshdesk/refund-issued"]
    assert body(refund) == ("Hi {{ customer.name }},\n\nyour refund has been issued. It can take 5-10 business "
                            "days to show on your statement.\n\nTicket #{{ ticket.id }}.\n\n{{ agent.name }}\n"
                            "{{ fields.ticket_portal_name }} support")
    assert refund["tags"] == ["refunds", "from-freshdesk"]
    assert stored["reply/freshdesk/store-credit-instead"]["tags"] == ["refunds", "from-freshdesk"]
    size = body(stored["reply/freshdesk/size-chart"])
    assert "onerror" not in size and "img" not in size and "{{ customer.first_name }}" in size


def test_gorgias_macros_keep_their_language(app, runner):
    result = runner.invoke(args=["import", "gorgias-macros", str(FIXTURES / "gorgias_macros.json")])
    assert result.exit_code == 0, result.output
    stored = snippets(app)
    shipped = stored["reply/gorgias/order-status-shipped"]
    assert "order {{ order.id }} has shipped. Tracking number: {{ order.tracking_number }}." in body(shipped)
    assert shipped["tags"] == ["shipping", "wismo", "from-gorgias"]
    italian = stored["reply/gorgias/rimborso-avviato"]
    assert italian["default_language"] == "it" and italian["tags"] == ["reso", "from-gorgias"]
    assert "{{ fields.ticket_customer_meta_loyalty_points }}" in body(italian)
    assert stored["reply/gorgias/black-friday-2024"]["status"] == "draft"  # archived in Gorgias


def test_console_dry_run_reports_and_writes_nothing(app, client, manager):
    data = json.loads((FIXTURES / "gorgias_macros.json").read_text())
    r = client.post("/api/v1/imports/gorgias", query_string={"dry_run": "true"}, json=data, headers=manager)
    assert r.status_code == 200, r.json
    assert (r.json["dry_run"], r.json["created"], r.json["skipped"]) == (True, 3, 0)
    assert r.json["unknown_placeholders"] == {"ticket.customer.meta.loyalty_points": 1}
    assert snippets(app) == {}
    r = client.post("/api/v1/imports/gorgias", json=data, headers=manager)
    assert r.json["created"] == 3 and len(snippets(app)) == 3


@pytest.mark.parametrize("source, payload, status", [
    ("zendesk", {"macros": "nope"}, 422),
    ("zendesk", {"macros": [{"title": "no id"}]}, 422),
    ("helpscout", {"macros": []}, 404),
])
def test_bad_exports_are_refused_clearly(app, client, manager, source, payload, status):
    r = client.post(f"/api/v1/imports/{source}", json=payload, headers=manager)
    assert r.status_code == status and r.mimetype == "application/problem+json"


def test_cli_refuses_a_file_that_is_not_json(app, runner, tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text("{not json")
    result = runner.invoke(args=["import", "freshdesk-canned", str(bad)])
    assert result.exit_code != 0 and "not valid JSON" in result.output
