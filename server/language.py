"""Detecting a ticket's language with lingua, restricted to the languages we expect."""
from __future__ import annotations

import functools
import threading

from lingua import IsoCode639_1, LanguageDetectorBuilder

_lock = threading.Lock()


@functools.cache
def _detector(languages: tuple[str, ...]):
    # Built lazily: models load on first use, so start-up stays fast.
    isos = [getattr(IsoCode639_1, code.upper()) for code in languages]
    return LanguageDetectorBuilder.from_iso_codes_639_1(*isos).build()


def warm_up(languages: tuple[str, ...]) -> None:
    """Load the detector's models in the background (the first detection takes ~1.7 s)."""
    def load() -> None:
        detect("warm up the language models", languages, "en", 1.0)

    threading.Thread(target=load, name="lingua-warm-up", daemon=True).start()


@functools.lru_cache(maxsize=1024)
def _confidences(languages: tuple[str, ...], sample: str) -> tuple[tuple[str, float], ...]:
    """The detector's confidence per language, best first; the same text asks again (the sidebar
    re-asks after a navigation; the insertion of a suggested reply detects the ticket again)."""
    with _lock:
        detector = _detector(languages)
    return tuple((v.language.iso_code_639_1.name.lower(), v.value)
                 for v in detector.compute_language_confidence_values(sample))


def detect(text: str, languages: tuple[str, ...], default: str, min_confidence: float) -> tuple[str, float]:
    """The most likely language of ``text`` among ``languages`` and its confidence.

    Short or ambiguous text ("ok", an order number) falls back to ``default``.
    """
    sample = text[:2000]  # the opening of a ticket decides; the rest only costs time
    if not sample.strip():
        return default, 0.0
    values = _confidences(languages, sample)
    if not values:
        return default, 0.0
    code, value = values[0]
    if value < min_confidence:
        return default, round(value, 3)
    return code, round(value, 3)


# -- routing: which language a ticket is answered in -----------------------------------------
PRIOR_WORDS = 8  # a ticket of this many words weighs its text and its prior (history, locale) equally
TRUSTED_LETTERS = 12  # below this many letters the detector's confidence is scaled down
LOCALE_PRIOR = 0.6  # how much the agent's helpdesk locale counts when the customer has no history


def candidates(store_languages: list[str], configured: str) -> tuple[str, ...]:
    """The languages detection chooses among: those the store has content in, plus a list.

    Detecting among every language lingua knows took 13 in 10,000 short English tickets for
    French, Dutch or Italian, in a store without any French; what they taught was lost.
    """
    wanted = dict.fromkeys([*store_languages, *(c.strip().lower() for c in configured.split(","))])
    return tuple(sorted(c for c in wanted if c and hasattr(IsoCode639_1, c.upper())))


def prior(customer_counts: dict[str, int], locale: str | None, languages: tuple[str, ...]) -> dict[str, float]:
    """What is known before reading the text: the customer's earlier tickets, else the locale."""
    counts = {lang: n for lang, n in customer_counts.items() if lang in languages}
    if counts:
        total = sum(counts.values())
        return {lang: n / total for lang, n in counts.items()}
    primary = (locale or "").strip().lower().replace("_", "-").partition("-")[0]
    return {primary: LOCALE_PRIOR} if primary in languages else {}


def route(text: str, languages: tuple[str, ...], known: dict[str, float], default: str,
          min_confidence: float) -> tuple[str, str]:
    """The ticket's language and why: ``detected`` from its text, ``prior`` (customer history or
    locale) when the text is too short to say, or ``default``.

    The prior's weight shrinks as the ticket grows: a two-word "ok grazie" leans on it, a
    paragraph decides by itself.
    """
    if len(languages) == 1:
        return languages[0], "detected"
    sample = text[:2000]
    values = {}
    if sample.strip() and languages:
        values = dict(_confidences(languages, sample))
    # A detector's confidence on a few letters means little ("ok" came out 74% Indonesian).
    letters = sum(ch.isalpha() for ch in sample)
    trust = min(1.0, letters / TRUSTED_LETTERS)
    values = {lang: v * trust for lang, v in values.items()}
    weight = PRIOR_WORDS / (PRIOR_WORDS + len(sample.split()))
    scores = {lang: values.get(lang, 0.0) + weight * known.get(lang, 0.0) for lang in set(values) | set(known)}
    if not scores:
        return default, "default"
    best = max(scores, key=lambda lang: (scores[lang], lang == default))
    from_text = values.get(best, 0.0)
    if weight * known.get(best, 0.0) > from_text:  # the prior, more than the text, decided
        return best, "prior"
    if from_text < min_confidence:
        return default, "default"
    return best, "detected"
