"""Reading the index: ranked suggestions for a ticket, and manual search with highlights.

Suggestions score the *whole* ticket, because dropping terms to save time costs relevance
(../shared/notes/whoosh.md: hit@1 0.73 → 0.39-0.56). Whoosh's own matchers walk every posting
in pure Python for each query (1.5 s for a ticket over 10k snippets), so the suggest path reads
each term's postings from Whoosh once, keeps them as numpy arrays for as long as the index is
unchanged, and scores BM25 per field with array arithmetic. Stage one scores every document
that shares a term with the ticket; stage two re-ranks the best candidates with what needs
per-document work (how much of the ticket a candidate covers).

One ``_View`` belongs to one opened Whoosh searcher. When another writer (this process or
another) commits, the view is replaced: ``Searcher.refresh()`` is broken in Whoosh-Reloaded.
"""
from __future__ import annotations

import bisect
import copy
import functools
import itertools
import math
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from whoosh import highlight, query
from whoosh.reading import EmptyReader, MultiReader, SegmentReader
from whoosh.searching import Searcher

from index.analyzers import analyze
from index.errors import IndexUnavailable
from index.indexer import on_latest_toc, open_index
from index.segments import (SegmentCache, field_terms, read_lengths, read_postings, read_segment,
                            shared_cache)
from index.schema import (BODY_BOOST, LEARNED_BOOST, TAGS_BOOST, TITLE_BOOST, body_field,
                          learned_field, title_field)

K1 = 1.2  # BM25 term-frequency saturation, shared by all fields
LEARNED_B = 0.75
CANDIDATES = 50  # stage one keeps this many per kind for stage two
COVERAGE_WEIGHT = 1.0  # stage two: how much covering more of the ticket's weight counts
LINK_TO_POLICY = 0.5  # share of a reply's score a policy it applies receives
LINK_TO_REPLY = 0.3  # share of a policy's score the replies applying it receive
LINKED_REPLIES = 10  # how many of the best replies lend their score to their policies
MAX_QUERY_TERMS = 400
# Segments of at most this many documents are read whole (a commit's own few documents). At 256,
# each merge of learned-text commits into a segment of tens to hundreds of documents was read
# whole by every worker's warm: up to ~290 ms of GIL-holding Python per view at 10k (40 commits
# in process, bench/README.md); at 16 the worst was 41-67 ms, the suggest after unchanged.
SMALL_SEGMENT = 16
# (field, term) pairs a new view reads ahead from the one it replaces. 0: only masks and norms.
# At 1,500 the read-ahead cut the suggest right after a commit from ~20 to ~6.6 ms of CPU in
# process, but under live HTTP load each worker warmed about once a second, and that busy
# thread held the GIL against the request threads: multi-second suggests (bench/README.md).
WARM_TERMS = 0
# Loanwords: customers write "refund", "password", "link" in Indonesian or Italian tickets where
# the library's translation says "pengembalian dana", "kata sandi", "tautan". A ticket word that
# no title or body of its language has is also looked up in the same snippets' English texts, and
# counts for them at this weight (nn dev Indonesian top-3 0.80 -> 0.89; 0.5: top-1 one less).
LOANWORD_WEIGHT = 1.0
# English documents at most that lend their words' score (the best ones): ~0.2 ms of CPU per
# non-English ticket in process on the demo library; nn dev the same at 10, 20 and 50.
LOANWORD_DOCS = 20
SYNONYM_WEIGHT = 0.5  # a synonym of a ticket term counts half as much as the term itself  # distinct terms kept from one ticket (in order of first appearance)
_NO_POSTINGS = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))


@dataclass(frozen=True)
class Hit:
    """A suggested snippet in one language."""

    key: str
    kind: str
    language: str
    score: float
    matched_terms: tuple[str, ...] = ()
    fallback: bool = False
    learned_from: int = 0  # tickets in the query's language this snippet was used for
    confidence: float = 0.0  # set by the server's final ranking (server/ranking.py)
    learned_score: float = 0.0  # the learner's probability for this snippet, when it has one
    phrases: tuple[str, ...] = ()  # ticket word pairs the snippet also has (server/ranking.py)
    wording: float = 0.0  # character n-gram likeness of the snippet to the ticket (server/ranking.py)

    def replaced(self, **changes) -> Hit:
        """A copy with ``changes``: ``dataclasses.replace`` without its frozen ``__init__``
        (~10x faster; a suggest re-scores ~100 hits). Only fields may change."""
        unknown = changes.keys() - self.__dataclass_fields__.keys()
        if unknown:
            raise TypeError(f"Hit has no field {', '.join(sorted(unknown))}")
        out = object.__new__(Hit)
        out.__dict__.update(self.__dict__, **changes)
        return out


