"""The character n-grams of snippet texts for the wording step (server/ranking.py), kept compact.

Every new ticket compares its grams with those of its ~30 best cold candidates (15 per kind),
and at 10k snippets most of them were not among the 2,048 texts the old ``lru_cache`` held:
counting a body's grams costs ~0.3 ms, ~9 ms a ticket. Here a text's grams are numbered by
one vocabulary of every gram seen (``Vocabulary``: the 64-bit gram numbers, sorted, beside a
dense 32-bit id for each) and a text keeps its grams' ids, in the order of their gram numbers,
and their counts in the smallest unsigned type that holds them (nearly always one byte):
~5 bytes a gram, ~7 KB a body-sized text (~16 KB as gram numbers and float weights), so a
whole 10k library fits (``prewarm``), and the pool's document frequencies are counted in a
dense array instead of sorting its ~20k gram numbers on every ticket.

Keyed on the text itself, so a snippet edit (a new version, a new text) is never served the
old grams; the old text's entry ages out (LRU, within ``BUDGET`` bytes). Entries are shared
between request threads and never changed: callers read them.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

import numpy as np

log = logging.getLogger(__name__)

BUDGET = 96 * 1024 * 1024  # bytes of texts' grams kept (LRU beyond): ~11k body-sized texts
MAX_GRAMS = 1 << 22  # distinct grams numbered (20 bytes each) before the vocabulary starts over
_OVERHEAD = 200  # bytes an entry costs beyond its arrays and its text (objects, the dict slot)

Counter = Callable[[str], "tuple[np.ndarray, np.ndarray]"]  # text -> sorted gram numbers, counts


class Vocabulary:
    """Dense ids for gram numbers: ``numbers`` sorted with their ``ids`` beside, ``by_id`` back.

    Only grown (under the module lock), by replacing the arrays: a reader that took them keeps
    a consistent, older view, in which every gram of the texts it had already fetched is known.
    """

    def __init__(self) -> None:
        self.numbers = np.zeros(0, dtype=np.int64)
        self.ids = np.zeros(0, dtype=np.int32)
        self.by_id = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.numbers)

    def lookup(self, numbers: np.ndarray) -> np.ndarray:
        """The ids of sorted, distinct gram numbers; -1 for those not numbered."""
        known, ids = self.numbers, self.ids
        if not len(known):
            return np.full(len(numbers), -1, dtype=np.int32)
        at = np.minimum(np.searchsorted(known, numbers), len(known) - 1)
        return np.where(known[at] == numbers, ids[at], -1).astype(np.int32)

    def add(self, numbers: np.ndarray) -> np.ndarray:
        """The ids of sorted, distinct gram numbers, numbering the new ones (call under the lock)."""
        ids = self.lookup(numbers)
        new = ids < 0
        if new.any():
            fresh = numbers[new]
            ids[new] = np.arange(len(self.by_id), len(self.by_id) + len(fresh), dtype=np.int32)
            at = np.searchsorted(self.numbers, fresh)
            self.numbers = np.insert(self.numbers, at, fresh)
            self.ids = np.insert(self.ids, at, ids[new])
            self.by_id = np.concatenate([self.by_id, fresh])
        return ids


class Grams:
    """One text's distinct grams: ids in ``vocabulary`` in the order of their gram numbers, and counts."""

    __slots__ = ("ids", "counts", "vocabulary")

    def __init__(self, ids: np.ndarray, counts: np.ndarray, vocabulary: Vocabulary) -> None:
        self.ids, self.counts, self.vocabulary = ids, counts, vocabulary

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def nbytes(self) -> int:
        return self.ids.nbytes + self.counts.nbytes


_lock = threading.Lock()
_texts: OrderedDict[str, Grams] = OrderedDict()
_vocabulary = Vocabulary()
_bytes = 0
hits = misses = 0


def _compact(counts: np.ndarray) -> np.ndarray:
    top = int(counts.max()) if len(counts) else 0
    counts = counts.astype(np.uint8 if top < 2 ** 8 else np.uint16 if top < 2 ** 16 else np.uint32)
    counts.flags.writeable = False
    return counts


def text_grams(text: str, count: Counter) -> Grams:
    """The grams of ``text`` (cached); ``count(text)`` gives its sorted gram numbers and their counts."""
    global _bytes, _vocabulary, hits, misses
    with _lock:
        found = _texts.get(text)
        if found is not None:
            _texts.move_to_end(text)
            hits += 1
            return found
        misses += 1
    numbers, counts = count(text)
    counts = _compact(counts)
    with _lock:
        found = _texts.get(text)
        if found is not None:
            return found
        if len(_vocabulary) + len(numbers) > MAX_GRAMS:  # grams of texts long gone: start over
            log.info("wording grams: %d grams numbered, starting over", len(_vocabulary))
            _texts.clear()
            _vocabulary, _bytes = Vocabulary(), 0
        ids = _vocabulary.add(numbers)
        ids.flags.writeable = False
        grams = Grams(ids, counts, _vocabulary)
        _texts[text] = grams
        _bytes += grams.nbytes + len(text) + _OVERHEAD
        while _bytes > BUDGET and len(_texts) > 1:
            old_text, old = _texts.popitem(last=False)
            _bytes -= old.nbytes + len(old_text) + _OVERHEAD
    return grams


def pool_grams(texts: list[str], count: Counter) -> list[Grams]:
    """The grams of several texts, all numbered by one vocabulary."""
    grams = [text_grams(text, count) for text in texts]
    if all(g.vocabulary is grams[0].vocabulary for g in grams):
        return grams
    own = Vocabulary()  # the shared one started over meanwhile (very rare): number these on their own
    return [Grams(own.add(numbers), _compact(counts), own) for numbers, counts in map(count, texts)]


class _Scratch:
    """Zeroed per-gram arrays for one pool at a time: document frequencies and the ticket's weights."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen = np.zeros(0, dtype=np.int32)
        self.weights = np.zeros(0, dtype=np.float32)

    def __call__(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        """The arrays, at least ``size`` long (hold ``lock``; leave them zeroed)."""
        if len(self.seen) < size:
            self.seen = np.zeros(max(size, 2 * len(self.seen)), dtype=np.int32)
            self.weights = np.zeros(len(self.seen), dtype=np.float32)
        return self.seen, self.weights


scratch = _Scratch()


def prewarm(texts: Iterable[str], count: Counter, budget: int | None = None) -> dict:
    """Count the grams of these texts ahead of tickets, up to 90% of the budget."""
    started, cpu, done = time.perf_counter(), time.thread_time(), 0
    for text in texts:
        if _bytes >= (BUDGET if budget is None else budget) * 0.9:
            break
        text_grams(text, count)
        done += 1
        if done % 16 == 0:
            time.sleep(0.0005)  # let request threads in
    return {"texts": done, "bytes": _bytes, "grams": len(_vocabulary),
            "seconds": round(time.perf_counter() - started, 2), "cpu_seconds": round(time.thread_time() - cpu, 2)}


def stats() -> dict:
    """What the cache holds and how often it answered."""
    with _lock:
        return {"texts": len(_texts), "bytes": _bytes, "grams": len(_vocabulary), "hits": hits, "misses": misses}


def clear() -> None:
    """Forget every text and gram (tests; a process that wants its memory back)."""
    global _bytes, _vocabulary, hits, misses
    with _lock:
        _texts.clear()
        _vocabulary = Vocabulary()
        _bytes = hits = misses = 0
