"""Learning from insertions: the tickets a snippet was used for become its learned text.

Explainable by construction: a snippet's learned text is a list of real tickets that a
manager can read and clear. Bounded so one agent's habits or mistakes can't dominate: each
snippet keeps its newest ``PER_SNIPPET`` tickets, at most ``PER_AGENT`` of them from any one
agent. An inserted reply also teaches the policies it applies.
"""
from __future__ import annotations

from server.db import Store, utcnow
from server.indexing import write_snippets

PER_SNIPPET = 200
PER_AGENT = 60
MAX_EXAMPLE = 2_000  # characters of one ticket kept as an example


def teach(store: Store, snippet: dict, text: str, language: str, agent: str, ticket_id: str) -> list[str]:
    """Learn that ``text`` was answered by ``snippet`` (and its policies); return the keys taught.

    Call inside the store transaction that records the insertion, then poke the
    ``Reindexer`` after it commits: the index is written in the background, outside the lock
    that issuing codes needs.
    """
    text = " ".join(text.split())[:MAX_EXAMPLE]
    if not text:
        return []
    keys = [snippet["key"]] + [k for k in snippet.get("policies") or [] if k != snippet["key"]]
    targets = store.get_snippets(keys)
    taught = []
    for key in keys:
        if key not in targets:
            continue
        added = store.add_example({"snippet_key": key, "language": language, "text": text, "agent": agent,
                                   "ticket_id": ticket_id, "via": snippet["key"], "at": utcnow()})
        if added:
            store.prune_examples(key, agent, PER_AGENT, PER_SNIPPET)
            taught.append(key)
    if taught:
        store.queue_reindex(taught)
        store.bump_data_version()
    return taught


def clear(store: Store, snippet: dict) -> int:
    """Forget what a snippet learned; return how many examples were removed."""
    with store.transaction():
        removed = store.clear_examples(snippet["key"])
        write_snippets(store, [snippet])
    return removed
