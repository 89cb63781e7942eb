"""The final ranking: the cold ranking blended with the learner, and a calibrated confidence.

The cold ranking's scores (BM25 and friends) are turned into a distribution over its
candidates (a softmax of each score relative to the best); the learner gives a distribution
over the snippets of the ticket's language and kind. The blend is a mixture of the two whose
learner share grows with how many examples the learner has, capped so that a snippet nobody
has inserted yet still competes on its words. The mixture's probability of a suggestion is its
confidence, mapped to words by thresholds tuned on dev (bench/relevance.py prints how often
each word was right).
"""
from __future__ import annotations

import functools
import math
from collections import Counter

import numpy as np

from index.analyzers import analyze
from index.asking import asked_text
from index.searcher import Hit
from server.learner import OTHER, Learner
from server.gramcache import pool_grams, prewarm as prewarm_grams, scratch as gram_scratch
from server.phrasecache import text_pairs

COLD_CANDIDATES = 10  # cold hits per kind the blend starts from (at least)
# How much sharing adjacent word pairs with the ticket lifts a cold score: the score grows by
# this share per pair in the title, body or written examples, over the root of the ticket's
# pairs. "reset link" and "text code" separate neighbours that share single words (nn dev
# top-1 0.650 -> 0.675, ABCD dev 0.623 -> 0.632; 0.2-1.0 within 0.025 on nn dev).
PHRASE_WEIGHT = 0.4
COLD_TEMPERATURE = 8.0  # softmax sharpness of cold scores relative to the best one
EVIDENCE_TERMS = 1.5  # matched terms at which a cold hit's confidence is halved
# How strongly a cold hit's confidence falls with the ticket share it misses. Gentler discounts
# (coverage^0.25, evidence m/(m+0.5)) labelled more tickets "likely" on dev at the same precision,
# but let a one-word cold match outweigh a learned example ("the goat next door chewed my box"
# after one insertion), since the same numbers are the blend's mixture weights.
COVERAGE_POWER = 0.5
LEARNER_SHARE_MAX = 0.95  # the learner's share of a snippet's score once it knows a lot
# Examples of a snippet (in the ticket's language) at which the learner's word about it
# counts half its maximum. On ABCD dev halves (10 per answer / all) and near-neighbour dev
# halves (1-2 per reply) 1-5 were within 0.01 of each other on top-1; 3 keeps "likely"
# right >= 93% on all three (bench/relevance.py; an offline sweep of the same rankings).
LEARNER_HALF = 3.0
# A learner probability from which a snippet the cold ranking lacks is added (0.01-0.15: ABCD and
# near-neighbour dev halves within 0.01 of top-3; 0.25 cost 0.01)
LEARNED_EXTRA = 0.01
# A learner that has one ticket for each of ~20 replies gives every one of them a few per cent;
# times even a small share, that outweighed the cold ranking's second and third (0.003-0.007 on
# near-neighbour dev: "it's the text code that never comes" fell from 2nd to 11th). Below
# LEARNED_FLOOR * LEARNER_HALF / (n + LEARNER_HALF) (0.075 at one example, 0.002 at 130) a
# vote fades. Near-neighbour dev halves top-3 0.864 -> 0.893 (= cold); ABCD halves within 0.005.
LEARNED_FLOOR = 0.1
LEARNED_SHOWN = 0.15  # a learner probability from which "used for N tickets like this" is said
# Words for the confidence, from the top: (lowest confidence, word). Tuned on dev so that
# "likely" is right at least 85% of the time; below "possible" the sidebar says "no
# confident match" rather than presenting the guess as an answer.
# On nn dev and ABCD dev together (bench/relevance.py, with phrase evidence): "likely" from 0.5
# was right 84% on nn dev; from 0.55 it is right ~89% on both. "possible" from 0.2: a clear lead
# on a chatty ticket (demo ticket 1001, 0.24: the right reply, twenty times the next) is not
# called a weak guess.
LABELS = ((0.55, "likely"), (0.2, "possible"), (0.0, "unlikely"))


