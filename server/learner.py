"""A learner per language and kind: TF-IDF (words 1-2, characters 3-5) and a linear classifier.

Trained on what agents inserted (the learned examples, bounded per agent and per snippet in
``server.learning``) and on the example questions managers write for a snippet.
``server.ranking`` blends its probabilities with the cold ranking, so a snippet without
examples still competes.

Models are derived from the store and retrained whenever the store's data version moves (any
insertion, clearing or snippet edit, in any process), one training for everything that changed
meanwhile. In a server, one niced trainer process per node trains them and publishes a file that
every worker loads (server/trainer.py); without that file (``models_file``) a background thread
of the process trains, and under TESTING the training is inline. Until a new model is ready the
previous one answers, so /suggest never waits for training.
"""
from __future__ import annotations

import logging
import os
import threading
import time
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # scikit-learn is imported on first training: it costs a second at every start-up
    from sklearn.pipeline import FeatureUnion
    from sklearn.svm import LinearSVC

from index.analyzers import analyze, field_language
from server.db import Store, open_store
from server.language import detect

log = logging.getLogger(__name__)

OTHER = "__other__"  # the class of "none of what was learned": the cold ranking decides there
# At most this many snippet texts stand for the other class (an even sample of a large store).
# Fitting the features is most of a training's cost: a 10k store's ~3,000 texts took 26 s.
MAX_OTHER = 1_000
C = 0.5  # regularisation of the linear SVM (ABCD dev halves: 0.3-1 within 0.02 of top-1)
# A snippet's own title and body count as this many tickets. The learner alone, on ABCD dev:
# 3 per policy 0.725 -> 0.739 top-1, 10 per policy 0.797 -> 0.805, ~15 per policy (four fifths
# teach, one fifth asks) 0.821 -> 0.836; 4 within 0.005 of 2. The blend with the cold ranking
# (which reads those texts already) moved within 0.005 on every dev set.
OWN_WEIGHT = 2.0
TEMPERATURE = 6.0  # softmax sharpness of the SVM's margins, so they read as probabilities
PAUSE = 0.3  # seconds to let more insertions arrive before a training
# At most this share of a core goes to training. A 10k store's training takes seconds of
# GIL-holding Python; retrained back to back while a desk inserts all day, it made every
# suggest in that process wait (bench/latency.py live pass). Between trainings the process
# rests (1 / DUTY - 1) times the last training's duration: 0.2 s → 0.3 s pause, 3 s → 9 s.
DUTY = 0.25


def _word_terms(lang: str, text: str) -> list[str]:
    """Our analysis of ``lang`` (stop words, stemming, CJK bigrams) plus adjacent-term pairs."""
    terms = analyze(lang, text)
    return terms + [f"{a} {b}" for a, b in zip(terms, terms[1:])]


def _word_features(lang: str):
    """``_word_terms`` for one language, picklable (server/trainer.py publishes fitted models)."""
    return partial(_word_terms, lang)


def make_classifier_features(lang: str) -> FeatureUnion:
    """The TF-IDF feature space: analysed words and word pairs, and characters 3-5 in words."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion
    return FeatureUnion([
        ("words", TfidfVectorizer(analyzer=_word_features(lang), sublinear_tf=True)),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True,
                                  lowercase=True, min_df=1)),
    ])


@dataclass
class Model:
    """One language's and kind's classifier, and how many tickets taught each class."""

    features: FeatureUnion
    classifier: LinearSVC
    learned: Counter = field(default_factory=Counter)  # real examples (agents' and managers') per key

    @property
    def examples(self) -> int:
        return sum(self.learned.values())

    def predict(self, text: str) -> dict[str, float]:
        """Probability of each learned snippet key for this text, and of ``OTHER``."""
        margins = self.classifier.decision_function(self.features.transform([text]))[0]
        if margins.ndim == 0:  # two classes: one margin, for the second
            margins = np.array([-margins, margins]) / 2
        exps = np.exp(TEMPERATURE * (margins - margins.max()))
        return dict(zip(self.classifier.classes_.tolist(), (exps / exps.sum()).tolist()))


def train(texts: list[str], labels: list[str], lang: str,
          weights: list[float] | None = None) -> tuple[FeatureUnion, LinearSVC] | None:
    """Fit the features and classifier (``weights`` per text); None when fewer than two classes have examples.

    A linear SVM rather than logistic regression: as accurate on ABCD dev halves (top-1 0.79
    vs 0.785) and 10-30x faster to train (liblinear), which is what "within seconds" needs.
    """
    if len(set(labels)) < 2:
        return None
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC
    features = make_classifier_features(lang)
    x = features.fit_transform(texts)
    clf = LinearSVC(C=C)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # an unconverged fit still ranks
        # "more classes than half the samples": normal with one or two tickets per snippet
        warnings.filterwarnings("ignore", message="The number of unique classes", category=UserWarning)
        clf.fit(x, labels, sample_weight=None if weights is None else np.asarray(weights))
    return features, clf


def true_language(text: str, stored: str, languages: tuple[str, ...]) -> str:
    """The language an example counts for: as stored when the store has content in it, else
    detected among the store's languages (an English "ok where is it" once taken for Dutch)."""
    if stored in languages or not languages:
        return stored
    return detect(text, languages, stored, 0.0)[0]


