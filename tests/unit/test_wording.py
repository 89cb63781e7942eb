"""Character n-gram likeness (server/ranking.py): spelling-tolerant evidence for the cold ranking."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from index.searcher import Hit
from server.ranking import char_grams, wording_similarity, with_wording


def _snippet(title: str, body: str) -> dict:
    return {"texts": {"en": {"title": title, "body": body}}}


SNIPPETS = {
    "reply/subscription": _snippet("Cancel your subscription", "Your subscription stops renewing at the end of the period."),
    "reply/order": _snippet("Cancel an order", "We cancel the order before it ships and refund you."),
    "reply/preorder": _snippet("Cancel a pre-order", "A pre-order can be cancelled until it is released."),
}


def test_grams_are_within_words_and_a_short_word_counts_once():
    ids, tf = char_grams("ab ab")
    assert len(ids) == 3 and (tf > 1.0).all()  # " ab", "ab ", " ab ": twice each, counted sublinearly
    assert len(char_grams("a")[0]) == 1  # " a " only, not once per gram length
    assert len(char_grams("cat")[0]) == 3 + 2 + 1  # " ca", "cat", "at ", " cat", "cat ", " cat "


def test_a_misspelt_word_is_closest_to_the_text_spelt_right():
    pool = [f"{s['texts']['en']['title']}\n{s['texts']['en']['body']}" for s in SNIPPETS.values()]
    sims = wording_similarity("please cancel my subscribtion", pool, pool)
    assert sims[0] > max(sims[1:]) and all(0.0 <= s <= 1.0 for s in sims)
    assert wording_similarity("zzzz", pool, pool) == [0.0, 0.0, 0.0]


def test_wording_lifts_the_candidate_whose_spelling_fits_and_keeps_the_best():
    hits = [Hit(key="reply/order", kind="reply", language="en", score=10.0),
            Hit(key="reply/preorder", kind="reply", language="en", score=9.8),
            Hit(key="reply/subscription", kind="reply", language="en", score=9.5)]
    out = with_wording({"reply": hits}, "please cancel my subscribtion", SNIPPETS, keep=2)["reply"]
    # Only the best two are re-scored and kept; the third only weighs the grams (the pool).
    assert {h.key for h in out} == {"reply/order", "reply/preorder"}
    out = with_wording({"reply": hits}, "please cancel my subscribtion", SNIPPETS, keep=3)["reply"]
    assert out[0].key == "reply/subscription" and out[0].wording > out[1].wording
    assert all(h.score >= orig.score for h in out for orig in hits if orig.key == h.key)


def test_a_hit_without_text_in_the_store_keeps_its_score():
    hits = [Hit(key="reply/gone", kind="reply", language="en", score=3.0)]
    assert with_wording({"reply": hits}, "cancel", SNIPPETS, keep=10)["reply"][0].score == 3.0


@pytest.mark.parametrize("text", ["Reset your password", "I never got the code!!  a b", "注文をキャンセル したい",
                                  "إلغاء الطلب", "Non è ancora partito, ok?"])
def test_grams_are_scikit_learns_char_wb_3_5(text):
    expected = Counter(TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5)).build_analyzer()(text))
    ids, tf = char_grams(text)
    assert len(ids) == len(expected)
    assert sorted(np.round(tf, 4)) == sorted(np.round(1.0 + np.log(np.array(list(expected.values()), dtype=np.float32)), 4))