@functools.lru_cache(maxsize=64)
def _ticket_terms(language: str, asked: str) -> tuple[str, ...]:
    """The ticket's analysed terms: the phrase step and the blend of one suggest both need them."""
    return tuple(analyze(language, asked))


def label(confidence: float) -> str:
    """The confidence in words."""
    return next(word for floor, word in LABELS if confidence >= floor)


def cold_distribution(hits: list[Hit]) -> dict[str, float]:
    """The cold ranking's scores as a probability per key (softmax relative to the best)."""
    if not hits:
        return {}
    best = max(h.score for h in hits) or 1.0
    exps = {h.key: math.exp(COLD_TEMPERATURE * (h.score / best - 1.0)) for h in hits}
    total = sum(exps.values())
    return {k: v / total for k, v in exps.items()}


def word_pairs(terms: list[str]) -> frozenset[tuple[str, str]]:
    """Adjacent pairs of analysed terms: a phrase is two terms in a row."""
    return frozenset((a, b) for a, b in zip(terms, terms[1:]) if a != b)


# A snippet text's pairs, kept compact for a whole library (``query & pairs`` as with a frozenset).
_text_pairs = text_pairs


def _shown(pair: tuple[str, str]) -> str:
    """A pair as words; overlapping CJK bigrams ("届け", "け先") read as one ("届け先")."""
    a, b = pair
    return a + b[1:] if a[-1:] == b[:1] and not a.isascii() else f"{a} {b}"


def _worth_showing(phrase: str) -> bool:
    """Not a phrase of kana endings only ("いただけます"): it counts, but says nothing to an agent."""
    return not all("\u3040" <= ch <= "\u309f" for ch in phrase)


def with_phrases(ranking: dict[str, list[Hit]], asked: str, snippets: dict[str, dict]) -> dict[str, list[Hit]]:
    """The cold ranking re-scored by phrase evidence: the ticket's word pairs each snippet has."""
    query: dict[str, frozenset] = {}
    shown: dict[tuple[str, str], str | None] = {}  # a pair as the agent sees it (None: not shown); hits share pairs

    def phrase(pair: tuple[str, str]) -> str | None:
        if pair not in shown:
            words = _shown(pair)
            shown[pair] = words if _worth_showing(words) else None
        return shown[pair]

    out = {}
    for kind, hits in ranking.items():
        lifted = []
        for hit in hits:
            text = (snippets.get(hit.key) or {}).get("texts", {}).get(hit.language)
            if hit.language not in query:
                query[hit.language] = word_pairs(_ticket_terms(hit.language, asked))
            pairs = query[hit.language]
            if not text or not pairs:
                lifted.append(hit)
                continue
            fields = [_text_pairs(hit.language, text["title"]), _text_pairs(hit.language, text["body"]),
                      _text_pairs(hit.language, "\n".join(text.get("examples") or []))]
            found = [pairs & f for f in fields]
            evidence = sum(len(f) for f in found)
            shared = sorted(set().union(*found))
            lifted.append(hit.replaced(score=round(hit.score * (1 + PHRASE_WEIGHT * evidence / len(pairs) ** 0.5), 4),
                                  phrases=tuple(p for p in map(phrase, shared) if p)))
        out[kind] = sorted(lifted, key=lambda h: (-h.score, h.key))
    return out


