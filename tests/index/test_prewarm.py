"""Prewarming the search cache at start (index/prewarm.py): queries then read no postings from
Whoosh, rank exactly as a fresh index does, and the budget is kept."""
from __future__ import annotations

from index.indexer import apply_changes, create_index
from index.prewarm import prewarm
from index.searcher import SMALL_SEGMENT, SnippetSearcher
from index.segments import SegmentCache
from tests.index.test_segment_cache import _fresh, _rankings, _snippets


def _postings_read(cache: SegmentCache) -> set:
    """Postings of the written fields (titles, bodies, learned text, tags) in the cache."""
    return {key for key in cache._items
            if key[1] == "postings" and key[2].startswith(("title_", "body_", "learned_", "tag_"))}


def test_after_a_prewarm_queries_read_no_postings_and_rank_as_before(tmp_path):
    path = tmp_path / "ix"
    apply_changes(create_index(path), _snippets(), 1)
    cache = SegmentCache()
    searcher = SnippetSearcher(path, cache=cache)
    assert searcher.view().leaves[0][0].doc_count_all() > SMALL_SEGMENT  # a segment read term by term
    report = prewarm(searcher, 64 * 2**20)
    assert report["complete"] and report["terms"] > 100 and report["bytes"] > 0
    warmed = _postings_read(cache)
    hits = {key for key in cache._items if key[1] == "hit"}
    assert _rankings(searcher) == _fresh(path)
    assert _postings_read(cache) == warmed  # every term the tickets asked for was read already
    assert hits and {key for key in cache._items if key[1] in ("hit", "stored")} == hits  # and every hit's fields
    searcher.close()


def test_a_prewarm_stops_at_its_budget(tmp_path):
    path = tmp_path / "ix"
    apply_changes(create_index(path), _snippets(), 1)
    searcher = SnippetSearcher(path, cache=SegmentCache())
    report = prewarm(searcher, 4096)
    assert not report["complete"] and 4096 <= report["bytes"] < 64 * 1024
    assert _rankings(searcher) == _fresh(path)
    searcher.close()
