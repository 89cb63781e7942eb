"""A bulk segment writer for rebuilds: the same Whoosh segment, without Whoosh's per-posting Python.

Whoosh's ``SegmentWriter`` sends every posting through a tuple, a sortable pool (sorted and
merged at commit) and ``add_posting`` with its type checks, one Python call per step: nine
tenths of a rebuild's CPU. Here each field's postings are gathered per term in plain lists
while documents are added (they arrive in document order, so nothing needs sorting but the
term list), and written at commit as whole blocks through Whoosh's own postings writer,
term table and per-document writer. The files are Whoosh's codec (W3) byte for byte: the
segment is opened by ``whoosh.index.open_dir`` and our searcher like any other
(tests/index/test_segment_writer.py compares both writers' files).

Analysis stays the fields' own: each value goes through ``field.analyzer`` exactly as
``Frequency``/``Existence.word_values`` would run it; only the bookkeeping around it differs.
A schema with other formats (positions, vectors, spelling) is refused: use Whoosh's writer.
"""
from __future__ import annotations

from array import array
from itertools import chain, repeat
from operator import sub

import numpy as np

from whoosh import formats
from whoosh.analysis.acore import entoken
from whoosh.codec.whoosh3 import W3PostingsWriter
from whoosh.compat import text_type
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.system import pack_uint
from whoosh.writing import SegmentWriter

_FAST_FORMATS = (formats.Frequency, formats.Existence)
MEMO_VALUES = 100_000  # short field values (ids, tags, languages) whose analysis is remembered
MEMO_CHARS = 200


def supports(schema) -> bool:
    """Whether every indexed field of ``schema`` can be written by :class:`BulkSegmentWriter`."""
    for _, field in schema.items():
        if not field.indexed:
            continue
        if type(field.format) not in _FAST_FORMATS or field.vector or field.separate_spelling():
            return False
    return True


class _BlockPostingsWriter(W3PostingsWriter):
    """Whoosh's postings writer, fed a whole block at a time."""

    def add_block(self, ids: list[int], weights: list[float], values: bytes | None,
                  lengths: list, last: bool) -> None:
        """Write one block of postings exactly as ``add_posting`` per posting would have."""
        self._ids = array("I", ids)
        self._weights = array("f", weights)
        self._values = [values] if values else []
        top = max(weights)
        self._maxweight = top if top > 0 else 0
        present = [n for n in lengths if n]
        self._minlength = min(present) if present else None
        self._maxlength = max(present) if present else 0
        self._write_block(last=last)

    def _mini_ids(self):
        ids = self._ids
        return tuple(map(sub, ids, chain((0,), ids)))  # delta_encode, at C speed

    def _mini_weights(self):
        weights = self._weights
        if weights.count(1.0) == len(weights):
            return None
        if weights.count(weights[0]) == len(weights):
            return weights[0]
        return tuple(weights)


class _FieldPostings:
    """One field's postings as flat arrays (term number, document, count), in document order."""

    def __init__(self) -> None:
        self.numbers: dict[str, int] = {}
        self.terms = array("I")
        self.docs = array("I")
        self.freqs = array("I")

    def add(self, docnum: int, counts: dict[str, int]) -> None:
        """Add one document's terms and counts (a handful of C-level calls, not one per term)."""
        numbers = self.numbers
        new = set(counts).difference(numbers)  # (not keys() - keys(): that walks all of numbers)
        if new:
            numbers.update(zip(new, range(len(numbers), len(numbers) + len(new))))
        self.terms.extend(map(numbers.__getitem__, counts))
        self.docs.extend(repeat(docnum, len(counts)))
        self.freqs.extend(counts.values())

    def by_term(self):
        """``(term, documents, counts)`` of every term in term order, documents ascending."""
        terms = np.frombuffer(self.terms, dtype=np.uint32)
        order = np.argsort(terms, kind="stable")  # stable: each term's documents stay ascending
        docs = np.frombuffer(self.docs, dtype=np.uint32)[order].tolist()
        freqs = np.frombuffer(self.freqs, dtype=np.uint32)[order].tolist()
        ends = np.cumsum(np.bincount(terms, minlength=len(self.numbers))).tolist()
        for text, number in sorted(self.numbers.items()):
            start = ends[number - 1] if number else 0
            yield text, docs[start:ends[number]], freqs[start:ends[number]]