# Character n-grams: spelling-tolerant evidence ("pasword", "subscribtion", inflections the
# stemmers miss). Char 3-5 grams within words (each word padded with a space, as
# scikit-learn's char_wb), TF-IDF with the IDF taken over the cold ranking's best candidates:
# grams every neighbour shares ("cancel", "order") weigh little, the ones that tell neighbours
# apart weigh more. The cosine with the ticket lifts each kept candidate's score by this
# weight. nn dev top-1/top-3 0.675/0.840 -> 0.699/0.854, ABCD dev 0.632/0.764 -> 0.650/0.773
# (IDF over the whole library: 0.689/0.850 and 0.650/0.775; over the 10 kept only:
# 0.684/0.845; no IDF: 0.680/0.840; weights 1-8 within 0.01 of each other).
WORDING_WEIGHT = 2.0
# Cold candidates per kind whose texts give the character n-grams' IDF. 30 cost ~20 ms of CPU
# per new ticket at 10k snippets, 15 ~9 ms, for dev top-1 within 0.005 of 30 (nn 0.694 vs
# 0.699, ABCD 0.647 vs 0.650).
WORDING_POOL = 15
WORDING_SHOWN = 0.25  # a cosine from which `why` says the wording is close
CHAR_GRAMS = (3, 5)


_GRAM_BASE = np.uint64(0x100000001B3)  # multiplier of the rolling hash that numbers grams
# 1 + log(tf) for every count a text's gram can have in a compact cache entry (server/gramcache.py):
# the same float32 values as computing it on the counts, without a log per gram per ticket.
_SUBLINEAR = np.concatenate(([0.0], 1.0 + np.log(np.arange(1, 2 ** 16)))).astype(np.float32)


def _count_grams(text: str) -> tuple[np.ndarray, np.ndarray]:
    """A text's character 3-5 grams within words (each word padded with a space, as
    scikit-learn's char_wb): sorted gram numbers (64-bit hashes) and how often each occurs.

    In array operations over the code points: a gram is a window of the words joined by single
    spaces that has no space inside it (a space may only pad its ends).
    """
    joined = " " + " ".join(text.lower().split()) + " "
    if len(joined) < 3:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    points = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    spaces = np.concatenate(([0], np.cumsum(points == 32)))  # spaces before each position
    low, high = CHAR_GRAMS
    found = []
    rolling = np.zeros(len(points), dtype=np.uint64)
    with np.errstate(over="ignore"):  # the hash wraps around 2**64 on purpose
        for n in range(1, high + 1):
            size = len(points) - n + 1
            if size <= 0:
                break
            rolling = rolling[:size] * _GRAM_BASE + points[n - 1:]
            if n >= low:
                inside = spaces[n - 1:n - 1 + size] - spaces[1:1 + size]  # spaces at positions 1..n-2
                found.append((rolling[inside == 0] ^ np.uint64(n)).view(np.int64))
    return np.unique(np.concatenate(found), return_counts=True)


def _sublinear(counts: np.ndarray) -> np.ndarray:
    """1 + log(count), as float32."""
    if not len(counts) or counts.max() < len(_SUBLINEAR):
        return _SUBLINEAR[counts]
    return (1.0 + np.log(counts.astype(np.int64))).astype(np.float32)


def char_grams(text: str) -> tuple[np.ndarray, np.ndarray]:
    """A text's character 3-5 grams within words: sorted gram numbers and sublinear counts (1 + log tf)."""
    ids, counts = _count_grams(text)
    return ids, _sublinear(counts)


def _wording_text(snippet: dict | None, language: str) -> str:
    text = ((snippet or {}).get("texts") or {}).get(language)
    return f"{text['title']}\n{text['body']}" if text else ""


# A vocabulary up to this many times the pool's grams is counted with one bincount over it;
# a larger one (a big multilingual library) text by text into a scratch array, not O(vocabulary).
_ONE_PASS = 4


@functools.lru_cache(maxsize=64)
def _idf(texts: int) -> np.ndarray:
    """Smoothed IDF (as scikit-learn's) of a gram in 0..``texts`` of a pool of ``texts``, as float32."""
    return (np.log((1 + texts) / (1 + np.arange(texts + 1))) + 1.0).astype(np.float32)


def wording_similarity(asked: str, docs: list[str], pool: list[str]) -> list[float]:
    """Cosine of the ticket with each doc over char n-grams, TF-IDF with the IDF from ``pool``
    (smoothed as scikit-learn's; grams the pool lacks are left out of the ticket's vector).
    Each doc must be one of the pool's texts."""
    return _similarity(char_grams(asked), docs, pool)


