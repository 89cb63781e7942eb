"""Recording agents' "not helpful" and summing it up for managers."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

from server.db import Store, utcnow
from server.errors import NotFound
from server.feedback import ranking
from server.snippets.service import get_snippet


def record(store: Store, data: dict, agent: str) -> tuple[dict, bool]:
    """Store (or update the reason of) one agent's "not helpful"; return it and whether it was new."""
    snippet = get_snippet(store, data["key"])
    language = data.get("language") or store.ticket_language(data["ticket_id"]) or snippet["default_language"]
    with store.transaction():
        row_id, created = store.record_feedback({
            "ticket_id": data["ticket_id"], "snippet_key": snippet["key"], "snippet_version": snippet["version"],
            "agent": agent, "language": language, "reason": data["reason"], "comment": data["comment"],
            "at": utcnow()})
    item = next(f for f in store.feedback_for_snippet(snippet["key"]) if f["id"] == row_id)
    return item, created


def undo(store: Store, data: dict, agent: str) -> None:
    """Take back this agent's "not helpful" on a ticket; NotFound when there is none."""
    with store.transaction():
        if not store.delete_feedback(data["ticket_id"], data["key"], agent):
            raise NotFound(f"You gave no feedback on {data['key']!r} for ticket {data['ticket_id']!r}.")


def for_snippet(store: Store, key: str) -> dict:
    """A snippet's feedback: counts by reason, distinct agents, its ranking factor, the items."""
    get_snippet(store, key)
    items = store.feedback_for_snippet(key)
    since = (datetime.now(timezone.utc) - timedelta(days=ranking.WINDOW_DAYS)).isoformat(timespec="seconds")
    counts = store.distinct_agents([key], since)[key]
    return {"key": key, "total": len(items), "agents": len({f["agent"] for f in items}),
            "reasons": dict(Counter(f["reason"] or "none" for f in items)),
            "ranking_factor": ranking.factor(counts["not_helpful"], counts["inserted"]), "items": items}
