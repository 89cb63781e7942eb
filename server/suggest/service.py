"""Suggestions for a ticket and manual search: language, ranking, rendering."""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import asdict

from index.searcher import Hit, SnippetSearcher
from server.db import Store, utcnow
from server.events import events
from server.feedback.ranking import adjust as adjust_for_feedback
from server.language import detect
from server.replies import prepare, text_in
from server.snippets.service import verification

_CACHE_SIZE = 512
MAX_EVENT_TEXT = 4_000  # characters of the ticket kept with a suggestion event (content gaps)


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


def ticket_context(ticket: dict, fields: dict | None = None, labels: dict | None = None) -> dict:
    """The context reply templates render over (``_labels``: the shop's value labels, not a template root)."""
    return {"customer": ticket.get("customer") or {}, "order": ticket.get("order") or {},
            "agent": ticket.get("agent") or {}, "fields": fields or {},
            "ticket": {"id": ticket.get("id"), "subject": ticket.get("subject")}, "_labels": labels or {}}


def explain(hit: Hit) -> str:
    """Why a snippet ranked, in one short line for the sidebar."""
    parts = []
    if hit.matched_terms:
        shown = ", ".join(hit.matched_terms[:6]) + (", ..." if len(hit.matched_terms) > 6 else "")
        parts.append(f"matches {shown}")
    if hit.learned_from:
        parts.append(f"used for {hit.learned_from} earlier ticket{'s' if hit.learned_from > 1 else ''}")
    if hit.fallback:
        parts.append(f"shown in {hit.language}: no translation")
    return "; ".join(parts) or "linked to a fitting reply or policy"


def _present(hit: Hit, snippet: dict, context: dict, offers: dict[str, dict | None]) -> dict:
    out = {**asdict(hit), "tags": snippet["tags"], "why": explain(hit),
           "verification_overdue": verification(snippet)["overdue"]}
    if hit.kind == "policy":
        lang, text = text_in(snippet, hit.language)
        out.update(title=text["title"], body=text["body"])
        return out
    reply = prepare(snippet, hit.language, context)
    offer_key = snippet.get("offer")
    offer = offers.get(offer_key) if offer_key else None
    out.update(title=reply.title, text=reply.text, render_error=reply.error, missing=reply.missing,
               policies=snippet["policies"], conditions=bool(snippet.get("when")),
               offer=offer_key, fields=reply.fields, eligible=reply.eligibility.eligible,
               reason=reply.eligibility.reason,
               offer_preview={"key": offer_key, "label": offer["label"], "kind": offer["kind"]} if offer else None)
    return out


def rank(store: Store, searcher: SnippetSearcher, text: str, language: str, limit: int) -> dict[str, list[Hit]]:
    """Policies and replies ranked for a text (cached per index state); agents and self-service share it."""
    if not text:
        return {"policy": [], "reply": []}
    synonyms = store.get_synonyms()
    key = (searcher.state_id(), language, text, limit, repr(synonyms))
    ranking = _cache.get(key)
    if ranking is None:
        ranking = searcher.suggest(text, language, limit=limit, synonyms=synonyms)
        _cache.put(key, ranking)
    return ranking


present = _present  # a hit as the sidebar shows it; server/desk renders favourites and search hits with it


def suggest(store: Store, searcher: SnippetSearcher, ticket: dict, limit: int, config: dict,
            agent: str) -> dict:
    """Ranked policies and replies for a ticket, rendered in its language.

    Of the most relevant replies, those whose conditions the ticket's facts contradict rank
    below the others (with the reason); replies whose conditions can't be checked stay where
    relevance puts them.
    """
    started = time.perf_counter()
    text = ticket_text(ticket)
    language, source = choose_language(ticket, text, config)
    ranking = rank(store, searcher, text, language, limit)
    snippets = store.get_snippets([h.key for h in ranking["policy"] + ranking["reply"]])
    context = ticket_context(ticket, labels=store.value_labels())
    offer_keys = {snippets[h.key]["offer"] for h in ranking["reply"] if h.key in snippets} - {None}
    offers = {k: store.get_offer(k) for k in offer_keys}
    policies = [_present(h, snippets[h.key], context, offers) for h in ranking["policy"] if h.key in snippets]
    replies = [_present(h, snippets[h.key], context, offers) for h in ranking["reply"][:limit] if h.key in snippets]
    replies = adjust_for_feedback(store, replies)  # bounded; see server/feedback/ranking.py
    # Relevance picks which replies show; among them, those the ticket's facts contradict go
    # last (stable sort: relevance order within each group), still visible with their reason.
    replies.sort(key=lambda r: r["eligible"] is False)
    shown = [["policy", h["key"], i] for i, h in enumerate(policies, 1)]
    shown += [["reply", h["key"], i] for i, h in enumerate(replies, 1)]
    events().record(ticket["id"], agent, language, shown, utcnow(), text[:MAX_EVENT_TEXT])
    return {"language": language, "language_source": source, "policies": policies, "replies": replies,
            "took_ms": round((time.perf_counter() - started) * 1000, 2)}


def search(searcher: SnippetSearcher, args: dict) -> dict:
    """Manual search results with highlighted fragments."""
    started = time.perf_counter()
    hits = searcher.search(args["q"], language=args.get("language"), kind=args.get("kind"),
                           tag=args.get("tag"), limit=args["limit"])
    return {"query": args["q"], "hits": [asdict(h) for h in hits],
            "took_ms": round((time.perf_counter() - started) * 1000, 2)}
