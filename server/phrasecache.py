"""The word pairs of snippet texts for the phrase step (server/ranking.py), kept compact.

Every suggest checks which of the ticket's adjacent term pairs each of its ~20 candidates
has in its title, body and examples; analysing a text costs ~0.2 ms, and at 10k snippets most
candidates of a new ticket had not been analysed yet. A frozenset of string pairs costs ~12 KB
per snippet, too much to keep a whole library, so here a text's pairs are an ``array`` of
64-bit pair numbers (term numbers from a per-language vocabulary): ~1 KB per snippet, small
enough to keep every text and to compute them all at start (``prewarm``). Entries are keyed
by a 128-bit digest of the text, not the text: a body kept as a key cost more than its pairs
(at 100k snippets the texts were ~85% of the cache's bytes, so only ~28k snippets fitted and a
new ticket analysed ~23 texts, ~6 ms of CPU). Empty texts (most snippets have no examples) share
one empty entry.

``query & pairs`` (a frozenset of the ticket's string pairs) gives the same frozenset as
``query & frozenset(text pairs)`` did: the vocabulary numbers terms exactly, so the
comparison is exact, not a hash.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from array import array
from collections import OrderedDict

from index.analyzers import analyze

log = logging.getLogger(__name__)

# Bytes of pair arrays kept (LRU beyond): the bench's 100k snippets' titles and bodies
# (200k texts of 120-250 words; prewarm stops at 90%) count ~114 MB.
BUDGET = 144 * 1024 * 1024
_OVERHEAD = 250  # bytes an entry costs beyond its array's items (key, digest, objects, the dict slot)

_lock = threading.Lock()
_vocabulary: dict[str, dict[str, int]] = {}  # language -> term -> number
_texts: OrderedDict[tuple[str, bytes], Pairs] = OrderedDict()
_bytes = 0


class Pairs:
    """One text's adjacent term pairs (distinct, a != b), as numbers."""

    __slots__ = ("numbers", "vocabulary", "_query")

    def __init__(self, numbers: array, vocabulary: dict[str, int]) -> None:
        self.numbers, self.vocabulary = numbers, vocabulary
        self._query = None

    def __len__(self) -> int:
        return len(self.numbers)

    def __rand__(self, query: frozenset) -> frozenset:
        """``query & self``: the query's pairs this text has."""
        if not self.numbers:
            return frozenset()
        pairs = _numbered(query, self.vocabulary)
        found = pairs.keys() & self.numbers  # one pass over the array, in C
        return frozenset(pairs[number] for number in found) if found else frozenset()

    __and__ = __rand__


# (query, vocabulary, its size, numbered query): one ticket is checked against ~60 texts in a row.
_last: tuple = (None, None, 0, {})


def _numbered(query: frozenset, vocabulary: dict[str, int]) -> dict[int, tuple[str, str]]:
    """The query's pairs by number (a pair with a term no text has is in no text: left out)."""
    global _last
    last_query, last_vocabulary, size, numbered = _last
    if last_query is query and last_vocabulary is vocabulary and size == len(vocabulary):
        return numbered  # (a grown vocabulary may number a pair that had no number before)
    size = len(vocabulary)
    numbered = {vocabulary[a] << 32 | vocabulary[b]: (a, b) for a, b in query if a in vocabulary and b in vocabulary}
    _last = (query, vocabulary, size, numbered)
    return numbered


def _encode(language: str, text: str) -> Pairs:
    terms = analyze(language, text)
    with _lock:
        vocabulary = _vocabulary.setdefault(language, {})
        for term in terms:
            if term not in vocabulary:
                vocabulary[term] = len(vocabulary)
    numbers = sorted({vocabulary[a] << 32 | vocabulary[b] for a, b in zip(terms, terms[1:]) if a != b})
    return Pairs(array("q", numbers), vocabulary)


def _cost(pairs: Pairs) -> int:
    """The bytes one entry counts against ``BUDGET``."""
    return pairs.numbers.itemsize * len(pairs.numbers) + _OVERHEAD


def text_pairs(language: str, text: str) -> Pairs:
    """The word pairs of one text in one language (cached)."""
    global _bytes
    if not text:
        return _EMPTY
    # A collision of two texts' 128-bit digests is not a practical concern (2**-64 at 2**32 texts).
    key = (language, hashlib.blake2b(text.encode(), digest_size=16).digest())
    with _lock:
        found = _texts.get(key)
        if found is not None:
            _texts.move_to_end(key)
            return found
    pairs = _encode(language, text)
    size = _cost(pairs)
    with _lock:
        if key not in _texts:
            _texts[key] = pairs
            _bytes += size
            while _bytes > BUDGET and len(_texts) > 1:
                _, old = _texts.popitem(last=False)
                _bytes -= _cost(old)
    return pairs


_EMPTY = Pairs(array("q"), {})  # an empty text has no pairs, in any language


def prewarm(snippets, budget: int = BUDGET) -> dict:
    """Compute the pairs of these snippets' texts (an iterable of store rows) ahead of tickets."""
    started, cpu, texts = time.perf_counter(), time.thread_time(), 0
    for snippet in snippets:
        if _bytes >= budget * 0.9:
            break
        for language, text in (snippet.get("texts") or {}).items():
            for part in (text.get("title"), text.get("body"), "\n".join(text.get("examples") or [])):
                text_pairs(language, part or "")
                texts += 1
        if texts % 64 == 0:
            time.sleep(0.0005)  # let request threads in
    return {"texts": texts, "bytes": _bytes, "seconds": round(time.perf_counter() - started, 2),
            "cpu_seconds": round(time.thread_time() - cpu, 2)}