class BulkSegmentWriter(SegmentWriter):
    """A ``SegmentWriter`` for new documents only (no merges, deletions or updates)."""

    def __init__(self, ix, **kwargs) -> None:
        super().__init__(ix, **kwargs)
        if not supports(self.schema):
            self.cancel()
            raise ValueError("this schema has fields the bulk writer can't write")
        self._postings: dict[str, _FieldPostings] = {}
        self._memo: dict[str, dict[str, dict[str, int]]] = {}  # field -> short value -> term counts
        self._lengths: dict[str, dict[int, int]] = {}  # field -> docnum -> length as stored
        self._weights: dict[str, dict[tuple, float]] = {}  # field -> (term, docnum) -> weight, if not the frequency

    def add_document(self, **fields) -> None:
        """Add one document (the same fields and options as Whoosh's ``add_document``)."""
        self._check_state()
        perdocwriter = self.perdocwriter
        schema = self.schema
        docnum = self.docnum
        docboost = self._doc_boost(fields)
        fieldnames = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(schema, fieldnames)
        perdocwriter.start_doc(docnum)
        try:
            for fieldname in fieldnames:
                value = fields.get(fieldname)
                if value is None:
                    continue
                field = schema[fieldname]
                length = 0
                if field.indexed:
                    length = self._index(fieldname, field, value, docnum,
                                         self._field_boost(fields, fieldname, docboost))
                customval = fields.get("_stored_%s" % fieldname, value)
                perdocwriter.add_field(fieldname, field, customval if field.stored else None, length)
                if field.column_type and customval is not None:
                    perdocwriter.add_column_value(fieldname, field.column_type, field.to_column_value(customval))
        except Exception:
            perdocwriter.cancel_doc()
            raise
        perdocwriter.finish_doc()
        self._added = True
        self.docnum += 1

    def _index(self, fieldname: str, field, value, docnum: int, fieldboost: float) -> int:
        """Add one field value's postings; return the field length to record (0: not scorable)."""
        if not isinstance(value, (text_type, list, tuple)):
            raise ValueError("%r is not unicode or sequence" % value)
        fmt = field.format
        existence = type(fmt) is formats.Existence
        analyzer = field.analyzer
        boosted = False
        memo = self._memo.setdefault(fieldname, {})
        counts = memo.get(value) if isinstance(value, text_type) else None
        if counts is not None:
            pass
        elif isinstance(value, text_type) and hasattr(analyzer, "term_counts"):
            counts = analyzer.term_counts(value)  # our analyzers: no token boosts
        else:
            tokens = analyzer(value, mode="index", boosts=True) if isinstance(value, text_type) \
                else entoken(value, mode="index", boosts=True)
            counts = {}
            for t in tokens:
                if not t.stopped:
                    counts[t.text] = counts.get(t.text, 0) + 1
                    boosted = boosted or t.boost != 1.0
            if isinstance(value, text_type) and not boosted and len(value) <= MEMO_CHARS:
                if len(memo) >= MEMO_VALUES:
                    memo.clear()
                memo[value] = counts
        if not counts:
            return 0
        if existence:  # a term is there or not
            counts = dict.fromkeys(counts, 1)
        postings = self._postings.get(fieldname)
        if postings is None:
            postings = self._postings[fieldname] = _FieldPostings()
        postings.add(docnum, counts)
        if boosted or fieldboost != 1.0 or fmt.field_boost != 1.0:
            # Whoosh's weight: (sum of token boosts) * format boost, then * field boost. The
            # usual one (no boosts) is the frequency, so only the others are kept.
            weights = {text: weight for text, _, weight, _ in fmt.word_values(value, analyzer, mode="index")}
            odd = self._weights.setdefault(fieldname, {})
            for text in counts:
                odd[text, docnum] = weights[text] * fieldboost
        if not field.scorable:
            return 0
        length = sum(counts.values())
        self._lengths.setdefault(fieldname, {})[docnum] = byte_to_length(length_to_byte(length))
        return length

    def add_reader(self, reader) -> None:
        raise NotImplementedError("the bulk writer writes new documents only")

    def delete_document(self, docnum, delete=True) -> None:
        raise NotImplementedError("the bulk writer writes new documents only")

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        writer = self.fieldwriter
        codec = self.codec
        for fieldname in sorted(self._postings):
            field = self.schema[fieldname]
            fixed = field.format.fixed_value_size()  # 4 for Frequency (the count), 0 for Existence
            lengths = self._lengths.get(fieldname, {})
            writer.start_field(fieldname, field)
            postings = writer._postwriter = _BlockPostingsWriter(
                writer._postfile, blocklimit=codec._blocklimit, compression=codec._compression,
                inlinelimit=codec._inlinelimit)
            limit = codec._blocklimit
            odd = self._weights.get(fieldname)
            for text, docs, freqs in self._postings[fieldname].by_term():
                writer.start_term(field.to_bytes(text))
                weights = list(map(float, freqs))
                if odd:
                    weights = [odd.get((text, d), w) for d, w in zip(docs, weights)]
                if len(docs) < codec._inlinelimit:  # Whoosh inlines short lists: its own path
                    for docnum, weight, freq in zip(docs, weights, freqs):
                        postings.add_posting(docnum, weight, _value(fixed, freq), lengths.get(docnum))
                else:
                    for start in range(0, len(docs), limit):
                        block = docs[start:start + limit]
                        values = b"".join(map(pack_uint, freqs[start:start + limit])) if fixed else None
                        postings.add_block(block, weights[start:start + limit], values,
                                           list(map(lengths.get, block)), start + limit >= len(docs))
                writer.finish_term()
            writer.finish_field()
        writer.close()
        self._postings.clear()


def _value(fixed: int, freq: int) -> bytes:
    return pack_uint(freq) if fixed else b""
