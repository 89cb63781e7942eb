"""Reading the index's postings into the segment cache before tickets ask for them.

A fresh process reads each ticket term's postings from Whoosh the first time a ticket has it
(pure Python block decoding): the first few hundred distinct tickets of a 10k index paid ~15%
of their CPU for it. Postings are per segment and a segment never changes
(index/segments.py), so they can be read once, at start, off the request path: every text
field of every language, the most frequent terms first (the longest lists, and the likeliest
in a ticket), then the stored fields a hit reads, until a byte budget is spent. The reading thread steps aside between terms so
that requests arriving meanwhile are not held up by it.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

from index.schema import body_field, learned_field, title_field
from index.searcher import SMALL_SEGMENT, SnippetSearcher

log = logging.getLogger(__name__)

PAUSE_EVERY = 16  # terms read between two pauses
PAUSE = 0.0005  # seconds the thread sleeps then (gives up the GIL to request threads)


def _fields(languages: list[str]) -> list[str]:
    return ["tag_terms"] + [f(lang) for lang in languages for f in (title_field, body_field, learned_field)]


def prewarm(searcher: SnippetSearcher, budget_bytes: int, stop: Callable[[], bool] = lambda: False) -> dict:
    """Read postings of the current view's large segments into the shared cache; what it read."""
    started, cpu = time.perf_counter(), time.thread_time()
    view = searcher.view()
    cache = searcher.cache
    before = cache.stats()["bytes"]
    terms_read = 0
    for i, (reader, _offset) in enumerate(view.leaves):
        if reader.doc_count_all() <= SMALL_SEGMENT:
            continue  # a commit's small segment is read whole on first use, and cheaply
        for fieldname in _fields(view.languages):
            if fieldname not in reader.schema:
                continue
            with view.lock:
                ranked = sorted(((info.doc_frequency(), term) for term, info in reader.iter_field(fieldname)),
                                reverse=True)
            for _frequency, term in ranked:
                if stop() or cache.stats()["bytes"] - before >= budget_bytes:
                    return _report(terms_read, cache, before, started, cpu, complete=False)
                view._segment_postings(i, fieldname, term.decode() if isinstance(term, bytes) else term)
                terms_read += 1
                if terms_read % PAUSE_EVERY == 0:
                    time.sleep(PAUSE)
            view._all_lengths(fieldname)
        # And the few stored fields each hit reads (not the texts): ~0.1 ms a document from Whoosh.
        offset = view._offsets[i]
        for n in range(reader.doc_count_all()):
            if stop() or cache.stats()["bytes"] - before >= budget_bytes:
                return _report(terms_read, cache, before, started, cpu, complete=False)
            view.hit_fields(offset + n)
            if n % (4 * PAUSE_EVERY) == 0:
                time.sleep(PAUSE)
    return _report(terms_read, cache, before, started, cpu, complete=True)


def _report(terms: int, cache, before: int, started: float, cpu: float, complete: bool) -> dict:
    return {"terms": terms, "bytes": cache.stats()["bytes"] - before, "complete": complete,
            "seconds": round(time.perf_counter() - started, 2), "cpu_seconds": round(time.thread_time() - cpu, 2)}
