"""Console pages of issue 11 over the test client: analytics, content gaps, helpdesk import, feedback."""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from server.auth import create_user
from server.db import open_store
from tests.console.test_console_pages import demo, home, manager_client, token_of  # noqa: F401

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "helpdesk"
GIFT = "Do you sell gift cards for a birthday present? Can the gift card be sent by post?"


@pytest.fixture
def events(demo):  # noqa: F811
    """Three gift-card tickets shown suggestions, nothing inserted; one cancel ticket inserted."""
    store = open_store(demo.config["DATABASE"])
    headers = {"Authorization": f"Bearer {create_user(store, 'ana', 'agent')}"}
    store.close()
    client = demo.test_client()
    for n in range(3):
        r = client.post("/api/v1/suggest", json={"ticket": {"id": f"G-{n}", "body": GIFT, "language": "en"}},
                        headers=headers)
        assert r.status_code == 200
    cancel = {"id": "T-1", "body": "Can I still cancel my order? It has not shipped.", "language": "en",
              "customer": {"email": "m@example.com"}, "order": {"id": "A-1", "status": "processing"}}
    client.post("/api/v1/suggest", json={"ticket": cancel}, headers=headers)
    r = client.post("/api/v1/insertions", json={"key": "reply/cancel-unshipped", "ticket": cancel}, headers=headers)
    assert r.status_code == 201
    r = client.post("/api/v1/feedback", json={"ticket_id": "G-0", "key": "reply/cancel-unshipped",
                                              "reason": "wrong_topic", "comment": "not about cancelling"},
                    headers=headers)
    assert r.status_code == 201


def test_analytics_page_draws_charts_with_their_tables(manager_client, events):  # noqa: F811
    page = manager_client.get("/console/analytics")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count("<svg class=\"chart\"") == 4 and "<script" not in html.split("</header>")[1]
    assert 'id="table-snippets"' in html and "reply/cancel-unshipped" in html
    r = manager_client.get("/console/analytics/daily.csv")
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert sum(int(row["insertions"]) for row in rows) == 1 and len(rows) == 30
    codes = manager_client.get("/console/exports/codes.csv").get_data(as_text=True)
    assert "m@example.com" in codes
    bad = manager_client.get("/console/analytics?from=2026-13-01")
    assert bad.status_code == 200 and "not valid" in bad.get_data(as_text=True)


def test_gap_topic_writes_an_answer_and_dismisses(manager_client, events):  # noqa: F811
    page = manager_client.get("/console/content-gaps")
    html = page.get_data(as_text=True)
    assert re.search(r'data-size="3"', html) and "gift" in html
    link = re.search(r'class="button primary write-answer" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    editor = manager_client.get(link).get_data(as_text=True)
    title = re.search(r'name="title_en" value="([^"]*)"', editor).group(1)
    assert "gift" in title.lower() and "content-gap" in editor and "{{ customer.first_name }}" in editor
    ids = re.search(r'name="ticket_ids" value="([^"]*)"', html).group(1)
    r = manager_client.post("/console/content-gaps/dismiss", data={
        "csrf_token": token_of(page), "ticket_ids": ids.replace("&#10;", "\n"), "terms": "gift,card"})
    assert r.status_code == 302
    assert 'data-size="3"' not in manager_client.get("/console/content-gaps").get_data(as_text=True)


def test_feedback_shows_on_the_snippet(manager_client, events):  # noqa: F811
    html = manager_client.get("/console/snippets/edit/reply/cancel-unshipped").get_data(as_text=True)
    assert 'id="snippet-feedback"' in html and "wrong topic" in html and "not about cancelling" in html


def test_helpdesk_import_dry_run_then_import(manager_client, demo):  # noqa: F811
    page = manager_client.get("/console/imports")
    data = {"csrf_token": token_of(page), "source": "zendesk", "language": "en",
            "export": (io.BytesIO((FIXTURES / "zendesk_macros.json").read_bytes()), "macros.json")}
    r = manager_client.post("/console/imports", data=data, content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "Importing would create <strong>3</strong>" in html
    assert "ticket.organization.name" in html
    store = open_store(demo.config["DATABASE"])
    assert store.get_snippet("reply/zendesk/send-prepaid-label") is None  # a dry run writes nothing
    upload = re.search(r'name="upload" value="([^"]+)"', html).group(1)
    r = manager_client.post("/console/imports", data={"csrf_token": token_of(page), "source": "zendesk",
                                                      "language": "en", "upload": upload, "confirm": "1"})
    assert r.status_code == 302
    assert store.get_snippet("reply/zendesk/send-prepaid-label")["status"] == "published"
    store.close()