def _similarity(asked: tuple[np.ndarray, np.ndarray], docs: list[str], pool: list[str]) -> list[float]:
    """``wording_similarity`` of a ticket's grams (``char_grams``), over cached grams of the pool's texts.

    The pool's document frequencies are counted in a dense array by gram id (server/gramcache.py),
    not by sorting the pool's grams; every float is computed as ``np.unique`` over gram numbers
    gave it, in the same order, so the similarities are the same to the last bit.
    """
    if not pool:
        return [0.0] * len(docs)
    texts = list(dict.fromkeys(pool))
    grams = pool_grams(texts, _count_grams)
    vocabulary = grams[0].vocabulary
    ids = np.concatenate([g.ids for g in grams]).astype(np.intp)  # (numpy indexes with intp ~2x faster)
    sizes = [len(g) for g in grams]
    owner = np.repeat(np.arange(len(texts)), sizes)
    q_numbers, q_tf = asked
    q_ids = vocabulary.lookup(q_numbers)
    idf = _idf(len(texts))
    known = np.flatnonzero(q_ids >= 0)
    size = len(vocabulary.by_id)
    with gram_scratch.lock:
        seen, query = gram_scratch(size)
        if size <= _ONE_PASS * len(ids):  # a vocabulary about the pool's size: counted in one pass
            counted = np.bincount(ids, minlength=size)
            df, distinct, q_df = counted[ids], np.flatnonzero(counted), counted[q_ids[known]]
        else:  # a large one: each text's (distinct) ids counted into the zeroed scratch array
            firsts, end = [], 0
            for n in sizes:
                part = ids[end:end + n]
                end += n
                firsts.append(part[seen[part] == 0])
                seen[part] += 1
            df, distinct, q_df = seen[ids], np.concatenate(firsts), seen[q_ids[known]]
            seen[ids] = 0
        in_pool = known[q_df > 0]  # grams the pool lacks are left out of the ticket's vector
        q_weights = q_tf[in_pool] * idf[q_df[q_df > 0]]
        query[q_ids[in_pool]] = q_weights
        query_at = query[ids]
        query[q_ids[in_pool]] = 0.0
    weights = _sublinear(np.concatenate([g.counts for g in grams])) * idf[df]
    norms = np.sqrt(np.bincount(owner, weights * weights, minlength=len(texts)))
    # The ticket's norm over the pool's sorted gram numbers, so its float32 dot product rounds as it did.
    vocab = np.sort(vocabulary.by_id[distinct])
    dense = np.zeros(len(vocab), dtype=np.float32)
    dense[np.searchsorted(vocab, q_numbers[in_pool])] = q_weights
    q_norm = float(np.sqrt(dense @ dense))
    if not q_norm:
        return [0.0] * len(docs)
    dots = np.bincount(owner, weights * query_at, minlength=len(texts))
    sims = dict(zip(texts, (dots / (np.where(norms > 0, norms, 1.0) * q_norm)).tolist()))
    return [sims.get(d, 0.0) for d in docs]


def prewarm_wording(snippets) -> dict:
    """Count the grams of these snippets' texts (store rows) for the wording step, ahead of tickets."""
    return prewarm_grams((_wording_text(s, lang) for s in snippets for lang in (s.get("texts") or {})),
                         _count_grams)


