"""The compact word pairs of the phrase step give exactly the frozenset intersections they replace."""
from __future__ import annotations

from index.analyzers import analyze
from server.phrasecache import text_pairs
from server.ranking import word_pairs
from tests.conftest import demo_lines


def _reference(query: frozenset, language: str, text: str) -> frozenset:
    return query & word_pairs(analyze(language, text))


def test_pairs_match_the_frozenset_intersection_for_every_demo_text():
    texts = [(line["language"], line["body"]) for line in demo_lines()]
    texts += [(lang, t["body"]) for line in demo_lines() for lang, t in (line.get("translations") or {}).items()]
    for q_lang, ticket in texts[::7]:
        query = word_pairs(analyze(q_lang, ticket))
        for lang, text in texts[::5]:
            assert query & text_pairs(lang, text) == _reference(query, lang, text)


def test_a_term_first_seen_after_the_query_was_numbered_still_counts():
    query = word_pairs(analyze("en", "zorblax quuxwidget arrived broken"))
    assert query & text_pairs("en", "nothing alike here") == frozenset()  # numbers the query now
    # A new text brings "zorblax" and "quuxwidget" into the vocabulary: the same query object must see them.
    assert query & text_pairs("en", "my zorblax quuxwidget broke") == _reference(query, "en", "my zorblax quuxwidget broke")
    assert query & text_pairs("en", "") == frozenset()


def test_an_edited_text_gets_its_own_pairs_and_an_empty_one_none():
    query = word_pairs(analyze("en", "the reset link never arrived in my inbox"))
    before = "Click the reset link in the email we sent."
    after = "Ask for a new code by text message."
    assert query & text_pairs("en", before) == _reference(query, "en", before) != frozenset()
    # Entries are keyed by a digest of the text: the edited text is analysed anew, not served the old pairs.
    assert query & text_pairs("en", after) == _reference(query, "en", after) == frozenset()
    assert query & text_pairs("en", before) == _reference(query, "en", before)
    assert query & text_pairs("ja", "") == frozenset()
