"""Analytics, exports, feedback and content gaps: every number checked against the stored events."""
from __future__ import annotations

import csv
import io
import sqlite3
from datetime import date, timedelta

import pytest

from server import create_app
from server.feedback.ranking import factor
from tests.conftest import _token, copy_demo_home

SUGGEST, INSERT, FEEDBACK = "/api/v1/suggest", "/api/v1/insertions", "/api/v1/feedback"
TODAY = date.today().isoformat()


def ticket(tid, body, status="processing", email="maria@example.com", **extra):
    return {"id": tid, "subject": "", "body": body, "language": "en",
            "customer": {"first_name": "Maria", "email": email}, "order": {"id": "A-1", "status": status},
            "agent": {"first_name": "Ana"}, **extra}


CANCEL = "I ordered a coat yesterday, can I still cancel it? It has not shipped."
GAP = "Do you sell gift cards for a birthday present? Can the gift card be sent by post?"


@pytest.fixture
def app(demo_template, tmp_path):
    """Every test here works on a fresh copy of the demo home."""
    return create_app({"TESTING": True, "HOME": str(copy_demo_home(demo_template, tmp_path / "home"))})




SHOWN_SQL = ("SELECT DISTINCT e.ticket_id FROM suggestion_events e, json_each(e.shown) j "
             "WHERE json_extract(j.value, '$[1]') = ?")


def rows_sql(app, sql, *params):
    conn = sqlite3.connect(app.config["DATABASE"])
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


@pytest.fixture
def activity(demo, client, agent):
    """Known events: T-1 shown twice and inserted, T-2 shown and inserted by a second agent, three
    gift-card tickets shown and nothing inserted (one marked not helpful)."""
    bea = _token(demo, "bea", "agent")
    for _ in range(2):  # the sidebar re-asks after a navigation: still one ticket
        assert client.post(SUGGEST, json={"ticket": ticket("T-1", CANCEL)}, headers=agent).status_code == 200
    assert client.post(INSERT, json={"key": "reply/cancel-unshipped", "ticket": ticket("T-1", CANCEL)},
                       headers=agent).status_code == 201
    assert client.post(SUGGEST, json={"ticket": ticket("T-2", CANCEL, email="li@example.com")},
                       headers=bea).status_code == 200
    assert client.post(INSERT, json={"key": "reply/cancel-unshipped",
                                     "ticket": ticket("T-2", CANCEL, email="li@example.com")},
                       headers=bea).status_code == 201
    shown = []
    for n in range(3):
        r = client.post(SUGGEST, json={"ticket": ticket(f"G-{n}", GAP + f" Order {n}.")}, headers=agent)
        shown.append(r.json["replies"])
    first = shown[0][0]["key"]
    r = client.post(FEEDBACK, json={"ticket_id": "G-0", "key": first, "reason": "wrong_topic"}, headers=agent)
    assert r.status_code == 201, r.json
    return {"bea": bea, "gap_reply": first, "shown": shown}


def report(client, manager, name, **query):
    r = client.get(f"/api/v1/analytics/{name}", query_string=query, headers=manager)
    assert r.status_code == 200, r.json
    return r.json


def test_snippet_report_counts_match_the_stored_events(demo, client, manager, activity):
    data = report(client, manager, "snippets")
    row = next(r for r in data["rows"] if r["key"] == "reply/cancel-unshipped" and r["language"] == "en")
    events = rows_sql(demo, SHOWN_SQL, "reply/cancel-unshipped")
    assert row["shown"] == len(events) >= 2  # T-1 asked twice counts once
    assert row["inserted"] == 2 and row["insert_rate"] == round(2 / len(events), 3)
    [rank] = {r["rank"] for r in rows_sql(
        demo, "SELECT json_extract(j.value, '$[2]') AS rank FROM suggestion_events e, json_each(e.shown) j "
              "WHERE e.ticket_id = 'T-1' AND json_extract(j.value, '$[1]') = 'reply/cancel-unshipped'")}
    assert row[f"rank_{rank}"] == 2 and row["mean_rank"] == rank and row["searched"] == 0
    gap = next(r for r in data["rows"] if r["key"] == activity["gap_reply"])
    shown = rows_sql(demo, SHOWN_SQL, activity["gap_reply"])
    assert gap["not_helpful"] == 1 and gap["inserted"] == 0 and gap["shown"] == len(shown) >= 3


