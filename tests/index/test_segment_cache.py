"""The per-segment cache across commits, deletions and merges: the same ranking as a fresh index.

Every step changes a real on-disk index the way the server does (new snippets, manager edits,
retirements, learned text, Whoosh's merges, a full rebuild); after each, a searcher that has
kept its cache across all of them must rank exactly like a searcher opened afresh with an
empty cache.
"""
from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from index.indexer import MERGE_FACTOR, apply_changes, assemble, build_segment, create_index, open_index, swap_in
from index.searcher import SnippetSearcher, _View
from index.segments import SegmentCache
from server.cli import DEMO_DIR

TICKETS = [
    ("en", "Hi, I ordered a coat yesterday. Can I still cancel it? It has not shipped."),
    ("en", "My parcel never arrived and the tracking number does not work, I want a refund"),
    ("en", "The promo code you sent me says it is invalid at checkout"),
    ("it", "Ho ordinato un cappotto ieri, posso ancora annullare l'ordine?"),
    ("ja", "注文をキャンセルしたいです。まだ発送されていません。"),
    ("en", "I forgot my password and cannot log in to see my order history"),
]


def _snippets() -> list[dict]:
    """The demo store's policies and replies as store rows (five languages)."""
    out = []
    for name in ("policies.jsonl", "replies.jsonl"):
        for line in (DEMO_DIR / name).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            texts = {item["language"]: {"title": item["title"], "body": item["body"]}}
            texts.update(item.get("translations") or {})
            out.append({"key": item["key"], "kind": item["kind"], "default_language": item["language"],
                        "status": "published", "texts": texts, "tags": item.get("tags") or [],
                        "policies": item.get("policies") or []})
    return out


def _rankings(searcher: SnippetSearcher) -> list:
    return [searcher.suggest(text, lang, limit=5) for lang, text in TICKETS]


def _fresh(path) -> list:
    searcher = SnippetSearcher(path, cache=SegmentCache())
    try:
        return _rankings(searcher)
    finally:
        searcher.close()


@pytest.fixture
def snippets():
    return _snippets()


def test_cache_ranks_like_a_fresh_index_across_commits_deletions_and_merges(tmp_path, snippets):
    path = tmp_path / "ix"
    ix = create_index(path)
    half = len(snippets) // 2
    apply_changes(ix, snippets[:half], 1)
    cache = SegmentCache()
    kept = SnippetSearcher(path, cache=cache)
    assert _rankings(kept) == _fresh(path)

    steps = [
        # a commit that adds a segment
        lambda: apply_changes(ix, snippets[half:], 2),
        # manager edits: old documents deleted in their segment, new ones in a new segment
        lambda: apply_changes(ix, [{**s, "texts": {**s["texts"], s["default_language"]: {
            "title": s["texts"][s["default_language"]]["title"],
            "body": s["texts"][s["default_language"]]["body"] + " cancel refund parcel"}}}
            for s in snippets[::5]], 3),
        # retirements: deletions only
        lambda: apply_changes(ix, [{**s, "status": "archived"} for s in snippets[1::7]], 4),
        # learned text, committed as the background re-indexer does
        lambda: apply_changes(ix, [{**s, "learned": {"en": ["my coat has not shipped, cancel it please"]}}
                                   for s in snippets if s["kind"] == "reply"][:4], 5),
    ]
    seen_segments = set()
    for step in steps:
        step()
        seen_segments |= {segid for (_, segid) in kept.view()._segments}
        assert _rankings(kept) == _fresh(path)
    assert len(seen_segments) > 2, "the steps should have left several segments"
    misses_before = cache.stats()["misses"]
    assert _rankings(kept) == _fresh(path)
    assert cache.stats()["misses"] == misses_before  # the repeat read nothing again (the cache, the view's memos)

    # Whoosh merges everything into one new segment: the merged-away ones leave the cache.
    open_index(path).optimize()
    assert _rankings(kept) == _fresh(path)
    live = {segid for (_, segid) in kept.view()._segments}
    assert len(live) == 1 and not live & seen_segments
    assert {key[0][1] for key in cache._items} == live

    # A full rebuild: segments built aside, then swapped in under the live index's lock.
    build_segment(tmp_path / "part", snippets[:half], (6, ""))
    swap_in(path, assemble(tmp_path / "staging", [tmp_path / "part"]))
    assert _rankings(kept) == _fresh(path)
    assert not {segid for (_, segid) in kept.view()._segments} & live
    kept.close()


