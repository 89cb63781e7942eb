"""The blend of the cold ranking and the learner: each snippet's learned word counts by its own examples."""
from __future__ import annotations

from index.searcher import Hit
from server.learner import OTHER
from server.ranking import blend, learner_share

TERMS = {"en": 4}


def hit(key: str, score: float, learned_from: int = 0) -> Hit:
    return Hit(key=key, kind="reply", language="en", score=score, matched_terms=("forgot", "password", "reset"),
               learned_from=learned_from)


def ranked(hits, learned, examples, classes):
    by_key = {h.key: h for h in hits}
    return [h.key for h in blend(hits, learned, examples, by_key.get, TERMS, classes)]


def test_one_example_of_a_neighbour_does_not_overrule_a_clear_cold_winner_whatever_else_was_learned():
    # "reply/b" has one example; the model knows 36 of an unrelated reply. Counted per model
    # (37 examples over 2 snippets), the learner's 0.9 for "b" took over; counted per snippet it
    # moves "b" a little.
    hits = [hit("reply/a", 10.0), hit("reply/b", 7.0, learned_from=1), hit("reply/c", 2.0, learned_from=36)]
    learned = {"reply/b": 0.9, "reply/c": 0.02, OTHER: 0.08}
    assert ranked(hits, learned, 37, 2)[0] == "reply/a"


def test_many_examples_let_the_learner_lead():
    hits = [hit("reply/a", 10.0), hit("reply/b", 7.0, learned_from=130)]
    assert ranked(hits, {"reply/b": 0.9, OTHER: 0.1}, 130, 1)[0] == "reply/b"
    assert learner_share(130) > 0.9 > 0.3 > learner_share(1) > learner_share(0) == 0


def test_what_the_learner_calls_none_of_its_snippets_goes_to_the_untaught_ones():
    # The learner is sure it is none of what it learned: the untaught cold candidates share that.
    hits = [hit("reply/b", 10.0, learned_from=20), hit("reply/a", 9.0)]
    assert ranked(hits, {"reply/b": 0.02, OTHER: 0.98}, 20, 1)[0] == "reply/a"