@dataclass(frozen=True)
class SearchHit:
    """A manual-search result with highlighted fragments."""

    key: str
    kind: str
    language: str
    score: float
    title: str
    tags: tuple[str, ...]
    # Each fragment is a list of (text, is_match) segments, so clients can mark matches
    # without ever parsing HTML.
    title_fragments: list = field(default_factory=list)
    body_fragments: list = field(default_factory=list)


class _SegmentsFormatter(highlight.Formatter):
    """Formats highlights as lists of ``(text, is_match)`` segments instead of HTML."""

    def format_fragment(self, fragment, replace=False):
        segments, index, text = [], fragment.startchar, fragment.text
        for token in fragment.matches:
            if token.startchar < index:
                continue
            if token.startchar > index:
                segments.append((text[index:token.startchar], False))
            segments.append((text[token.startchar:token.endchar], True))
            index = token.endchar
        if index < fragment.endchar:
            segments.append((text[index:fragment.endchar], False))
        return segments

    def format(self, fragments, replace=False):
        return [self.format_fragment(f) for f in fragments]


class _Readers:
    """Whoosh segment readers shared by the views of one index: one opened reader per segment.

    Opening a segment reader reads its term table, and its first stored-fields read loads the
    segment's offsets: 10-20 ms per segment at 10k snippets, paid by the first query after
    every commit when each view opened its own. A segment's files never change; only its
    deletions do, and those travel in the segment objects of each table of contents. So a new
    view takes the opened parts and gives them its own segment objects.
    """

    def __init__(self) -> None:
        self.io = threading.Lock()  # the shared readers share file handles: one reader at a time
        self._lock = threading.Lock()
        self._open: dict[str, SegmentReader] = {}

    def _reader(self, ix, toc, segment) -> SegmentReader:
        base = self._open.get(segment.segment_id())
        if base is None:
            base = SegmentReader(ix.storage, toc.schema, segment, generation=toc.generation)
        reader = copy.copy(base)
        reader._segment, reader._gen = segment, toc.generation
        reader.__dict__.pop("deleted_docs_set", None)  # Whoosh caches the deletions it filters with
        reader._perdoc = copy.copy(base._perdoc)  # shares its column readers; deletions from ``segment``
        reader._perdoc._segment = segment
        return reader

    def searcher(self, ix) -> Searcher:
        """A Whoosh searcher over the index's latest table of contents."""
        def open_all(toc):
            with self._lock:
                readers = [self._reader(ix, toc, segment) for segment in toc.segments]
                # Segments merged away leave the pool; views still using them keep them open.
                self._open = {r.segment().segment_id(): r for r in readers}
            return toc, readers

        toc, readers = on_latest_toc(ix, open_all)
        if not readers:
            return Searcher(EmptyReader(toc.schema), fromindex=ix)
        reader = readers[0] if len(readers) == 1 else MultiReader(readers, generation=toc.generation)
        return Searcher(reader, fromindex=ix)


