"""The cached, compact grams of the wording step give exactly the similarities they replace."""
from __future__ import annotations

import random

import numpy as np
import pytest

from index.searcher import Hit
from server import gramcache, ranking
from server.ranking import _count_grams, char_grams, wording_similarity, with_wording
from tests.conftest import demo_lines


def _reference(asked: str, docs: list[str], pool: list[str]) -> list[float]:
    """The wording step as it was before the cache: every text's grams counted, ``np.unique`` over the pool."""
    texts = list(dict.fromkeys(pool))
    grams = [char_grams(t) for t in texts]
    ids = np.concatenate([i for i, _ in grams])
    owner = np.repeat(np.arange(len(texts)), [len(i) for i, _ in grams])
    vocab, at, df = np.unique(ids, return_inverse=True, return_counts=True)
    idf = (np.log((1 + len(texts)) / (1 + df)) + 1.0).astype(np.float32)
    weights = np.concatenate([tf for _, tf in grams]) * idf[at]
    norms = np.sqrt(np.bincount(owner, weights * weights, minlength=len(texts)))
    q_ids, q_tf = char_grams(asked)
    where = np.minimum(np.searchsorted(vocab, q_ids), len(vocab) - 1)
    known = vocab[where] == q_ids
    query = np.zeros(len(vocab), dtype=np.float32)
    query[where[known]] = q_tf[known] * idf[where[known]]
    q_norm = float(np.sqrt(query @ query))
    if not q_norm:
        return [0.0] * len(docs)
    dots = np.bincount(owner, weights * query[at], minlength=len(texts))
    sims = dict(zip(texts, (dots / (np.where(norms > 0, norms, 1.0) * q_norm)).tolist()))
    return [sims.get(d, 0.0) for d in docs]


def _texts() -> list[str]:
    out = []
    for line in demo_lines():
        out.append(f"{line['title']}\n{line['body']}")
        out += [f"{t['title']}\n{t['body']}" for t in (line.get("translations") or {}).values()]
    return out


@pytest.mark.parametrize("one_pass", [0, 10**9])  # counted text by text / in one pass
def test_similarities_equal_the_uncached_computation_bit_for_bit(monkeypatch, one_pass):
    monkeypatch.setattr(ranking, "_ONE_PASS", one_pass)
    texts, rng = _texts(), random.Random(7)
    gramcache.clear()
    for round_ in range(60):
        pool = rng.sample(texts, rng.randint(1, 15))
        pool += pool[:2]  # a text twice counts once
        docs = pool[:10]
        asked = rng.choice(texts)[: rng.randint(20, 400)] + " pasword subscribtion"
        # Twice: the first fills the cache, the second reads it.
        assert wording_similarity(asked, docs, pool) == _reference(asked, docs, pool)
        assert wording_similarity(asked, docs, pool) == _reference(asked, docs, pool)
    assert gramcache.stats()["hits"] > 0


def test_a_snippet_edit_is_compared_by_its_new_text():
    before = {"texts": {"en": {"title": "Cancel an order", "body": "We cancel the order before it ships."}}}
    after = {"texts": {"en": {"title": "Cancel an order", "body": "Your subscription stops renewing."}}}
    other = {"texts": {"en": {"title": "Track a parcel", "body": "The courier's link shows where it is."}}}
    hits = [Hit(key="reply/a", kind="reply", language="en", score=1.0),
            Hit(key="reply/b", kind="reply", language="en", score=1.0)]
    ticket = "please stop my subscribtion renewing"
    old = with_wording({"reply": hits}, ticket, {"reply/a": before, "reply/b": other}, keep=2)["reply"]
    new = with_wording({"reply": hits}, ticket, {"reply/a": after, "reply/b": other}, keep=2)["reply"]
    wording = {h.key: h.wording for h in old}, {h.key: h.wording for h in new}
    assert wording[1]["reply/a"] > wording[0]["reply/a"]  # the edited text's grams, not the cached old ones
    text = "Cancel an order\nYour subscription stops renewing."
    cached = gramcache.text_grams(text, _count_grams)
    numbers, counts = _count_grams(text)
    assert (cached.vocabulary.by_id[cached.ids] == numbers).all() and (cached.counts == counts).all()


def test_a_vocabulary_that_starts_over_gives_the_same_similarities(monkeypatch):
    texts = _texts()[:12]
    gramcache.clear()
    expected = _reference("where is my parcel", texts[:5], texts)
    monkeypatch.setattr(gramcache, "MAX_GRAMS", 3_000)  # a few texts' grams: it starts over within the pool
    assert wording_similarity("where is my parcel", texts[:5], texts) == expected
    assert gramcache.stats()["grams"] <= 3_000
    gramcache.clear()


def test_the_cache_keeps_to_its_budget(monkeypatch):
    gramcache.clear()
    monkeypatch.setattr(gramcache, "BUDGET", 20_000)
    for n in range(40):
        gramcache.text_grams(f"text number {n} about refunds and parcels", _count_grams)
    stats = gramcache.stats()
    assert stats["bytes"] <= 20_000 and 0 < stats["texts"] < 40
    gramcache.clear()
