"""The bulk segment writer writes the segment Whoosh's own writer writes, on real indexes."""
from __future__ import annotations

import random
import re
import subprocess
from collections import Counter

import pytest
from whoosh import index as whoosh_index
from whoosh.query import Term

from index.analyzers import SUPPORTED_LANGUAGES, _ascii_words, _rules, analyzer_for
from index.indexer import build_segment, open_index
from index.schema import build_schema
from index.searcher import SnippetSearcher
from index.segment_writer import BulkSegmentWriter, supports
from index.segments import SegmentCache
from server.follower import read_rebuilds
from server.process import BIN, _env
from tests.conftest import copy_demo_home
from tests.index.test_segment_cache import TICKETS, _snippets


def _library() -> list[dict]:
    """The demo library (five languages) plus what it lacks: learned text, odd tags, curly quotes."""
    snippets = _snippets()
    for n, snippet in enumerate(snippets[:40]):
        snippet["learned"] = {"en": [f"customer {n} can't find the order’s tracking link", "where is my parcel"]}
        snippet["tags"] = [*snippet["tags"], "Refund-Request", "refund-request"]  # repeated once lowercased
        snippet["index_token"] = f"tok{n}"
    snippets.append({"key": "reply/empty", "kind": "reply", "default_language": "en", "status": "published",
                     "texts": {"en": {"title": "The and of", "body": "Is it? ..."}}})  # only stop words
    return snippets


def _postings(reader, fieldname: str, text) -> list:
    """A term's postings as Whoosh's matcher reads them: (document, weight, value)."""
    m, out = reader.postings(fieldname, text), []
    while m.is_active():
        out.append((m.id(), m.weight(), m.value()))
        m.next()
    return out


def _segment_files(path) -> dict:
    """The files inside the index's one segment, by extension, and its recorded field lengths."""
    ix = open_index(path)
    (segment,) = ix._segments()
    compound = segment.open_compound_file(ix.storage)
    try:
        files = {name.split(".", 1)[1]: compound.open_file(name).read() for name in compound.list()}
    finally:
        compound.close()
    return {"files": files, "field_lengths": segment._fieldlengths, "documents": segment.doc_count_all()}


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """The same documents written by Whoosh's writer and by the bulk writer."""
    root = tmp_path_factory.mktemp("writers")
    snippets = _library()
    for bulk in (False, True):
        build_segment(root / f"bulk-{bulk}", snippets, (7, "token"), bulk=bulk)
    return root / "bulk-False", root / "bulk-True"


def test_the_bulk_writer_writes_whooshs_files_byte_for_byte(both):
    whoosh_made, bulk_made = (_segment_files(path) for path in both)
    assert whoosh_made["documents"] == bulk_made["documents"] > 300
    assert bulk_made["field_lengths"] == whoosh_made["field_lengths"]
    assert set(bulk_made["files"]) == set(whoosh_made["files"]) >= {"trm", "pst", "_stored.col", "rev.col"}
    for name, content in whoosh_made["files"].items():
        assert bulk_made["files"][name] == content, name


def test_whoosh_reads_the_bulk_segment_back_and_it_ranks_the_same(both):
    readers = [whoosh_index.open_dir(str(path)).reader() for path in both]
    try:
        expected, got = readers
        terms = list(expected.all_terms())
        assert list(got.all_terms()) == terms and len(terms) > 2000
        for fieldname, text in terms:
            assert _postings(got, fieldname, text) == _postings(expected, fieldname, text), (fieldname, text)
        for docnum in range(expected.doc_count_all()):
            assert got.stored_fields(docnum) == expected.stored_fields(docnum)
            for fieldname in ("title_en", "body_it", "body_ja", "learned_en", "tag_terms"):
                assert got.doc_field_length(docnum, fieldname) == expected.doc_field_length(docnum, fieldname)
        with whoosh_index.open_dir(str(both[1])).searcher() as searcher:
            hits = searcher.search(Term("body_en", analyzer_for("en")("refunds", mode="query").__next__().text))
            assert len(hits) > 3
    finally:
        for reader in readers:
            reader.close()
    rankings = []
    for path in both:
        searcher = SnippetSearcher(path, cache=SegmentCache())
        try:
            rankings.append([searcher.suggest(text, lang, limit=8) for lang, text in TICKETS])
        finally:
            searcher.close()
    assert rankings[1] == rankings[0] and all(rankings[0])