class _View:
    """One opened searcher: segment-derived data from the shared cache, with its deletions applied.

    What is derived from one segment comes from the process's :class:`SegmentCache`, so a
    commit only costs what its new segment adds. What depends on the whole generation (the
    live-document mask, arrays concatenated over segments, field totals) is built here,
    lazily, and dropped with the view.
    """

    _serials = itertools.count(1)

    def __init__(self, ix, index: str, cache: SegmentCache, readers: "_Readers") -> None:
        self.serial = next(self._serials)
        self.searcher = readers.searcher(ix)
        self.size = self.searcher.doc_count_all()
        self.leaves = [(s.reader(), offset) for s, offset in self.searcher.leaf_searchers()
                       if s.reader().doc_count_all()]
        self.lock = readers.io  # Whoosh readers share file handles: one reader at a time
        self.cache = cache
        self._segments = [(index, reader.segment().segment_id()) for reader, _ in self.leaves]
        self._offsets = [offset for _, offset in self.leaves]
        # Deletions as a mask over this generation (the segments' own cached data keeps them).
        self.live = np.ones(self.size, dtype=bool)
        self._deleted: list[np.ndarray] = []
        for reader, offset in self.leaves:
            deleted = np.fromiter(reader.segment().deleted_docs(), dtype=np.int64)
            self._deleted.append(deleted)
            self.live[deleted + offset] = False
        self._postings: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        self._postings_bytes = 0
        self._lengths: dict[str, np.ndarray] = {}
        self._masks: dict[tuple[str, str], np.ndarray] = {}
        self._field_totals: dict[str, float] = {}
        self._norms: dict[tuple, np.ndarray] = {}
        self._searchable: int | None = None
        self._hit_rows: dict[int, dict] = {}  # docnum -> hit_fields, for this view's life
        self.languages = self._lexicon("language")
        cache.retain(index, {segid for _, segid in self._segments})

    def prefetch(self, older: "_View | None") -> None:
        """Read what the first queries on this view would: what ``older`` had read, most recent first."""
        for lang in self.languages:
            self.mask("language", lang)
            self.mask("langs", lang)
        for key in ("is_default", "1"), ("kind", "policy"), ("kind", "reply"), ("kind", "state"):
            self.mask(*key)
        self.searchable()
        if older is None or not WARM_TERMS:
            return
        for fieldname, term in list(older._postings)[-WARM_TERMS:]:
            self.postings(fieldname, term)
        for fieldname, b, _ in list(older._norms):
            for lang in self.languages:
                self.norms(fieldname, b, max(int(self.mask("language", lang).sum()), 1))

    def close(self) -> None:
        """Nothing to release: the segment readers belong to the searcher's pool, shared with newer views."""

    def _lexicon(self, fieldname: str) -> list[str]:
        with self.lock:
            return [t.decode() if isinstance(t, bytes) else t
                    for t in self.searcher.reader().lexicon(fieldname)]

    def _read(self, read, *args):
        with self.lock:
            return read(*args)

    def _segment_postings(self, i: int, fieldname: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        reader = self.leaves[i][0]
        if reader.doc_count_all() <= SMALL_SEGMENT:  # a commit's few documents: read at once
            whole = self.cache.get((self._segments[i], "all"), lambda: self._read(read_segment, reader))
            return whole.get((fieldname, term), _NO_POSTINGS)
        # Most ticket terms are absent from some fields: the segment's term set answers that
        # without a lookup in Whoosh's term table per term and field.
        if term not in self.cache.get((self._segments[i], "terms", fieldname),
                                      lambda: self._read(field_terms, reader, fieldname)):
            return _NO_POSTINGS
        return self.cache.get((self._segments[i], "postings", fieldname, term),
                              lambda: self._read(read_postings, reader, fieldname, term))

    def postings(self, fieldname: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """Document numbers (sorted) and term frequencies of one term in one field (live documents)."""
        cached = self._postings.get((fieldname, term))
        if cached is not None:
            return cached
        ids, freqs = [], []
        for i, offset in enumerate(self._offsets):
            seg_ids, seg_tf = self._segment_postings(i, fieldname, term)
            if not len(seg_ids):
                continue
            if len(self._deleted[i]):
                keep = self.live[seg_ids + offset]
                seg_ids, seg_tf = seg_ids[keep], seg_tf[keep]
            ids.append(seg_ids + offset if offset else seg_ids)
            freqs.append(seg_tf)
        if len(ids) == 1:
            result = (ids[0], freqs[0])
        elif ids:
            result = (np.concatenate(ids), np.concatenate(freqs))
        else:
            result = _NO_POSTINGS
        # Kept for this view's life unless it would grow past a share of the budget: a view
        # lives until the next commit, and each query asks for its terms several times.
        if self._postings_bytes < self.cache.budget // 4:
            self._postings[(fieldname, term)] = result
            self._postings_bytes += result[0].nbytes + result[1].nbytes
        return result

    def mask(self, fieldname: str, term: str) -> np.ndarray:
        """A boolean array: which documents carry this (exact) term."""
        cached = self._masks.get((fieldname, term))
        if cached is None:
            cached = np.zeros(self.size, dtype=bool)
            cached[self.postings(fieldname, term)[0]] = True
            self._masks[(fieldname, term)] = cached
        return cached

    def _all_lengths(self, fieldname: str) -> np.ndarray:
        lengths = self._lengths.get(fieldname)
        if lengths is None:
            parts = [self.cache.get((self._segments[i], "lengths", fieldname),
                                    lambda r=reader: self._read(read_lengths, r, fieldname))
                     for i, (reader, _) in enumerate(self.leaves)]
            lengths = np.concatenate(parts) if parts else np.zeros(self.size, dtype=np.float32)
            self._lengths[fieldname] = lengths
        return lengths

    def lengths(self, fieldname: str, ids: np.ndarray) -> np.ndarray:
        """Field lengths (in tokens) of the given documents."""
        return self._all_lengths(fieldname)[ids]

    def searchable(self) -> int:
        """Live documents other than the state document: every document a posting can name."""
        if self._searchable is None:
            self._searchable = int(self.live.sum()) - int(self.mask("kind", "state").sum())
        return self._searchable

    def norms(self, fieldname: str, b: float, n_docs: int) -> np.ndarray:
        """BM25's length normalisation of every document for one field: ``K1 * (1 - b + b * len / avg)``."""
        key = (fieldname, b, n_docs)
        cached = self._norms.get(key)
        if cached is None:
            avg = max(self.field_total(fieldname) / n_docs, 1.0)
            cached = self._norms[key] = K1 * (1.0 - b + b * self._all_lengths(fieldname) / avg)
        return cached

    def field_total(self, fieldname: str) -> float:
        """Total tokens of a field over the live documents of the index.

        Whoosh's own total still counts deleted documents until their segment is merged, and
        every re-index deletes; left in, the average length would drift with commit history.
        """
        total = self._field_totals.get(fieldname)
        if total is None:
            lengths = self._all_lengths(fieldname)
            total = 0.0
            for (reader, offset), deleted in zip(self.leaves, self._deleted):
                total += reader.field_length(fieldname)
                total -= float(lengths[deleted + offset].astype(np.float64).sum())
            self._field_totals[fieldname] = total
        return total

    def stored(self, docnum: int) -> dict:
        """A document's stored fields."""
        i = bisect.bisect_right(self._offsets, docnum) - 1
        reader, offset = self.leaves[i]
        return self.cache.get((self._segments[i], "stored", docnum - offset),
                              lambda: self._read(reader.stored_fields, docnum - offset))

    def hit_fields(self, docnum: int) -> dict:
        """The stored fields a suggestion reads (``HIT_FIELDS``), without the texts: ~1/10 of
        ``stored`` to cache, so a whole library's fit, and read ahead at start (index/prewarm.py).
        Kept by document number for the view's life too: a suggest reads ~50 (no lock, no LRU)."""
        found = self._hit_rows.get(docnum)
        if found is None:
            i = bisect.bisect_right(self._offsets, docnum) - 1
            reader, offset = self.leaves[i]
            found = self._hit_rows[docnum] = self.cache.get(
                (self._segments[i], "hit", docnum - offset), lambda: self._read(_hit_fields, reader, docnum - offset))
        return found


HIT_FIELDS = ("key", "kind", "language", "learned_counts", "policies")


def _hit_fields(reader, docnum: int) -> dict:
    doc = reader.stored_fields(docnum)
    return {name: doc[name] for name in HIT_FIELDS if name in doc}


def text_fields(lang: str) -> list[tuple[str, float, float]]:
    """The written fields of one language: (name, boost, BM25 b). Titles are short, so their
    length says little (low b); bodies vary from two lines to two pages."""
    return [(title_field(lang), TITLE_BOOST, 0.3), (body_field(lang), BODY_BOOST, 0.75),
            ("tag_terms", TAGS_BOOST, 0.0)]


def learned(lang: str) -> tuple[str, float, float]:
    """The learned-tickets field of one language: (name, boost, BM25 b)."""
    return (learned_field(lang), LEARNED_BOOST, LEARNED_B)


def query_weights(language: str, text: str, synonyms: list[list[str]] | None = None) -> dict[str, float]:
    """The ticket's analysed terms with their weights (a repeated word counts, sub-linearly).

    ``synonyms`` are groups of words meaning the same here ("parcel", "package"): a ticket
    term from a group brings the group's other terms in at ``SYNONYM_WEIGHT`` of its weight.
    """
    counts = Counter(analyze(language, text))
    items = list(counts.items())[:MAX_QUERY_TERMS]
    weights = {term: (1.0 + math.log(n)) * (KANA_WEIGHT if _is_kana(term) else 1.0) for term, n in items}
    for group in synonyms or ():
        terms = [t for word in group for t in _word_terms(language, word)]
        present = [weights[t] for t in terms if t in weights]
        if present:
            for term in terms:
                weights.setdefault(term, SYNONYM_WEIGHT * max(present))
    return weights


# Japanese bigrams of hiragana only ("した", "ませ", "てい") are mostly inflection and particles:
# every reply has them, yet a long ticket's many such terms outweighed its few words. They count
# at this share of a word (nn dev Japanese 0.69/0.86 -> 0.71/0.88, the same from 0.1 to 0.5). Not
# dropped: "どこ" (where) and "いつ" (when) are hiragana too (dropped, Japanese top-3 was 0.83).
KANA_WEIGHT = 0.5


def _is_kana(term: str) -> bool:
    """A term of hiragana only."""
    return "\u3041" <= term[0] <= "\u309f" and all("\u3041" <= c <= "\u309f" for c in term)


@functools.lru_cache(maxsize=8192)
def _word_terms(language: str, word: str) -> tuple[str, ...]:
    """A synonym's analysed terms: the same few words are analysed for every ticket otherwise."""
    return tuple(analyze(language, word))


def mark_present(postings: list[tuple[np.ndarray, np.ndarray]], docs: np.ndarray, matrix: np.ndarray) -> None:
    """Set ``matrix[t, c]`` where term ``t``'s postings hold ``docs[c]`` (a binary search of the
    documents in each term's sorted ids)."""
    for t, (ids, _) in enumerate(postings):
        if len(ids):
            pos = np.minimum(np.searchsorted(ids, docs), len(ids) - 1)
            matrix[t] |= ids[pos] == docs


class _Query:
    """One ticket's terms per language over one view.

    Scoring, re-ranking and matched terms walk the same terms × fields, one term at a time:
    at 100k snippets concatenating a field's postings per query (and ``np.add.at`` over them)
    cost more than a few array operations per term.
    """

    def __init__(self, view: _View, terms: dict[str, dict[str, float]]) -> None:
        self.view, self.terms = view, terms
        self._columns: dict[tuple[str, int], np.ndarray] = {}  # (lang, doc): its column of term_matrix
        # Ticket terms a document matched in its snippet's English text (loanwords): the ticket
        # language, and per document the indexes of those terms in its weights
        self.loan_lang: str | None = None
        self.loaned: dict[int, set[int]] = {}

    def postings(self, lang: str, fieldname: str) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each of ``lang``'s terms' postings in a field (doc ids, frequencies), in term order."""
        return [self.view.postings(fieldname, term) for term in self.terms[lang]]

    def term_matrix(self, lang: str, docs: np.ndarray) -> np.ndarray:
        """Which of the documents contain each of ``lang``'s terms: a terms × docs boolean matrix
        (a loanword counts where the snippet's English text has it).

        The snippet's own words only, not its learned tickets': those are the learner's evidence
        (server/learner.py), behind its per-snippet share. Counted here they lifted the coverage
        and the matched terms of any snippet someone had inserted, for generic words, outside
        that share, and ``why`` listed words the snippet does not have."""
        n_terms = len(self.terms[lang])
        # Re-ranking asks for the candidates, matched terms for the hits kept among them.
        new = np.array([d for d in dict.fromkeys(docs.tolist()) if (lang, d) not in self._columns], dtype=np.int64)
        if len(new):
            matrix = np.zeros((n_terms, len(new)), dtype=bool)
            for fieldname in (title_field(lang), body_field(lang), "tag_terms"):
                mark_present(self.postings(lang, fieldname), new, matrix)
            self._columns.update(((lang, d), matrix[:, c]) for c, d in enumerate(new.tolist()))
        if not len(docs):
            return np.zeros((n_terms, 0), dtype=bool)
        matrix = np.stack([self._columns[(lang, d)] for d in docs.tolist()], axis=1)
        if self.loaned and lang == self.loan_lang:
            for column, doc in enumerate(docs.tolist()):
                for t in self.loaned.get(doc, ()):
                    matrix[t, column] = True
        return matrix


class SnippetSearcher:
    """Thread-safe access to the current state of one on-disk index."""

    def __init__(self, path: str | Path, cache: SegmentCache | None = None) -> None:
        self.path = Path(path)
        self.cache = cache if cache is not None else shared_cache()
        self._lock = threading.Lock()
        self._ix = None
        self._view: _View | None = None
        self._readers = _Readers()
        self._warm_lock = threading.Lock()
        self._warming = 0  # the thread warming the next view, if any

    def close(self) -> None:
        """Release the open searcher."""
        with self._lock:
            if self._view:
                self._view.close()
            self._view = self._ix = None
            self._readers = _Readers()

    def view(self) -> _View:
        """The view of the latest committed index, reopened if a writer changed it.

        While :meth:`warm` prepares the next view (right after a commit), other threads keep
        the one they had for those few milliseconds rather than each reading the new one cold.
        """
        with self._lock:
            if self._ix is None:
                self._ix = open_index(self.path)
            view = self._view
            if view is not None:
                try:
                    fresh = view.searcher.up_to_date()
                except Exception:  # the index directory was replaced or removed
                    fresh = False
                if fresh or (self._warming and threading.get_ident() != self._warming):
                    return view
                # Not closed here: another thread may still be scoring with it. Dropping the
                # last reference closes its files.
                self._view = None
            self._view = self._open_view()
            return self._view

    def _open_view(self) -> _View:
        try:
            return _View(self._ix, str(self.path.resolve()), self.cache, self._readers)
        except Exception as exc:
            self._ix = None
            raise IndexUnavailable(f"cannot open the index in {self.path}: {exc}") from exc

    def warm(self) -> None:
        """After a commit: open the new view and read ahead what queries will want, off the request path."""
        with self._warm_lock:
            with self._lock:
                if self._ix is None or self._view is None:
                    return  # nothing served yet: the first query opens the index
                older = self._view
                try:
                    if older.searcher.up_to_date():
                        return
                except Exception:
                    return  # replaced or removed: the next query reopens (and reports) it
                self._warming = threading.get_ident()
            try:
                fresh = self._open_view()
                fresh.prefetch(older)
                with self._lock:
                    self._view = fresh
            finally:
                self._warming = 0

    def state_id(self) -> int:
        """An id of the index state the next query sees, unique in this process (for caches)."""
        return self.view().serial

    # -- suggestions ----------------------------------------------------------------------
    @staticmethod
    def _score(query: "_Query", lang: str, fields: list[tuple[str, float, float]],
               allowed: np.ndarray, scores: np.ndarray) -> None:
        """Add BM25 scores of ``lang``'s ticket terms in ``fields`` (name, boost, b) to ``scores``.

        One term after another, each with array arithmetic over its postings.
        """
        view = query.view
        weights = list(query.terms[lang].values())
        n_docs = max(int(allowed.sum()), 1)
        everyone = n_docs == view.searchable()  # e.g. one language: nothing to filter
        for fieldname, boost, b in fields:
            norms = view.norms(fieldname, b, n_docs) if b else None
            for (ids, tf), weight in zip(query.postings(lang, fieldname), weights):
                if not len(ids):
                    continue
                if not everyone:
                    ok = allowed[ids]
                    ids, tf = ids[ok], tf[ok]
                    if not len(ids):
                        continue
                d = len(ids)
                coef = np.float32(weight * boost * math.log(1.0 + (n_docs - d + 0.5) / (d + 0.5)))
                # A term's ids are distinct, so a fancy-indexed add is exact; term after term,
                # each document's float32 sum is the same as np.add.at over all terms at once
                # (which cost 4x more at 100k snippets).
                part = tf * coef  # in place from here: the same float32 operations, fewer arrays
                part *= K1 + 1.0
                below = norms[ids] if b else np.full(len(ids), K1, dtype=np.float32)
                below += tf
                part /= below
                scores[ids] += part

    def suggest(self, text: str, language: str, *, kinds: tuple[str, ...] = ("policy", "reply"),
                limit: int = 5, synonyms: dict[str, list[list[str]]] | None = None) -> dict[str, list[Hit]]:
        """The best snippets of each kind for a ticket's text, in ``language`` where possible.

        Snippets without a text in ``language`` compete in their default language.
        """
        view = self.view()
        result: dict[str, list[Hit]] = {kind: [] for kind in kinds}
        if view.size == 0:
            return result
        scores = np.zeros(view.size, dtype=np.float32)
        in_lang = view.mask("language", language)
        synonyms = synonyms or {}
        query = _Query(view, {language: query_weights(language, text, synonyms.get(language))})
        if in_lang.any():
            self._score(query, language, text_fields(language) + [learned(language)], in_lang, scores)
        # Fallback: the default-language document of every snippet lacking this language.
        fallback = view.mask("is_default", "1") & ~view.mask("langs", language)
        if fallback.any():
            # Tickets in this language that used such a snippet were learned in this language.
            self._score(query, language, [learned(language)], fallback, scores)
        for other in view.languages:
            allowed = fallback & view.mask("language", other)
            if other != language and allowed.any():
                query.terms[other] = query_weights(other, text, synonyms.get(other))
                self._score(query, other, text_fields(other), allowed, scores)
        if LOANWORD_WEIGHT and language != "en" and in_lang.any() and "en" in view.languages:
            self._loanwords(query, language, in_lang, scores)  # "refund" in an Indonesian ticket
        allowed = in_lang | fallback
        # Stage two, per kind, on the best candidates only.
        stage = {kind: self._rerank(query, scores, view.mask("kind", kind) & allowed)
                 for kind in ("policy", "reply")}
        self._link(view, stage, allowed)
        for kind in kinds:
            best = sorted(stage[kind].items(), key=lambda item: -item[1])[:limit + 5]
            hits = [(docnum, self._hit(view, docnum, score, language)) for docnum, score in best if score > 0]
            kept = sorted(hits, key=lambda item: (-item[1].score, item[1].key))[:limit]
            result[kind] = self._with_matched(query, kept)
        return result

    def _loanwords(self, query: "_Query", language: str, in_lang: np.ndarray, scores: np.ndarray) -> None:
        """Score the ticket words no text of ``language`` has on the same snippets' English texts."""
        view = query.view
        weights = query.terms[language]
        present = np.zeros(len(weights), dtype=bool)
        for fieldname in (title_field(language), body_field(language)):
            present |= np.array([len(ids) > 0 for ids, _ in query.postings(language, fieldname)], dtype=bool)
        english: dict[str, float] = {}
        origin: dict[str, int] = {}  # English term -> index of the ticket term it comes from
        for i, term in enumerate(weights):
            found = () if present[i] else _word_terms("en", term)
            if len(found) == 1 and found[0] not in english:
                english[found[0]], origin[found[0]] = weights[term], i
        if not english:
            return
        en_query = _Query(view, {"en": english})
        fields = text_fields("en")[:2]  # title and body: what the translation was written from
        en_scores = np.zeros(view.size, dtype=np.float32)
        self._score(en_query, "en", fields, view.mask("language", "en") & view.mask("langs", language), en_scores)
        docs = np.flatnonzero(en_scores)
        if not len(docs):
            return
        docs = docs[np.argsort(-en_scores[docs], kind="stable")[:LOANWORD_DOCS]]
        # Which English terms each of those documents has, in its title or body.
        matrix = np.zeros((len(english), len(docs)), dtype=bool)
        for fieldname, _, _ in fields:
            mark_present(en_query.postings("en", fieldname), docs, matrix)
        terms = [origin[t] for t in english]
        query.loan_lang = language
        for column, doc in enumerate(docs.tolist()):
            for target in view.postings("key", view.hit_fields(doc)["key"])[0].tolist():
                if in_lang[target]:  # the same snippet's document in the ticket's language
                    scores[target] += LOANWORD_WEIGHT * en_scores[doc]
                    query.loaned.setdefault(target, set()).update(
                        terms[t] for t in np.flatnonzero(matrix[:, column]).tolist())

    def _rerank(self, query: "_Query", scores: np.ndarray, kind_mask: np.ndarray) -> dict[int, float]:
        """The best candidates of one kind, re-scored by how much of the ticket they cover."""
        view = query.view
        kind_scores = np.where(kind_mask, scores, 0.0)
        positive = int(np.count_nonzero(kind_scores))
        if not positive:
            return {}
        keep = min(CANDIDATES, positive)
        candidates = np.sort(np.argpartition(-kind_scores, keep - 1)[:keep])
        final = kind_scores[candidates].astype(np.float64)
        for lang, weights in query.terms.items():
            in_lang = view.mask("language", lang)[candidates]
            if not in_lang.any() or not weights:
                continue
            matrix = query.term_matrix(lang, candidates[in_lang])
            w = np.fromiter(weights.values(), dtype=np.float64, count=len(weights))
            final[in_lang] *= 1.0 + COVERAGE_WEIGHT * (w @ matrix) / w.sum()
        return dict(zip(candidates.tolist(), final.tolist()))

    def _hit(self, view: _View, docnum: int, score: float, language: str) -> Hit:
        """A hit without its matched terms (``_with_matched`` adds them to the hits kept)."""
        doc = view.hit_fields(docnum)
        counts = dict(item.split(":") for item in doc.get("learned_counts", "").split(",") if item)
        return Hit(key=doc["key"], kind=doc["kind"], language=doc["language"], score=round(score, 4),
                   fallback=doc["language"] != language, learned_from=int(counts.get(language, 0)))

    @staticmethod
    def _with_matched(query: "_Query", hits: list[tuple[int, Hit]]) -> list[Hit]:
        """The hits with the ticket terms each contains, one term matrix per language."""
        out = {}
        for lang in dict.fromkeys(hit.language for _, hit in hits):
            weights = query.terms.get(lang, {})
            group = [(docnum, hit) for docnum, hit in hits if hit.language == lang]
            matrix = query.term_matrix(lang, np.array([d for d, _ in group], dtype=np.int64))
            names = list(weights)
            for column, (docnum, hit) in enumerate(group):  # (indexes, not a walk over numpy booleans)
                out[docnum] = hit.replaced(matched_terms=tuple(names[t] for t in np.flatnonzero(matrix[:, column]).tolist()))
        return [out[docnum] for docnum, _ in hits]

    def _link(self, view: _View, stage: dict[str, dict[int, float]], allowed: np.ndarray) -> None:
        """Let the best replies and the policies they apply lift each other.

        A reply that fits the ticket is evidence for its policies (and the only evidence when
        the ticket's language has replies but no policy text), and a fitting policy is
        evidence for the replies that apply it.
        """
        policies, replies = stage["policy"], stage["reply"]
        is_policy = view.mask("kind", "policy")
        lift: dict[int, float] = {}
        for docnum, score in sorted(replies.items(), key=lambda item: -item[1])[:LINKED_REPLIES]:
            linked = [pdoc for key in view.hit_fields(docnum).get("policies", "").split(",") if key
                      for pdoc in view.postings("key", key)[0].tolist()
                      if allowed[pdoc] and is_policy[pdoc]]
            best_policy = max((policies.get(pdoc, 0.0) for pdoc in linked), default=0.0)
            replies[docnum] = score + LINK_TO_REPLY * best_policy
            for pdoc in linked:
                lift[pdoc] = max(lift.get(pdoc, 0.0), score)
        for pdoc, score in lift.items():
            policies[pdoc] = policies.get(pdoc, 0.0) + LINK_TO_POLICY * score

    # -- manual search --------------------------------------------------------------------
    def search(self, text: str, *, language: str | None = None, kind: str | None = None,
               tag: str | None = None, limit: int = 10) -> list[SearchHit]:
        """Snippets matching a typed query (plain words, never query syntax), best first."""
        view = self.view()
        languages = [language] if language else view.languages
        clauses = []
        for lang in languages:
            for term in dict.fromkeys(analyze(lang, text)):
                clauses.append(query.Term(title_field(lang), term, boost=TITLE_BOOST))
                clauses.append(query.Term(body_field(lang), term, boost=BODY_BOOST))
        if not clauses:
            return []
        filters = [query.Term("kind", kind)] if kind else []
        if tag:
            filters.append(query.Term("tags", tag.lower()))
        if language:
            filters.append(query.Term("language", language))
        # scale: documents matching more of the words rank higher (coordination).
        q = query.Or(clauses, scale=0.9)
        with view.lock:
            results = view.searcher.search(q, limit=limit,
                                           filter=query.And(filters) if filters else None)
            results.formatter = _SegmentsFormatter()
            results.fragmenter = highlight.ContextFragmenter(maxchars=160, surround=40)
            hits = []
            for hit in results:
                lang = hit["language"]
                title_text = hit.get(title_field(lang), "")
                body_text = hit.get(body_field(lang), "")
                hits.append(SearchHit(
                    key=hit["key"], kind=hit["kind"], language=lang,
                    score=round(float(hit.score), 4), title=title_text,
                    tags=tuple(t for t in hit.get("tags", "").split(",") if t),
                    title_fragments=_highlight(hit, title_field(lang), title_text, top=1),
                    body_fragments=_highlight(hit, body_field(lang), body_text, top=2)))
        return hits


def _highlight(hit, fieldname: str, text: str, top: int) -> list:
    fragments = hit.highlights(fieldname, text=text, top=top)
    return [[list(segment) for segment in fragment] for fragment in fragments or []]
