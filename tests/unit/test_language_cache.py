"""Language detection of a text seen before is answered from memory, with the same answer."""
from __future__ import annotations

from server.language import _confidences, detect, route

LANGUAGES = ("en", "it")


def test_the_same_text_is_detected_once_and_answered_the_same():
    text = "Buongiorno, vorrei annullare il mio ordine perché ho sbagliato la taglia del cappotto"
    first = route(text, LANGUAGES, {}, "en", 0.35)
    misses = _confidences.cache_info().misses
    assert route(text, LANGUAGES, {}, "en", 0.35) == first == ("it", "detected")
    assert detect(text, LANGUAGES, "en", 0.35)[0] == "it"
    assert _confidences.cache_info().misses == misses  # no second detection
