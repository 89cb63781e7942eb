"""The bounded effect of agents' "not helpful" on the order of suggested replies.

A separate step after relevance (``index/``) has chosen the replies, so it can only reorder
what relevance already shows, never hide a reply. The rule, over the last ``WINDOW_DAYS``:

    net = distinct agents who marked the reply not helpful (reason "wrong language" aside)
          - distinct agents who inserted it
    factor = 1 - min(MAX_DEMOTION, STEP * max(0, net - 1))

So one agent, however often they click, changes nothing; each further agent lowers the
reply's score by 10 %, at most 30 %; and colleagues who use the reply cancel complaints out.
"wrong language" says a translation is missing, not that the answer is wrong.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from server.db import Store

WINDOW_DAYS = 90
STEP = 0.10
MAX_DEMOTION = 0.30


def factor(not_helpful_agents: int, inserting_agents: int) -> float:
    """The score multiplier for a reply, from distinct agents' feedback and insertions."""
    net = not_helpful_agents - inserting_agents
    return 1.0 - min(MAX_DEMOTION, STEP * max(0, net - 1))


def adjust(store: Store, replies: list[dict]) -> list[dict]:
    """Reorder presented replies (dicts with ``key`` and ``score``) by their feedback factor."""
    if len(replies) < 2:
        return replies
    since = (datetime.now(timezone.utc) - timedelta(days=WINDOW_DAYS)).isoformat(timespec="seconds")
    counts = store.distinct_agents([r["key"] for r in replies], since)
    factors = {k: factor(c["not_helpful"], c["inserted"]) for k, c in counts.items()}
    if all(f == 1.0 for f in factors.values()):
        return replies
    # Stable: replies without feedback keep relevance's order among themselves.
    return sorted(replies, key=lambda r: -r["score"] * factors.get(r["key"], 1.0))
