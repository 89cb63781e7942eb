"""Grouping short ticket texts into topics (plain data in, plain data out; no Flask).

Each ticket becomes a TF-IDF vector of the terms the index's own analyser gives for its
language (stemmed, stop words out, Japanese as bigrams), so topics group the way search
matches. Tickets are then merged bottom-up (scikit-learn's agglomerative clustering, average
linkage on cosine distance) until the closest two groups are less alike than
``threshold``: a topic is a set of tickets that, on average, share enough weighted terms.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from index.analyzers import analyzer_for

THRESHOLD = 0.9   # cosine distance at which merging stops (tuned on ABCD dev: bench/content_gaps.py)
MIN_SIZE = 3      # smaller groups are not topics (left "unclustered")
MAX_TICKETS = 3000  # newest tickets clustered at once: agglomerative clustering is O(n²) memory


@dataclass
class Topic:
    """One group of tickets and what characterises it."""

    members: list[int]                      # indexes into the input
    terms: list[str] = field(default_factory=list)  # top terms, as customers wrote them


def terms_with_surface(language: str, text: str) -> list[tuple[str, str]]:
    """The analysed terms of a text with the word each came from (lowercased)."""
    return [(t.text, text[t.startchar:t.endchar].lower())
            for t in analyzer_for(language)(text, chars=True, mode="query")]


def cluster(docs: list[tuple[str, str]], *, threshold: float = THRESHOLD, min_size: int = MIN_SIZE,
            top_terms: int = 6) -> list[Topic]:
    """Topics of ``docs`` (language, text), biggest first; tickets in no topic are left out."""
    # Imported here: scikit-learn takes seconds to import, and only this page needs it.
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer

    analysed = [terms_with_surface(lang, text) for lang, text in docs]
    keep = [i for i, terms in enumerate(analysed) if terms]
    if len(keep) < min_size:
        return []
    surface: dict[str, Counter] = defaultdict(Counter)
    for terms in analysed:
        for term, word in terms:
            surface[term][word] += 1
    vectorizer = TfidfVectorizer(analyzer=lambda terms: [t for t, _ in terms], sublinear_tf=True,
                                 min_df=2 if len(keep) >= 20 else 1)
    try:
        matrix = vectorizer.fit_transform([analysed[i] for i in keep])
    except ValueError:  # no term appears twice: nothing to group by
        return []
    rows = np.asarray(matrix.sum(axis=1)).ravel() > 0
    keep, matrix = [k for k, r in zip(keep, rows) if r], matrix[rows]
    if len(keep) < min_size:
        return []
    labels = AgglomerativeClustering(n_clusters=None, distance_threshold=threshold, metric="cosine",
                                     linkage="average").fit_predict(matrix.toarray())
    vocabulary = vectorizer.get_feature_names_out()
    topics = []
    for label, count in Counter(labels).most_common():
        if count < min_size:
            break
        rows_in = np.flatnonzero(labels == label)
        weight = np.asarray(matrix[rows_in].mean(axis=0)).ravel()
        best = [vocabulary[j] for j in np.argsort(-weight)[:top_terms] if weight[j] > 0]
        topics.append(Topic(members=[keep[r] for r in rows_in],
                            terms=[surface[t].most_common(1)[0][0] for t in best]))
    return topics