def test_daily_agents_offers_and_unused_reports(demo, client, manager, activity):
    daily = report(client, manager, "daily", **{"from": TODAY, "to": TODAY})["rows"]
    assert daily == [{"date": TODAY, "tickets_shown": 5, "insertions": 2, "codes_issued": 2, "not_helpful": 1}]
    agents = {r["agent"]: r for r in report(client, manager, "agents")["rows"]}
    assert agents["ana"]["tickets_shown"] == 4 and agents["ana"]["insertions"] == 1
    assert agents["ana"]["not_helpful"] == 1 and agents["ana"]["insert_rate"] == 0.25
    assert agents["bea"]["tickets_shown"] == 1 and agents["bea"]["codes_issued"] == 1
    offers = {r["key"]: r for r in report(client, manager, "offers")["rows"]}
    stored = rows_sql(demo, "SELECT count(*) AS n FROM offer_codes WHERE offer_key = 'free-shipping' "
                            "AND status = 'issued'")[0]["n"]
    assert offers["free-shipping"]["issued"] == stored == 2 and offers["free-shipping"]["busiest_agent_day"] == 1
    unused = {r["key"] for r in report(client, manager, "unused")["rows"]}
    published = {r["key"] for r in rows_sql(demo, "SELECT key FROM snippets WHERE status = 'published'")}
    assert unused == published - {"reply/cancel-unshipped"}


def test_language_filter_and_date_range(demo, client, manager, activity):
    assert report(client, manager, "snippets", language="it")["rows"] == []
    past = (date.today() - timedelta(days=40)).isoformat()
    old = report(client, manager, "daily", **{"from": past, "to": past})
    assert old["rows"] == [{"date": past, "tickets_shown": 0, "insertions": 0, "codes_issued": 0, "not_helpful": 0}]
    r = client.get("/api/v1/analytics/daily", query_string={"from": TODAY, "to": past}, headers=manager)
    assert r.status_code == 422 and "from" in r.json["errors"]
    assert client.get("/api/v1/analytics/nope", headers=manager).status_code == 404
    assert client.get("/api/v1/analytics/daily", headers=activity["bea"]).status_code == 403


def backdate(app, hours: int) -> None:
    """Move every recorded event back in time (timestamps have one-second resolution)."""
    conn = sqlite3.connect(app.config["DATABASE"])
    shift = f"-{hours} hours"
    with conn:
        for table, column in (("suggestion_events", "at"), ("insertions", "created_at"), ("feedback", "at")):
            conn.execute(f"UPDATE {table} SET {column} = strftime('%Y-%m-%dT%H:%M:%S+00:00', {column}, ?)", (shift,))
    conn.close()


def test_edit_report_compares_before_and_after(demo, client, manager, activity):
    backdate(demo, 1)
    r = client.patch("/api/v1/snippets/reply/cancel-unshipped", json={"tags": ["orders", "edited"]}, headers=manager)
    assert r.status_code == 200, r.json
    [edit] = report(client, manager, "edits")["rows"]
    assert edit["key"] == "reply/cancel-unshipped" and edit["version"] == 2
    shown = len(rows_sql(demo, SHOWN_SQL, "reply/cancel-unshipped"))
    assert (edit["shown_before"], edit["inserted_before"], edit["shown_after"], edit["inserted_after"]) == (
        shown, 2, 0, 0)
    client.post(SUGGEST, json={"ticket": ticket("T-9", CANCEL)}, headers=manager)
    after = report(client, manager, "edits")["rows"][0]
    assert (after["shown_after"], after["inserted_after"], after["rate_after"]) == (1, 0, 0.0)


def test_csv_downloads_hold_the_same_rows(demo, client, manager, activity):
    r = client.get("/api/v1/analytics/snippets", query_string={"format": "csv"}, headers=manager)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(table) == len(report(client, manager, "snippets")["rows"])
    row = next(t for t in table if t["key"] == "reply/cancel-unshipped")
    assert row["inserted"] == "2"
    ins = list(csv.DictReader(io.StringIO(client.get("/api/v1/exports/insertions.csv", headers=manager)
                                          .get_data(as_text=True).lstrip("\ufeff"))))
    assert {(i["ticket_id"], i["snippet_key"], i["agent"]) for i in ins} == {
        ("T-1", "reply/cancel-unshipped", "ana"), ("T-2", "reply/cancel-unshipped", "bea")}
    assert all(i["offer_code"].startswith("SHIPFREE-") for i in ins)
    codes = list(csv.DictReader(io.StringIO(client.get("/api/v1/exports/codes.csv", headers=manager)
                                            .get_data(as_text=True).lstrip("\ufeff"))))
    assert sorted(c["customer"] for c in codes) == ["li@example.com", "maria@example.com"]


def test_csv_cells_cannot_run_as_formulas(app):
    from server.analytics.csvout import to_csv
    assert to_csv(["a"], [{"a": "=HYPERLINK(\"x\")"}]).splitlines()[1] == "\"'=HYPERLINK(\"\"x\"\")\""


# -- feedback ----------------------------------------------------------------------------------

