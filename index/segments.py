"""What the scorer reads from Whoosh, kept per segment so it survives commits (the Lucene way).

A Whoosh segment never changes once written: a commit adds a new small segment, marks
documents of older ones deleted, and sometimes merges segments into a new one. So postings
arrays, field lengths and stored fields read from a segment stay true for as long as that
segment exists, whatever is committed later. They are cached here by segment id, shared by
every view and thread of the process; a commit costs only what is read from its new
segment, deletions are applied as a mask by each view, and a merge's new segment is read
afresh while the segments it replaced are dropped from the cache.

Memory is bounded: entries are evicted least recently used once their estimated size passes
the budget (``SEARCH_CACHE_MB``). An evicted entry is simply read again from Whoosh.
"""
from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield, byte_to_length

DEFAULT_BUDGET_MB = 256
_EMPTY = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
# Whoosh stores a field length as one byte; this maps every byte to its length.
_LENGTHS = np.array([byte_to_length(b) if b else 0 for b in range(256)], dtype=np.float32)


def read_postings(reader, fieldname: str, term: str) -> tuple[np.ndarray, np.ndarray]:
    """All postings of a term in one segment, deleted documents included: (ids, frequencies).

    Whoosh's own matcher filters deletions and yields one posting per Python call; reading the
    decoded blocks directly is ~10x faster on long lists, and deletions are the view's job.
    """
    if (fieldname, term) not in reader:
        return _EMPTY
    btext = reader._text_to_bytes(fieldname, term)
    return _decode(reader._terms.matcher(fieldname, btext, reader.schema[fieldname].format))


def _decode(m) -> tuple[np.ndarray, np.ndarray]:
    """A term's postings from its Whoosh matcher: decoded blocks, not one posting per call."""
    ids: list = []
    freqs: list = []
    if isinstance(m, W3LeafMatcher):
        while m.is_active():
            if m._ids is None:
                m._read_ids()
            if m._weights is None:
                m._read_weights()
            ids.extend(m._ids)
            freqs.extend(m._weights)
            m._next_block()
    else:  # short lists are stored inline in the term info
        while m.is_active():
            ids.append(m.id())
            freqs.append(m.weight())
            m.next()
    # int64 like the document numbers queries compare them with: np.searchsorted would
    # otherwise convert the whole list on every call.
    return np.asarray(ids, dtype=np.int64), np.asarray(freqs, dtype=np.float32)


def read_segment(reader) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
    """Every posting list of a small segment in one pass over its term table.

    A commit's segment holds a few documents: one pass costs less than looking each ticket
    term up in it (most are absent), and most of its lists are stored inline in the term info.
    """
    out = {}
    schema = reader.schema
    for (fieldname, btext), info in reader._terms.items():
        if fieldname not in schema:
            continue
        term = schema[fieldname].from_bytes(btext)
        if info.is_inlined():
            ids, weights, _ = info.inlined_postings()
            out[(fieldname, term)] = (np.asarray(ids, dtype=np.int64), np.asarray(weights, dtype=np.float32))
        else:  # from the term info at hand: two fewer (pure Python) hash lookups per term
            terms = reader._terms
            out[(fieldname, term)] = _decode(terms._codec.postings_reader(
                terms._postfile, info, schema[fieldname].format, term=(fieldname, btext)))
    return out


def field_terms(reader, fieldname: str) -> frozenset[str]:
    """Every term of one field in one segment."""
    if fieldname not in reader.schema:
        return frozenset()
    return frozenset(reader.field_terms(fieldname))


def read_lengths(reader, fieldname: str) -> np.ndarray:
    """Every document's length (tokens) of one field in one segment."""
    column = reader._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
    if column is None:
        return np.zeros(reader.doc_count_all(), dtype=np.float32)
    raw = np.fromiter(column, dtype=np.uint8, count=reader.doc_count_all())
    return _LENGTHS[raw]


def _size(value) -> int:
    """Estimated bytes held by a cached value (arrays exactly, dicts roughly)."""
    if value is _EMPTY:  # one shared object: an absent term costs only its cache entry
        return 160
    if isinstance(value, np.ndarray):
        return value.nbytes + 112
    if isinstance(value, tuple):
        return sum(_size(v) for v in value) + 64
    if isinstance(value, frozenset):
        return sys.getsizeof(value) + sum(sys.getsizeof(v) for v in value)
    if isinstance(value, dict):
        return sys.getsizeof(value) + sum(sys.getsizeof(k) + (_size(v) if isinstance(v, tuple) else sys.getsizeof(v))
                                          for k, v in value.items())
    return sys.getsizeof(value)


class SegmentCache:
    """Segment-derived data shared by the views and threads of a process, bounded in bytes."""

    def __init__(self, budget_mb: float = DEFAULT_BUDGET_MB) -> None:
        self.budget = int(budget_mb * 1024 * 1024)
        self.bytes = 0
        self.hits = self.misses = self.evictions = 0
        self._items: OrderedDict[tuple, tuple[object, int]] = OrderedDict()
        self._segments: dict[str, set[str]] = {}  # index -> segment ids of its latest view
        self._lock = threading.Lock()

    def get(self, key: tuple, load: Callable[[], object]) -> object:
        """The cached value of ``key`` (``(segment, kind, ...)``), computed by ``load`` if absent."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return found[0]
            self.misses += 1
        value = load()  # outside the lock: another thread may load the same entry; both agree
        size = _size(value)
        with self._lock:
            if key not in self._items:
                self._items[key] = (value, size)
                self.bytes += size
                while self.bytes > self.budget and len(self._items) > 1:
                    _, (_, dropped) = self._items.popitem(last=False)
                    self.bytes -= dropped
                    self.evictions += 1
        return value

    def retain(self, index: str, segments: set[str]) -> None:
        """Forget the segments of ``index`` not in ``segments`` (merged away or cleared)."""
        with self._lock:
            gone = self._segments.get(index, set()) - segments
            self._segments[index] = set(segments)
            if not gone:  # most commits only add a segment
                return
            for key in [k for k in self._items if k[0][0] == index and k[0][1] in gone]:
                self.bytes -= self._items.pop(key)[1]

    def stats(self) -> dict:
        """Entries, estimated bytes, hits, misses and evictions so far."""
        with self._lock:
            return {"entries": len(self._items), "bytes": self.bytes, "budget": self.budget,
                    "hits": self.hits, "misses": self.misses, "evictions": self.evictions}

    def clear(self) -> None:
        """Drop everything."""
        with self._lock:
            self._items.clear()
            self._segments.clear()
            self.bytes = 0


_shared = SegmentCache()


def shared_cache() -> SegmentCache:
    """The process's cache, used by every searcher not given its own."""
    return _shared


def configure(budget_mb: float) -> None:
    """Set the shared cache's budget (from the app's ``SEARCH_CACHE_MB``)."""
    with _shared._lock:
        _shared.budget = int(budget_mb * 1024 * 1024)
