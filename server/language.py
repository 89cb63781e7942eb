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


def detect(text: str, languages: tuple[str, ...], default: str, min_confidence: float) -> tuple[str, float]:
    """The most likely language of ``text`` among ``languages`` and its confidence.

    Short or ambiguous text ("ok", an order number) falls back to ``default``.
    """
    sample = text[:2000]  # the opening of a ticket decides; the rest only costs time
    if not sample.strip():
        return default, 0.0
    with _lock:
        detector = _detector(languages)
    values = detector.compute_language_confidence_values(sample)
    if not values:
        return default, 0.0
    best = values[0]
    code = best.language.iso_code_639_1.name.lower()
    if best.value < min_confidence:
        return default, round(best.value, 3)
    return code, round(best.value, 3)
