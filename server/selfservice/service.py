"""Public answers: the agents' ranking and curated text, with everything ticket-bound taken out.

What a customer may see is decided here and nowhere else:
- only published snippets marked ``public`` (true, or a list naming the answer's language);
- placeholders that need a ticket are removed or phrased generically: the greeting loses the
  name, the signature becomes the team, and any sentence that states a ticket's fact (its
  order, its fields) or carries an offer (a code, its expiry) is left out whole, so a code is
  never shown and never promised;
- the ranking is the one ``/suggest`` uses for the same text (``server.suggest.service.rank``).
"""
from __future__ import annotations

import math
import re
import threading
import time

from index.searcher import SnippetSearcher
from server.db import Store
from server.render import MARKER, RenderError, render, without_sentences
from server.replies import text_in
from server.suggest.service import choose_language, rank

# Candidates to look through for public ones: the ranking of the best few dozen is the same
# ranking agents get; public ones are picked from it in order.
_CANDIDATES = 20

# How the signature reads when no agent wrote the answer.
TEAM = {"en": "The support team", "it": "Il team di assistenza", "id": "Tim layanan pelanggan",
        "ja": "サポートチーム", "ar": "فريق الدعم", "es": "El equipo de atención al cliente",
        "fr": "L'équipe du service client", "de": "Ihr Kundenservice", "pt": "A equipa de apoio",
        "nl": "Het klantenserviceteam"}
# Greeting without a name: "{{ customer.first_name }} 様" reads "お客様" in Japanese.
_GREETING = {"ja": (re.compile(r"\[\[customer\.[a-z_]+\]\]\s*様"), "お客様")}

# A line that ends a sentence: an answer without one is only a greeting and a signature.
_SAYS_SOMETHING = re.compile(r"[.!?。！？؟]\s*$", re.M)
# Roots a customer-facing answer can say nothing true about without the ticket.
_TICKET_BOUND = {"order", "offer", "fields", "ticket"}


def generic_text(text: str, language: str) -> str:
    """A reply rendered without a ticket (``[[path]]`` markers left) made fit for anyone to read."""
    pattern, value = _GREETING.get(language, (None, None))
    if pattern is not None:
        text = pattern.sub(value, text)
    text = re.sub(r"\[\[agent\.[a-z_]+\]\]", TEAM.get(language, TEAM["en"]), text)
    text = MARKER.sub("", without_sentences(text, _TICKET_BOUND))  # what remains: the customer's name
    text = re.sub(r"[ \t]+([,،.!?。、])", r"\1", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def is_public(snippet: dict, language: str) -> bool:
    """Whether customers may read this snippet in ``language``."""
    public = snippet.get("public")
    if snippet["status"] != "published" or not public:
        return False
    return public is True or language in public


def answers(store: Store, searcher: SnippetSearcher, q: str, language: str | None, limit: int,
            config: dict, learner=None) -> dict:
    """Public answers to a customer's question, best first (``learner``: the one /suggest blends in)."""
    lang, _source = choose_language({"language": language} if language else {}, q, config, store, searcher)
    # The agents' ranking, learner included where the app has one, so both get the same answer.
    ranking = rank(store, searcher, q, lang, _CANDIDATES, learner=learner)
    hits = ranking["reply"] + ranking["policy"]  # replies are written for customers: first
    snippets = store.get_snippets([h.key for h in hits])
    found = []
    for hit in hits:
        snippet = snippets.get(hit.key)
        if snippet is None:
            continue
        text_lang, text = text_in(snippet, hit.language)
        if not is_public(snippet, text_lang):
            continue
        try:
            body = generic_text(render(text["body"], {}).text, text_lang)
        except RenderError:  # a template that cannot render without a ticket has nothing to say
            continue
        if not _SAYS_SOMETHING.search(body):
            continue  # only a greeting and a signature were left: nothing to tell a customer
        found.append({"key": hit.key, "title": text["title"], "text": body, "language": text_lang})
        if len(found) == limit:
            break
    return {"language": lang, "answers": found}


class RateLimiter:
    """A token bucket per (public key, client address): ``rate`` requests per ``per`` seconds.

    In memory, per process: with several server processes each allows the rate, which is
    what a per-process limit can promise; put a shared limiter in front for a hard cap.
    """

    def __init__(self, rate: int, per: float) -> None:
        self.rate, self.per = rate, per
        self._buckets: dict[tuple, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, who: tuple) -> int:
        """0 when the request may go ahead, else the seconds to wait (for ``Retry-After``)."""
        refill = self.rate / self.per
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(who, (float(self.rate), now))
            tokens = min(float(self.rate), tokens + (now - at) * refill)
            if tokens >= 1:
                self._buckets[who] = (tokens - 1, now)
                if len(self._buckets) > 100_000:  # forget idle clients rather than grow forever
                    self._buckets.clear()
                return 0
            self._buckets[who] = (tokens, now)
            return max(1, math.ceil((1 - tokens) / refill))


def parse_rate(value: str) -> tuple[int, float]:
    """``"30/60"`` -> 30 requests per 60 seconds."""
    count, _, seconds = str(value).partition("/")
    return int(count), float(seconds or 60)