def test_postings_apply_deletions_like_whoosh(tmp_path, snippets):
    path = tmp_path / "ix"
    ix = create_index(path)
    apply_changes(ix, snippets, 1)
    apply_changes(ix, [{**s, "status": "archived"} for s in snippets[::3]], 2)
    searcher = SnippetSearcher(path, cache=SegmentCache())
    view = searcher.view()
    assert not view.live.all()
    for fieldname, term in [("body_en", "order"), ("body_en", "refund"), ("kind", "reply"),
                            ("language", "it"), ("title_en", "cancel")]:
        ids, freqs = view.postings(fieldname, term)
        m = view.searcher.postings(fieldname, term)  # Whoosh's own walk, deletions filtered
        expected = []
        while m.is_active():
            expected.append((m.id(), m.weight()))
            m.next()
        assert len(expected) > 0
        assert list(zip(ids.tolist(), freqs.tolist())) == expected
    for docnum in np.flatnonzero(view.live)[:20].tolist():
        assert view.stored(docnum) == view.searcher.stored_fields(docnum)
    searcher.close()


def test_a_tiny_budget_evicts_and_still_ranks_the_same(tmp_path, snippets):
    path = tmp_path / "ix"
    ix = create_index(path)
    apply_changes(ix, snippets, 1)
    cache = SegmentCache(budget_mb=0.02)
    small = SnippetSearcher(path, cache=cache)
    assert _rankings(small) == _fresh(path)
    stats = cache.stats()
    assert stats["evictions"] > 0 and stats["bytes"] <= stats["budget"] * 2
    small.close()


def test_threads_share_one_cache_while_commits_land(tmp_path, snippets):
    path = tmp_path / "ix"
    ix = create_index(path)
    apply_changes(ix, snippets, 1)
    shared = SnippetSearcher(path, cache=SegmentCache())
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            for _ in range(3):
                _rankings(shared)
        except BaseException as exc:  # reported below, with the thread's traceback lost otherwise
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for t in threads:
        t.start()
    for version in range(2, 5):  # commits while the threads score
        apply_changes(ix, snippets[::4], version)
    for t in threads:
        t.join()
    assert not errors
    assert _rankings(shared) == _fresh(path)
    shared.close()


def test_commits_merge_only_small_segments_and_warmed_views_rank_the_same(tmp_path, snippets):
    path = tmp_path / "ix"
    ix = create_index(path)
    apply_changes(ix, snippets, 1)  # one large segment, as a rebuild leaves
    large = {s.segment_id() for s in open_index(path)._read_toc().segments}
    kept = SnippetSearcher(path, cache=SegmentCache())
    _rankings(kept)
    replies = [s for s in snippets if s["kind"] == "reply"]
    for version in range(2, 2 + 2 * MERGE_FACTOR + 3):  # learned text, one commit at a time
        reply = replies[version % len(replies)]
        apply_changes(ix, [{**reply, "learned": {"en": [f"ticket {version}: my coat never came"]}}], version)
        kept.warm()
        assert kept.view() is kept._view  # warmed: the next query opens nothing
    segments = open_index(path)._read_toc().segments
    assert large <= {s.segment_id() for s in segments}  # never rewritten by a commit
    assert len(segments) < 2 * MERGE_FACTOR  # the small ones were merged
    assert _rankings(kept) == _fresh(path)
    kept.close()


def test_other_threads_keep_the_old_view_while_the_new_one_warms(tmp_path, snippets, monkeypatch):
    path = tmp_path / "ix"
    ix = create_index(path)
    apply_changes(ix, snippets, 1)
    kept = SnippetSearcher(path, cache=SegmentCache())
    old = kept.view()
    started, release = threading.Event(), threading.Event()
    prefetch = _View.prefetch

    def slow_prefetch(view, older):
        started.set()
        release.wait(30)
        prefetch(view, older)

    monkeypatch.setattr(_View, "prefetch", slow_prefetch)
    apply_changes(ix, snippets[:3], 2)
    warming = threading.Thread(target=kept.warm)
    warming.start()
    assert started.wait(30)
    assert kept.view() is old  # answered at once, from the previous state
    release.set()
    warming.join()
    assert kept.view() is not old and kept.view().searcher.up_to_date()
    assert _rankings(kept) == _fresh(path)
    kept.close()
