"""Peers for bench/relevance.py: a tuned BM25 (rank_bm25) and SQLite FTS5 over the same snippets.

Both see exactly what our index sees: each snippet's title and body in every language it has,
and, after learning, the same learned tickets (read back from our store). A snippet's rank is
that of its best document.
"""
from __future__ import annotations

import re
import warnings
import sqlite3

import Stemmer
from rank_bm25 import BM25Okapi

from index.analyzers import ENGLISH_STOP_WORDS

TITLE_REPEAT = 3  # the title counted three times (the datasets README's tuned reference)
_WORD = re.compile(r"\w+", re.UNICODE)


class TunedBM25:
    """BM25 with stop words (the same list as ours), Snowball English stemming, title 3x."""

    name = "BM25"

    def __init__(self, docs: list[dict]) -> None:
        self.stem = Stemmer.Stemmer("english").stemWord
        self.docs = docs
        corpus = [self.tokens(" ".join([d["title"]] * TITLE_REPEAT + [d["body"], d.get("learned", "")]))
                  for d in docs]
        self.bm25 = BM25Okapi(corpus)

    def tokens(self, text: str) -> list[str]:
        return [self.stem(w) for w in _WORD.findall(text.lower()) if w not in ENGLISH_STOP_WORDS] or ["_"]

    def rank(self, text: str, kind: str, depth: int) -> list[str]:
        scores = self.bm25.get_scores(self.tokens(text))
        order = sorted(range(len(self.docs)), key=lambda i: -scores[i])
        return _dedupe([self.docs[i] for i in order if scores[i] > 0], kind, depth)


class Fts5:
    """SQLite FTS5 ``bm25()``: porter stemming, an OR of the ticket's words, title weight 3."""

    name = "FTS5"

    def __init__(self, docs: list[dict]) -> None:
        self.db = sqlite3.connect(":memory:")
        self.db.execute("CREATE VIRTUAL TABLE t USING fts5(key UNINDEXED, kind UNINDEXED, title, body, "
                        "learned, tokenize='porter unicode61')")
        self.db.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?)",
                            [(d["key"], d["kind"], d["title"], d["body"], d.get("learned", "")) for d in docs])

    def rank(self, text: str, kind: str, depth: int) -> list[str]:
        words = dict.fromkeys(w.lower() for w in _WORD.findall(text))
        if not words:
            return []
        match = " OR ".join('"' + w.replace('"', '""') + '"' for w in words)
        rows = self.db.execute("SELECT key, kind FROM t WHERE t MATCH ? AND kind = ? "
                               "ORDER BY bm25(t, 0, 0, 3.0, 1.0, 1.0) LIMIT ?", (match, kind, depth * 5))
        return _dedupe([{"key": k, "kind": kd} for k, kd in rows], kind, depth)


def _dedupe(docs: list[dict], kind: str, depth: int) -> list[str]:
    keys: list[str] = []
    for doc in docs:
        if doc["kind"] == kind and doc["key"] not in keys:
            keys.append(doc["key"])
        if len(keys) == depth:
            break
    return keys


def documents(store) -> list[dict]:
    """One document per published snippet and language, with the snippet's learned tickets."""
    snippets = [s for s in store.iter_snippets() if s["status"] == "published"]
    learned = store.learned_texts([s["key"] for s in snippets])
    docs = []
    for s in snippets:
        learned_text = "\n".join(t for texts in learned.get(s["key"], {}).values() for t in texts)
        for lang, text in s["texts"].items():
            docs.append({"key": s["key"], "kind": s["kind"], "language": lang, "title": text["title"],
                         "body": text["body"], "learned": learned_text})
    return docs


class TfidfLR:
    """TF-IDF (words 1-2, characters 3-5 in words) and logistic regression, one per kind.

    The classifier the issue measures us against: trained on the same learned tickets read back
    from our store, plus each snippet's title and body (in every language) so that it can
    rank cold too. scikit-learn's own tokenisation, no stemming: the plain, strong baseline.
    """

    name = "TF-IDF+LR"

    def __init__(self, docs: list[dict], learned: list[tuple[str, str, str]]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion, make_pipeline

        self.models = {}
        for kind in {d["kind"] for d in docs}:
            texts = [f"{d['title']}\n{d['body']}" for d in docs if d["kind"] == kind]
            labels = [d["key"] for d in docs if d["kind"] == kind]
            for k, key, text in learned:
                if k == kind:
                    texts.append(text)
                    labels.append(key)
            if len(set(labels)) < 2:
                continue
            model = make_pipeline(
                FeatureUnion([("w", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
                              ("c", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True))]),
                LogisticRegression(C=10.0, max_iter=300))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(texts, labels)
            self.models[kind] = model

    def rank(self, text: str, kind: str, depth: int) -> list[str]:
        model = self.models.get(kind)
        if model is None:
            return []
        probs = model.predict_proba([text])[0]
        order = probs.argsort()[::-1][:depth]
        return [model.classes_[i] for i in order]


def learned_tickets(store) -> list[tuple[str, str, str]]:
    """(kind, key, text) of every learned example of a published snippet."""
    return [(kind, key, text) for kind, _lang, key, text in store.training_examples()]