def build_models(store: Store) -> dict[tuple[str, str], Model]:
    """Train a model per (language, kind) that has examples, from the store's published snippets.

    Classes are the snippets with examples (their own title and body count as one more) and
    ``OTHER``, made of the other snippets' texts: a ticket about something nobody has taught
    yet goes there, and the cold ranking decides among those snippets.
    """
    learned: dict[tuple[str, str], dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    snippets = list(store.iter_snippets(status="published"))
    languages = tuple(sorted({field_language(l) for s in snippets for l in s["texts"]} - {"xx"}))
    for s in snippets:
        for lang, t in s["texts"].items():
            for q in t.get("examples") or []:
                learned[(lang, s["kind"])][s["key"]].append(q)
    for kind, lang, key, text in store.training_examples():
        learned[(true_language(text, lang, languages), kind)][key].append(text)
    models = {}
    for (lang, kind), by_key in learned.items():
        texts, labels = [], []
        others = []
        for s in snippets:
            if s["kind"] != kind:
                continue
            # A snippet without this language is shown in its own (cold ranking's fallback), so
            # its text stands for it here too: without it an Italian model of English-only
            # policies had no other class, and what nobody taught in Italian could not compete.
            text = s["texts"].get(lang) or s["texts"].get(s["default_language"]) or next(iter(s["texts"].values()))
            own = f"{text['title']}\n{text['body']}"
            if s["key"] in by_key:
                texts.append(own)
                labels.append(s["key"])
            else:
                others.append(own)
        step = -(-len(others) // MAX_OTHER) or 1  # rounded up, so the sample is never above MAX_OTHER
        texts += others[::step]
        labels += [OTHER] * len(others[::step])
        weights = [OWN_WEIGHT] * len(texts)
        for key, examples in by_key.items():
            texts += examples
            labels += [key] * len(examples)
        weights += [1.0] * (len(texts) - len(weights))
        fitted = train(texts, labels, lang, weights)
        if fitted:
            models[(lang, kind)] = Model(*fitted, Counter({k: len(v) for k, v in by_key.items()}))
    return models


class Learner:
    """The current models of one process, retrained in the background when the store changes."""

    def __init__(self, database: str, background: bool = True, models_file: Path | None = None,
                 trainer: dict | None = None) -> None:
        self.database, self.background = database, background
        self.models_file = models_file  # published by the node's trainer process: load, never train
        self.trainer = trainer or {}  # that process's options (server/trainer.py: nice, follow)
        self._published = None
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
        if self.models_file is not None:
            self._published = self._published or _published(self)
            self._published.start()
            return
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
            store.close()
        self.models, self.version = models, version  # one assignment each: readers see old or new
        self.took, self.trained_at = time.perf_counter() - started, time.time()

    def _run(self) -> None:
        while True:
            time.sleep(max(PAUSE, (self.took or 0.0) * (1 / DUTY - 1)))
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
                store.close()


    def status(self) -> dict:
        """What /health says: the data version the models reflect, when and how they were trained."""
        at = None if self.trained_at is None else datetime.fromtimestamp(self.trained_at, timezone.utc)
        report = {"mode": "trainer process" if self.models_file else "in process" if self.background else "inline",
                  "data_version": self.version, "trained_at": at and at.isoformat(timespec="milliseconds"),
                  "took_seconds": None if self.took is None else round(self.took, 3), "models": len(self.models)}
        if self._published is not None:
            report["trainer"] = self._published.status()
        return report


def _published(learner: Learner):
    from server.trainer import Published
    return Published(learner)


def init_app(app) -> None:
    """Give the app its learner; under TESTING it trains inline, so tests see a known model."""
    from server.trainer import models_path, options, trains_aside

    testing = app.config.get("TESTING")
    models_file = models_path(app.config["INDEX_DIR"]) if trains_aside(app) else None
    learner = Learner(app.config["DATABASE"], background=not testing, models_file=models_file,
                      trainer=options(app))
    app.extensions["replyassist.learner"] = learner
    # Not in `flask ...` commands (Flask sets FLASK_RUN_FROM_CLI): nothing there suggests, and
    # the training thread read the whole store beside a rebuild (and kept its build processes
    # from forking). A server trains on its first suggest anyway.
    cli = os.environ.get("FLASK_RUN_FROM_CLI") == "true"
    if learner.background and models_file is None and not cli:
        learner.refresh(-1)  # the first model, from what the store already learned
    elif models_file is not None:
        @app.before_request
        def _load_models() -> None:  # a serving process (not a CLI command) loads and supervises
            learner.refresh(-1)