def test_not_helpful_is_stored_once_per_agent_and_shown_to_managers(demo, client, agent, manager, activity):
    key = activity["gap_reply"]
    again = client.post(FEEDBACK, json={"ticket_id": "G-0", "key": key, "reason": "missing_info"}, headers=agent)
    assert again.status_code == 200 and again.json["reason"] == "missing_info"  # changed, not counted twice
    stored = rows_sql(demo, "SELECT agent, reason, language FROM feedback WHERE snippet_key = ?", key)
    assert stored == [{"agent": "ana", "reason": "missing_info", "language": "en"}]
    summary = client.get(FEEDBACK, query_string={"key": key}, headers=manager).json
    assert summary["total"] == 1 and summary["reasons"] == {"missing_info": 1} and summary["ranking_factor"] == 1.0
    assert client.get(FEEDBACK, query_string={"key": key}, headers=agent).status_code == 403
    undo = client.delete(FEEDBACK, json={"ticket_id": "G-0", "key": key}, headers=agent)
    assert undo.status_code == 204 and rows_sql(demo, "SELECT * FROM feedback") == []
    assert client.delete(FEEDBACK, json={"ticket_id": "G-0", "key": key}, headers=agent).status_code == 404


def test_feedback_validation(demo, client, agent):
    r = client.post(FEEDBACK, json={"ticket_id": "G-0", "key": "reply/cancel-unshipped", "reason": "boring"},
                    headers=agent)
    assert r.status_code == 422 and "reason" in r.json["errors"]
    r = client.post(FEEDBACK, json={"ticket_id": "G-0", "key": "reply/nope"}, headers=agent)
    assert r.status_code == 404


def test_ranking_factor_is_bounded():
    assert factor(1, 0) == 1.0            # one agent, however often, changes nothing
    assert factor(2, 0) == pytest.approx(0.9)
    assert factor(50, 0) == pytest.approx(0.7)  # at most 30 % off
    assert factor(3, 2) == 1.0            # colleagues who use it cancel complaints out


def test_many_agents_move_a_reply_down_but_never_out(demo, client):
    body = {"ticket": ticket("R-0", CANCEL, status="processing"), "limit": 5}
    first = client.post(SUGGEST, json=body, headers=_token(demo, "x0", "agent")).json["replies"]
    top, keys = first[0]["key"], [r["key"] for r in first]
    for n in range(1, 6):
        client.post(FEEDBACK, json={"ticket_id": f"R-{n}", "key": top, "reason": "outdated"},
                    headers=_token(demo, f"x{n}", "agent"))
    after = [r["key"] for r in client.post(SUGGEST, json=body, headers=_token(demo, "y", "agent")).json["replies"]]
    assert sorted(after) == sorted(keys)  # still shown
    assert after.index(top) >= 0 and (after[0] != top or len(after) == 1 or first[1]["score"] < 0.7 * first[0]["score"])


# -- content gaps ------------------------------------------------------------------------------

def test_content_gaps_group_tickets_where_nothing_was_inserted(demo, client, agent, manager, activity):
    for reply in activity["shown"][1]:  # the agent marks every reply shown for G-1 not helpful
        client.post(FEEDBACK, json={"ticket_id": "G-1", "key": reply["key"]}, headers=agent)
    data = client.get("/api/v1/content-gaps", headers=manager).json
    stored = rows_sql(demo, "SELECT DISTINCT ticket_id FROM suggestion_events WHERE ticket_id NOT IN "
                            "(SELECT ticket_id FROM insertions)")
    assert data["tickets"] == len(stored) == 3
    [topic] = data["topics"]
    assert topic["size"] == 3 and sorted(topic["ticket_ids"]) == ["G-0", "G-1", "G-2"]
    assert topic["languages"] == {"en": 3} and "gift" in topic["terms"]
    assert any(t.startswith("card") for t in topic["terms"])
    marks = len(activity["shown"][1])
    assert topic["feedback"] == {"wrong_topic": 1, "none": marks}
    assert topic["why"] == {"nothing_inserted": 2, "all_unhelpful": 1}
    assert topic["draft"]["language"] == "en" and "gift" in topic["draft"]["title"].lower()
    assert topic["examples"][0]["text"].startswith("Do you sell gift cards")
    csv_text = client.get("/api/v1/content-gaps", query_string={"format": "csv"}, headers=manager).get_data(as_text=True)
    assert "gift" in csv_text.splitlines()[1]
    r = client.post("/api/v1/content-gaps/dismissals", json={"ticket_ids": topic["ticket_ids"], "terms": topic["terms"]},
                    headers=manager)
    assert r.status_code == 201 and r.json["hidden"] == 3
    assert client.get("/api/v1/content-gaps", headers=manager).json == {**data, "tickets": 0, "topics": []}