def with_wording(ranking: dict[str, list[Hit]], asked: str, snippets: dict[str, dict],
                 keep: int) -> dict[str, list[Hit]]:
    """The best ``keep`` cold hits of each kind re-scored by their character n-gram likeness to the ticket."""
    out = {}
    ticket = char_grams(asked)
    for kind, hits in ranking.items():
        kept = hits[:keep]
        lifted = []
        for lang in dict.fromkeys(h.language for h in kept):
            pool = [_wording_text(snippets.get(h.key), lang) for h in hits if h.language == lang]
            group = [h for h in kept if h.language == lang]
            sims = _similarity(ticket, [_wording_text(snippets.get(h.key), lang) for h in group],
                               [p for p in pool if p])
            lifted += [h.replaced(score=round(h.score * (1 + WORDING_WEIGHT * s), 4), wording=round(s, 3))
                       for h, s in zip(group, sims)]
        out[kind] = sorted(lifted, key=lambda h: (-h.score, h.key))
    return out


def learner_share(examples: float) -> float:
    """How far the learner's word about one snippet counts, given its examples in the ticket's language.

    Per snippet, not in all: a learner that knows one or two tickets of each of many near
    neighbours has seen too little of any to overrule the cold ranking, and one that has seen
    130 tickets of a reply should lead almost alone (n / (n + LEARNER_HALF), capped).
    """
    return LEARNER_SHARE_MAX * examples / (examples + LEARNER_HALF) if examples > 0 else 0.0


def learned_floor(examples: int) -> float:
    """Below this learner probability a snippet's vote fades (quadratically): little-taught noise."""
    return LEARNED_FLOOR * LEARNER_HALF / (examples + LEARNER_HALF)


def coverage(hit: Hit, terms: dict[str, int]) -> float:
    """The share of the ticket's distinct terms (in the hit's language) the snippet contains."""
    n = terms.get(hit.language, 0)
    return min(1.0, len(hit.matched_terms) / n) if n else 0.0


def blend(hits: list[Hit], learned: dict[str, float], examples: int, make_hit,
          terms: dict[str, int] | None = None, classes: int = 1,
          counts: dict[str, int] | None = None) -> list[Hit]:
    """Re-rank one kind's cold hits with the learner's probabilities; set each hit's confidence.

    ``make_hit(key)`` builds a hit for a snippet the learner proposes that the cold ranking
    did not (None if it can't be shown); ``learned`` may be empty (nothing learned).
    ``counts`` are the learned snippets' examples in the ticket's language (by default each
    hit's ``learned_from``), and the learner's
    probability for a snippet counts ``learner_share(count)`` of itself: one example
    moves a snippet a little, a hundred let the learner decide. Its probability of "none of
    what I learned" (``OTHER``) goes to the cold candidates nobody taught, as far as the
    model's examples per learned snippet are trusted; the rest of the learner's mass, the part
    it is not trusted with, is the cold ranking's. So a snippet without examples still competes.
    ``terms`` counts the ticket's distinct terms per language: the cold share of a hit's
    confidence is discounted by how little of the ticket it covers, so the best of several
    weak matches ("help with something about the website") is not called likely, and so is
    the number of terms it matches.
    """
    raw = cold_distribution(hits)
    cold = raw
    if terms is not None:
        # Evidence, not just the lead over the others: a lone candidate matching one word
        # ("I have a question") is not likely, however far ahead of nobody it is.
        cold = {h.key: raw[h.key] * coverage(h, terms) ** COVERAGE_POWER
                * len(h.matched_terms) / (len(h.matched_terms) + EVIDENCE_TERMS) for h in hits}
    by_key = {h.key: h for h in hits}
    if counts is None:
        counts = {h.key: h.learned_from for h in hits}
    # Every learned snippet's vote, shown or not: what the learner is trusted with in all.
    voted = {k: learner_share(counts.get(k, 0)) * p * min(1.0, p / learned_floor(counts.get(k, 0)))
             for k, p in learned.items() if k != OTHER}
    for key in voted.keys() - by_key.keys():
        if learned[key] >= LEARNED_EXTRA:
            by_key[key] = make_hit(key)
    other = learner_share(examples / max(classes, 1)) * learned.get(OTHER, 0.0) if learned else 0.0
    untrusted = max(0.0, 1.0 - sum(voted.values()) - other)
    # Each untaught candidate takes OTHER's mass by its discounted cold probability over the
    # untaught candidates' raw sum: their share of the cold ranking, times how much of the ticket
    # they cover. Weak matches thus leave part of OTHER unspent (the confidences sum below 1).
    # Over the discounted sum (all of OTHER to them) nn dev odd lines learned top-1 0.650 ->
    # 0.670, top-3 0.893 -> 0.883, ABCD dev the same, but a one-word cold match then beat a ticket
    # learned once ("the goat next door chewed my box", tests/api/test_learning.py).
    untaught = sum(p for k, p in raw.items() if k not in voted)
    out = []
    for key, hit in by_key.items():
        if hit is None:
            continue
        p = voted.get(key, 0.0) + untrusted * cold.get(key, 0.0)
        if key not in voted and untaught:
            p += other * cold[key] / untaught
        said = hit.learned_from if learned.get(key, 0.0) >= LEARNED_SHOWN else 0
        out.append(hit.replaced(confidence=round(min(p, 1.0), 4), learned_from=said,
                                learned_score=round(learned.get(key, 0.0), 4)))
    out.sort(key=lambda h: (-h.confidence, -h.score, h.key))
    return out