def test_the_bulk_writer_keeps_whooshs_weights_for_boosted_fields(tmp_path):
    schema = build_schema()
    assert supports(schema)
    paths = []
    for bulk in (False, True):
        path = tmp_path / f"boost-{bulk}"
        path.mkdir()
        ix = whoosh_index.create_in(str(path), schema)
        writer = BulkSegmentWriter(ix) if bulk else ix.writer()
        writer.add_document(doc_id="a", title_en="refund refund late", body_en="late parcel", _title_en_boost=2.5)
        writer.add_document(doc_id="b", title_en="refund", tags="x,y", _boost=0.5)
        writer.commit(merge=False)
        paths.append(path)
    with whoosh_index.open_dir(str(paths[0])).reader() as a, whoosh_index.open_dir(str(paths[1])).reader() as b:
        for term in a.all_terms():
            assert _postings(b, *term) == _postings(a, *term), term
        assert [(d, w) for d, w, _ in _postings(b, "title_en", "refund")] == [(0, 5.0), (1, 0.5)]


def test_the_bulk_writer_refuses_what_it_cannot_write(tmp_path):
    ix = whoosh_index.create_in(str(tmp_path), build_schema())
    writer = BulkSegmentWriter(ix)
    try:
        with pytest.raises(NotImplementedError):
            writer.delete_document(0)
    finally:
        writer.cancel()


def test_term_counts_are_the_analyzers_own_tokens():
    """The writer's input (``term_counts``, the ASCII word scan) agrees with the analyzer chain."""
    rng = random.Random(10)
    pieces = ["order", "orders", "l'ordine", "customer's", "don't", "__init__", "snake_case", "x_", "Refund",
              "RÉSUMÉ", "ﬁne", "注文をキャンセル", "ｶﾞ", "الطلبات", "pesanan", "mengirim", "12", "٣٤", "'", "’", "-",
              "\u00ad", "a" * 70, " ", "\n", ",", "?"]
    texts = ["".join(rng.choice(pieces) + rng.choice(["", " "]) for _ in range(rng.randint(0, 30)))
             for _ in range(300)]
    ascii_alphabet = "ab_'9 Z-.\n\t__''x1"
    ascii_texts = ["".join(rng.choice(ascii_alphabet) for _ in range(rng.randint(0, 40))) for _ in range(500)]
    for lang in (*SUPPORTED_LANGUAGES, "xx"):
        analyzer = analyzer_for(lang)
        for text in texts + ascii_texts:
            chain = Counter(t.text for t in analyzer(text, mode="index", positions=True))  # the filter chain
            assert analyzer.term_counts(text) == chain, (lang, text)
        for text in ascii_texts + [t for t in texts if t.isascii()]:
            assert _ascii_words(lang).findall(text) == _rules(lang)[0].findall(text), (lang, text)


def test_a_cli_rebuild_in_two_processes_shows_progress_and_ranks_like_one(demo_template, tmp_path):
    """The real CLI forks its build processes; the result ranks exactly like a one-process build."""
    rankings = []
    for procs in ("2", "1"):
        home = copy_demo_home(demo_template, tmp_path / f"home-{procs}")
        result = subprocess.run([str(BIN / "flask"), "--app", "server", "index", "rebuild", "--procs", procs],
                                env=_env(home, None), capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        total = result.stdout.strip().splitlines()[-1]
        assert total.startswith("indexed ") and "indexing" in result.stderr
        done = re.findall(r"(\d+)/(\d+) \[", result.stderr)  # tqdm's bar: "123/345 [00:01<..."
        assert done and done[-1][0] == done[-1][1] and int(done[-1][1]) > 100
        last = read_rebuilds(home / "index")["last"]
        # The CLI has one thread (no learner training beside it), so its build processes fork.
        assert (last["procs"], last["start_method"]) == ((2, "fork") if procs == "2" else (1, "none"))
        searcher = SnippetSearcher(home / "index", cache=SegmentCache())
        try:
            rankings.append((total, [searcher.suggest(text, lang, limit=8) for lang, text in TICKETS]))
        finally:
            searcher.close()
    assert rankings[0] == rankings[1]
