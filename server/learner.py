"""A learner per language and kind: TF-IDF (words 1-2, characters 3-5) and logistic regression.

Trained on what agents inserted (the learned examples, bounded per agent and per snippet in
``server.learning``), on the example questions managers write for a snippet, and on each
snippet's own title and body, so every published snippet is a class and one without examples
still has a probability. ``server.ranking`` blends these probabilities with the cold ranking.

Models live in memory only: they are derived from the store and retrained in a background
thread whenever the store's data version moves (any insertion, clearing or snippet edit, in
any process), one training for everything that changed meanwhile. Until a new model is ready
the previous one answers, so /suggest never waits for training.
"""
from __future__ import annotations

import logging
import threading
import time
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from index.analyzers import analyze, field_language
from server.db import Store, open_store
from server.language import detect

log = logging.getLogger(__name__)

SNIPPET_TEXT_WEIGHT = 1.0  # a snippet's own title and body, as one example of its class
WRITTEN_EXAMPLE_WEIGHT = 1.0  # an example question a manager wrote
LEARNED_WEIGHT = 1.0  # a ticket an agent answered with the snippet
C = 10.0  # inverse regularisation of the logistic regression (tuned on ABCD dev halves)
MAX_ITER = 300
PAUSE = 0.3  # seconds to let more insertions arrive before a training


def _word_features(lang: str):
    """Our analysis of ``lang`` (stop words, stemming, CJK bigrams) plus adjacent-term pairs."""
    def features(text: str) -> list[str]:
        terms = analyze(lang, text)
        return terms + [f"{a} {b}" for a, b in zip(terms, terms[1:])]
    return features


def make_classifier_features(lang: str) -> FeatureUnion:
    """The TF-IDF feature space: analysed words and word pairs, and characters 3-5 in words."""
    return FeatureUnion([
        ("words", TfidfVectorizer(analyzer=_word_features(lang), sublinear_tf=True)),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True,
                                  lowercase=True, min_df=1)),
    ])


@dataclass
class Model:
    """One language's and kind's classifier, and how many tickets taught each class."""

    features: FeatureUnion
    classifier: LogisticRegression
    keys: list[str]
    learned: Counter = field(default_factory=Counter)  # real examples (agents' and managers') per key

    @property
    def examples(self) -> int:
        return sum(self.learned.values())

    def predict(self, text: str) -> dict[str, float]:
        """Probability of each snippet key for this text."""
        probs = self.classifier.predict_proba(self.features.transform([text]))[0]
        return dict(zip(self.keys, probs.tolist()))


def train(texts: list[str], labels: list[str], weights: list[float], lang: str) -> tuple[FeatureUnion, LogisticRegression] | None:
    """Fit the features and classifier; None when fewer than two classes have examples."""
    if len(set(labels)) < 2:
        return None
    features = make_classifier_features(lang)
    x = features.fit_transform(texts)
    clf = LogisticRegression(C=C, max_iter=MAX_ITER)
    with warnings.catch_warnings():
        # One example per class is normal here (a snippet's own text); an unconverged fit
        # after MAX_ITER is still a usable ranking.
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x, labels, sample_weight=np.asarray(weights))
    return features, clf


def true_language(text: str, stored: str, languages: tuple[str, ...]) -> str:
    """The language an example counts for: as stored when the store has content in it, else
    detected among the store's languages (an English "ok where is it" once taken for Dutch)."""
    if stored in languages or not languages:
        return stored
    return detect(text, languages, stored, 0.0)[0]


def build_models(store: Store) -> dict[tuple[str, str], Model]:
    """Train a model per (language, kind) from the store's published snippets and examples."""
    data: dict[tuple[str, str], tuple[list, list, list]] = defaultdict(lambda: ([], [], []))
    learned: dict[tuple[str, str], Counter] = defaultdict(Counter)
    snippets = list(store.iter_snippets(status="published"))
    languages = tuple(sorted({field_language(l) for s in snippets for l in s["texts"]} - {"xx"}))

    def add(kind: str, lang: str, key: str, text: str, weight: float) -> None:
        texts, labels, weights = data[(lang, kind)]
        texts.append(text)
        labels.append(key)
        weights.append(weight)

    for s in snippets:
        for lang, t in s["texts"].items():
            add(s["kind"], lang, s["key"], f"{t['title']}\n{t['body']}", SNIPPET_TEXT_WEIGHT)
            for q in t.get("examples") or []:
                add(s["kind"], lang, s["key"], q, WRITTEN_EXAMPLE_WEIGHT)
                learned[(lang, s["kind"])][s["key"]] += 1
    for kind, lang, key, text in store.training_examples():
        lang = true_language(text, lang, languages)
        add(kind, lang, key, text, LEARNED_WEIGHT)
        learned[(lang, kind)][key] += 1
    models = {}
    for (lang, kind), (texts, labels, weights) in data.items():
        if not learned[(lang, kind)]:
            continue  # nothing learned: the cold ranking alone decides
        fitted = train(texts, labels, weights, lang)
        if fitted:
            features, clf = fitted
            models[(lang, kind)] = Model(features, clf, list(clf.classes_), learned[(lang, kind)])
    return models


class Learner:
    """The current models of one process, retrained in the background when the store changes."""

    def __init__(self, database: str, background: bool = True) -> None:
        self.database, self.background = database, background
        self.models: dict[tuple[str, str], Model] = {}
        self.version: int | None = None  # the store's data version the models reflect
        self.trained_at: float | None = None
        self.took: float | None = None  # seconds the last training took
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def model(self, language: str, kind: str) -> Model | None:
        """The model of one language and kind, if anything was learned there."""
        return self.models.get((language, kind))

    def refresh(self, data_version: int) -> None:
        """Start a background training if the store moved past the models (returns at once)."""
        if data_version == self.version:
            return
        if not self.background:
            self.train_now()
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="learner", daemon=True)
                self._thread.start()

    def train_now(self) -> None:
        """Train in this thread from the store as it is (start-up, tests, benchmarks)."""
        store = open_store(self.database)
        try:
            version = store.data_version()
            started = time.perf_counter()
            models = build_models(store)
        finally:
            store.conn.close()
        self.models, self.version = models, version  # one assignment each: readers see old or new
        self.took, self.trained_at = time.perf_counter() - started, time.time()

    def _run(self) -> None:
        while True:
            time.sleep(PAUSE)
            try:
                self.train_now()
            except Exception:  # keep the previous models; the next change retries
                log.exception("training the learner failed")
                return
            store = open_store(self.database)
            try:
                if store.data_version() == self.version:
                    return
            finally:
                store.conn.close()


def init_app(app) -> None:
    """Give the app its learner; under TESTING it trains inline, so tests see a known model."""
    learner = Learner(app.config["DATABASE"], background=not app.config.get("TESTING"))
    app.extensions["replyassist.learner"] = learner
    if learner.background:
        learner.refresh(-1)  # the first model, from what the store already learned
