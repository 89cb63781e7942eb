"""Content gaps: tickets shown suggestions where nothing was inserted, grouped into topics.

A ticket is a gap when suggestions were shown for it in the range and no snippet was inserted
into it (then or later), unless a manager dismissed it. It is "all unhelpful" when the agent
marked every reply shown as not helpful. Gap tickets are clustered by ``cluster.cluster``.
"""
from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict

from server.db import Store, utcnow
from server.gaps.cluster import MAX_TICKETS, cluster

EXAMPLES = 5
EXAMPLE_CHARS = 300


def gap_tickets(store: Store, q: dict) -> list[dict]:
    """The gap tickets of the range (newest ``MAX_TICKETS``), each with why it is a gap."""
    rows = [r for r in store.gap_candidates(q["start"], q["end"], q.get("language")) if r["ticket_text"].strip()]
    rows = rows[-MAX_TICKETS:]
    feedback: dict[str, list[dict]] = defaultdict(list)
    for f in store.feedback_for_tickets([r["ticket_id"] for r in rows]):
        feedback[f["ticket_id"]].append(f)
    for row in rows:
        replies = {key for kind, key, _ in row["shown"] if kind == "reply"}
        marked = {f["snippet_key"] for f in feedback[row["ticket_id"]]}
        row["feedback"] = feedback[row["ticket_id"]]
        row["why"] = "all_unhelpful" if replies and replies <= marked else "nothing_inserted"
    return rows


def topic_id(ticket_ids: list[str]) -> str:
    """A stable name for a group of tickets."""
    return hashlib.sha1("\n".join(sorted(ticket_ids)).encode()).hexdigest()[:12]


def draft_for(terms: list[str], language: str) -> dict:
    """What the editor is pre-filled with when a manager writes the missing answer."""
    words = "-".join(re.sub(r"[^a-z0-9]+", "-", t.lower()).strip("-") for t in terms[:3])
    return {"kind": "reply", "language": language, "key": f"reply/{re.sub(r'-+', '-', words).strip('-') or 'new'}",
            "title": " / ".join(terms[:3]).capitalize(),
            "body": "Hi {{ customer.first_name }},\n\n(" + ", ".join(terms) + ")\n\n{{ agent.first_name }}",
            "tags": ["content-gap"]}


def content_gaps(store: Store, q: dict) -> dict:
    """Topics of the range's gap tickets, biggest first, with sizes, languages, examples, terms."""
    rows = gap_tickets(store, q)
    topics = []
    for found in cluster([(r["language"], r["ticket_text"]) for r in rows]):
        members = sorted((rows[i] for i in found.members), key=lambda r: r["at"], reverse=True)
        languages = Counter(r["language"] for r in members)
        ids = [r["ticket_id"] for r in members]
        topics.append({
            "id": topic_id(ids), "size": len(members), "languages": dict(languages.most_common()),
            "terms": found.terms, "ticket_ids": ids,
            "why": dict(Counter(r["why"] for r in members)),
            "feedback": dict(Counter(f["reason"] or "none" for r in members for f in r["feedback"])),
            "shown": [k for k, _ in Counter(key for r in members for _, key, _ in r["shown"]).most_common(3)],
            "examples": [{"ticket_id": r["ticket_id"], "language": r["language"], "at": r["at"],
                          "text": r["ticket_text"][:EXAMPLE_CHARS]} for r in members[:EXAMPLES]],
            "draft": draft_for(found.terms, languages.most_common(1)[0][0])})
    clustered = sum(t["size"] for t in topics)
    return {"from": q["from"].isoformat(), "to": q["to"].isoformat(), "language": q.get("language"),
            "tickets": len(rows), "unclustered": len(rows) - clustered, "topics": topics}


def dismiss(store: Store, data: dict, actor: str) -> dict:
    """Hide a topic's tickets from the gap list for good (new tickets on it still show)."""
    with store.transaction():
        dismissal_id, hidden = store.dismiss_gap(data["ticket_ids"], data["terms"], actor, utcnow())
    return {"id": dismissal_id, "hidden": hidden, "terms": data["terms"]}
