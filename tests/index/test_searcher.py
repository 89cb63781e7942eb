"""The suggest scorer over a real index: field statistics ignore deleted documents."""
from __future__ import annotations

import dataclasses

import pytest

from index.indexer import apply_changes, create_index
from index.searcher import Hit, SnippetSearcher


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


def test_a_replaced_hit_equals_dataclasses_replace_and_refuses_unknown_fields():
    hit = Hit(key="reply/a", kind="reply", language="en", score=1.5, matched_terms=("refund",))
    changed = hit.replaced(score=2.0, wording=0.3)
    assert changed == dataclasses.replace(hit, score=2.0, wording=0.3) and hit.score == 1.5
    assert hash(changed) == hash(dataclasses.replace(hit, score=2.0, wording=0.3))
    with pytest.raises(TypeError):
        hit.replaced(scor=2.0)
