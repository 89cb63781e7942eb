"""The suggest scorer over a real index: field statistics ignore deleted documents."""
from __future__ import annotations

from index.indexer import apply_changes, create_index
from index.searcher import SnippetSearcher


def snippet(key: str, body: str) -> dict:
    return {"key": key, "kind": "policy", "default_language": "en", "status": "published",
            "texts": {"en": {"title": key, "body": body}}, "tags": [], "policies": []}


def test_average_length_counts_only_live_documents(tmp_path):
    ix = create_index(tmp_path / "ix")
    apply_changes(ix, [snippet("a", "refund " * 50), snippet("b", "parcel lost")], 1)
    searcher = SnippetSearcher(tmp_path / "ix")
    before = searcher.view().field_total("body_en")
    # Rewriting "a" many times leaves deleted copies behind in unmerged segments.
    for version in range(2, 8):
        apply_changes(ix, [snippet("a", "refund " * 50)], version)
    view = searcher.view()
    assert before == 52
    # Whoosh keeps per-document lengths in one byte, so what is subtracted for a deleted copy
    # is approximate; counting the six stale copies would give ~352.
    assert abs(view.field_total("body_en") - 52) <= 10
    assert searcher.suggest("refund please", "en")["policy"][0].key == "a"