def given_facts(replies: list[dict]) -> None:
    """Confidences once the ticket's facts rule some shown replies out: the rest share their mass.

    A reply whose conditions the order contradicts (cancel-shipped for an order still
    processing) is not the answer, so the others are likelier than the text alone said.
    """
    ruled_out = sum(r["confidence"] for r in replies if r.get("eligible") is False)
    total = sum(r["confidence"] for r in replies)
    if not ruled_out or total <= ruled_out:
        return
    scale = total / (total - ruled_out)
    for r in replies:
        c = 0.0 if r.get("eligible") is False else min(1.0, r["confidence"] * scale)
        r.update(confidence=round(c, 4), confidence_label=label(c))


LINKED_REPLIES_LENDING = 3  # the best replies whose confidence their linked policies share


def lend_to_policies(policies: list[dict], replies: list[dict]) -> list[dict]:
    """Each best reply's confidence lent to the first policy it applies; most confident first.

    A reply that fits is evidence for its policy, and the only evidence when the policy has no
    text in the ticket's language ("shown in en: no translation" scores no words of it).
    """
    for reply in replies[:LINKED_REPLIES_LENDING]:
        if reply.get("eligible") is False or reply["confidence"] < LABELS[1][0]:
            continue  # ruled out, or itself a weak guess: no evidence for anything
        # Only to the best-ranked policy it applies: a reply is evidence for one policy here,
        # not for every policy it is linked to.
        linked = next((p for p in policies if p["key"] in (reply.get("policies") or ())), None)
        if linked is not None and reply["confidence"] > linked["confidence"]:
            linked.update(confidence=reply["confidence"], confidence_label=label(reply["confidence"]))
    return sorted(policies, key=lambda p: -p["confidence"])


def blend_kinds(ranking: dict[str, list[Hit]], text: str, language: str, learner: Learner | None,
         make_hit, limit: int) -> dict[str, list[Hit]]:
    """The blended, confidence-bearing ranking of each kind, cut to ``limit``."""
    langs = {h.language for hits in ranking.values() for h in hits}
    asked = asked_text(language, text)  # what the cold ranking was given (server/suggest)
    terms = {lang: len(set(_ticket_terms(lang, asked))) for lang in langs}
    out = {}
    for kind, hits in ranking.items():
        model = learner.model(language, kind) if learner else None
        learned = model.predict(text) if model else {}
        counted = (lambda key, m=model: m.learned.get(key, 0)) if model else (lambda key: 0)
        blended = blend([h.replaced(learned_from=counted(h.key)) for h in hits], learned,
                        model.examples if model else 0,
                        lambda key, k=kind: make_hit(key, k, counted(key)), terms,
                        len(model.learned) if model else 1, model.learned if model else None)
        out[kind] = blended[:limit]
    return out
