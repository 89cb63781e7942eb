"""Suggestions for a ticket and manual search: language, ranking, rendering."""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import asdict

from index.searcher import Hit, SnippetSearcher
from server.db import Store
from server.language import detect
from server.render import render

_CACHE_SIZE = 512


class _RankingCache:
    """Rankings of recently seen tickets (an agent reopens the same ticket; the sidebar
    re-asks after a navigation). Keyed on the index state, so any write invalidates."""

    def __init__(self) -> None:
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def put(self, key, value) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > _CACHE_SIZE:
                self._items.popitem(last=False)


_cache = _RankingCache()


def choose_language(ticket: dict, text: str, config: dict) -> tuple[str, str]:
    """The ticket's language and where it came from (client, detected or default)."""
    if ticket.get("language"):
        return ticket["language"], "client"
    languages = tuple(config["DETECT_LANGUAGES"].split(","))
    language, confidence = detect(text, languages, config["DEFAULT_LANGUAGE"],
                                  config["DETECT_MIN_CONFIDENCE"])
    return language, ("detected" if confidence >= config["DETECT_MIN_CONFIDENCE"] else "default")


def ticket_text(ticket: dict) -> str:
    """The text to match: the subject, then the body."""
    return f"{ticket.get('subject') or ''}\n{ticket.get('body') or ''}".strip()


def ticket_context(ticket: dict, fields: dict | None = None) -> dict:
    """The context reply templates render over."""
    return {"customer": ticket.get("customer") or {}, "order": ticket.get("order") or {},
            "agent": ticket.get("agent") or {}, "fields": fields or {},
            "ticket": {"id": ticket.get("id"), "subject": ticket.get("subject")}}


def _present(hit: Hit, snippet: dict, context: dict) -> dict:
    text = snippet["texts"].get(hit.language) or snippet["texts"][snippet["default_language"]]
    out = {**asdict(hit), "title": text["title"], "tags": snippet["tags"]}
    if hit.kind == "policy":
        out["body"] = text["body"]
    else:
        rendered = render(text["body"], context)
        out.update(text=rendered.text, missing=rendered.missing,
                   policies=snippet["policies"], offer=snippet["offer"])
    return out


def suggest(store: Store, searcher: SnippetSearcher, ticket: dict, limit: int, config: dict) -> dict:
    """Ranked policies and replies for a ticket, rendered in its language."""
    started = time.perf_counter()
    text = ticket_text(ticket)
    language, source = choose_language(ticket, text, config)
    ranking = {"policy": [], "reply": []}
    if text:
        key = (searcher.state_id(), language, text, limit)
        ranking = _cache.get(key)
        if ranking is None:
            ranking = searcher.suggest(text, language, limit=limit)
            _cache.put(key, ranking)
    hits = ranking["policy"] + ranking["reply"]
    snippets = store.get_snippets([h.key for h in hits])
    context = ticket_context(ticket)
    present = {kind: [_present(h, snippets[h.key], context) for h in ranking[kind] if h.key in snippets]
               for kind in ranking}
    return {"language": language, "language_source": source,
            "policies": present["policy"], "replies": present["reply"],
            "took_ms": round((time.perf_counter() - started) * 1000, 2)}


def search(searcher: SnippetSearcher, args: dict) -> dict:
    """Manual search results with highlighted fragments."""
    started = time.perf_counter()
    hits = searcher.search(args["q"], language=args.get("language"), kind=args.get("kind"),
                           tag=args.get("tag"), limit=args["limit"])
    return {"query": args["q"], "hits": [asdict(h) for h in hits],
            "took_ms": round((time.perf_counter() - started) * 1000, 2)}
