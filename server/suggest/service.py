"""Suggestions for a ticket and manual search: language, ranking, rendering."""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import asdict

from index.analyzers import SUPPORTED_LANGUAGES
from index.asking import asked_text
from index.searcher import Hit, SnippetSearcher
from server.db import Store, utcnow
from server.events import events
from server.feedback.ranking import adjust as adjust_for_feedback
from server.language import candidates, prior, route
from server.learner import Learner
from server.identity import customer_key
from server.ranking import (COLD_CANDIDATES, WORDING_POOL, WORDING_SHOWN, blend_kinds, given_facts, label,
                            lend_to_policies, with_phrases, with_wording)
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


def choose_language(ticket: dict, text: str, config: dict, store: Store | None = None,
                    searcher: SnippetSearcher | None = None) -> tuple[str, str]:
    """The ticket's language and where it came from (client, detected, prior or default).

    Detection chooses among the languages the store has content in plus ``DETECT_LANGUAGES``;
    for short text, the customer's earlier tickets (else the agent's helpdesk locale,
    ``ticket.agent.locale``) weigh in.
    """
    if ticket.get("language"):
        return ticket["language"], "client"
    # Without the index at hand, the languages this project analyses stand in for the store's.
    in_store = searcher.view().languages if searcher is not None else list(SUPPORTED_LANGUAGES)
    languages = candidates(in_store, config["DETECT_LANGUAGES"]) or (config["DEFAULT_LANGUAGE"],)
    who = customer_key(ticket.get("customer") or {})
    history = store.customer_languages(who) if store is not None and who else {}
    known = prior(history, (ticket.get("agent") or {}).get("locale"), languages)
    return route(text, languages, known, config["DEFAULT_LANGUAGE"], config["DETECT_MIN_CONFIDENCE"])


def note_language(store: Store, ticket: dict, language: str, source: str) -> None:
    """Remember the language of a customer's ticket when it was told or read from enough text."""
    who = customer_key(ticket.get("customer") or {})
    if who and source in ("client", "detected"):
        store.note_customer_language(who, ticket["id"], language, utcnow())


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
    if hit.phrases:
        parts.append("phrases " + ", ".join(f'"{p}"' for p in hit.phrases[:3]))
    if hit.wording >= WORDING_SHOWN:
        parts.append("similar wording")
    if hit.learned_from:
        parts.append(f"used for {hit.learned_from} ticket{'s' if hit.learned_from > 1 else ''} like this one")
    if hit.fallback:
        parts.append(f"shown in {hit.language}: no translation")
    return "; ".join(parts) or "linked to a fitting reply or policy"


def _extra_hit(store: Store, key: str, kind: str, language: str, learned_from: int) -> Hit | None:
    """A hit for a snippet the learner proposes that the cold ranking did not."""
    snippet = store.get_snippet(key)
    if snippet is None or snippet["status"] != "published" or snippet["kind"] != kind:
        return None
    lang = language if language in snippet["texts"] else snippet["default_language"]
    return Hit(key=key, kind=kind, language=lang, score=0.0, fallback=lang != language,
               learned_from=learned_from)


def _present(hit: Hit, snippet: dict, context: dict, offers: dict[str, dict | None]) -> dict:
    # vars(), not asdict(): a Hit is flat, and asdict's deep copy cost ~5% of a request.
    out = {**vars(hit), "tags": snippet["tags"], "why": explain(hit),
           "confidence_label": label(hit.confidence), "verification_overdue": verification(snippet)["overdue"]}
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


def rank(store: Store, searcher: SnippetSearcher, text: str, language: str, limit: int,
         learner: Learner | None = None) -> dict[str, list[Hit]]:
    """Policies and replies ranked for a text, with confidences; agents and self-service share it.

    The cold ranking is cached per index state; the learner's blend (server/ranking.py) is
    applied on top, so a retrained model counts at once.
    """
    if not text:
        return {"policy": [], "reply": []}
    synonyms = store.get_synonyms()
    depth = max(limit, COLD_CANDIDATES)
    key = (searcher.state_id(), language, text, depth, repr(synonyms))
    ranking = _cache.get(key)
    if ranking is None:
        # Ranked on what the ticket asks: "I don't want to cancel, just ..." is not about cancelling.
        asked = asked_text(language, text)
        ranking = searcher.suggest(asked, language, limit=max(depth, WORDING_POOL), synonyms=synonyms)
        snippets = store.get_snippets([h.key for hits in ranking.values() for h in hits])
        # The best `depth` re-scored by spelling-tolerant likeness (the wider pool weighs its grams).
        ranking = with_phrases(with_wording(ranking, asked, snippets, depth), asked, snippets)
        _cache.put(key, ranking)
    if learner is not None:
        learner.refresh(store.data_version())
    return blend_kinds(ranking, text, language, learner,
                       lambda k, kind, n: _extra_hit(store, k, kind, language, n), limit)


present = _present  # a hit as the sidebar shows it; server/desk renders favourites and search hits with it


def suggest(store: Store, searcher: SnippetSearcher, ticket: dict, limit: int, config: dict,
            agent: str, learner: Learner | None = None) -> dict:
    """Ranked policies and replies for a ticket, rendered in its language.

    Of the most relevant replies, those whose conditions the ticket's facts contradict rank
    below the others (with the reason); replies whose conditions can't be checked stay where
    relevance puts them.
    """
    started = time.perf_counter()
    text = ticket_text(ticket)
    language, source = choose_language(ticket, text, config, store, searcher)
    note_language(store, ticket, language, source)
    ranking = rank(store, searcher, text, language, limit, learner)
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
    given_facts(replies)
    policies = lend_to_policies(policies, replies)
    shown = [["policy", h["key"], i] for i, h in enumerate(policies, 1)]
    shown += [["reply", h["key"], i] for i, h in enumerate(replies, 1)]
    events().record(ticket["id"], agent, language, shown, utcnow(), text[:MAX_EVENT_TEXT])
    best = (replies or policies or [{"confidence_label": "unlikely"}])[0]
    return {"language": language, "language_source": source, "policies": policies, "replies": replies,
            "confident": best["confidence_label"] != "unlikely",
            "took_ms": round((time.perf_counter() - started) * 1000, 2)}


def search(searcher: SnippetSearcher, args: dict) -> dict:
    """Manual search results with highlighted fragments."""
    started = time.perf_counter()
    hits = searcher.search(args["q"], language=args.get("language"), kind=args.get("kind"),
                           tag=args.get("tag"), limit=args["limit"])
    return {"query": args["q"], "hits": [asdict(h) for h in hits],
            "took_ms": round((time.perf_counter() - started) * 1000, 2)}
