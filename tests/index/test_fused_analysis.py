"""The fused analysis path (indexing and queries) makes exactly the tokens of the filter chain."""
from __future__ import annotations

import json
import pickle

import pytest

from index.analyzers import SUPPORTED_LANGUAGES, _build_analyzer, analyze, analyzer_for
from server.cli import DEMO_DIR

EDGE_CASES = [
    "l'ordine dell'utente", "Ｌ’ＯＲＤＩＮＥ dell’ordine", "customer's it's O'Neil's don’t",
    "ｶﾞｷﾞ ﬁle ２０２４ ٣٤٥", "والطلب فالطلب طلبات الفاتورة", "注文 ご注文 した ORDER123注文",
    "a\u00adb soft\u200dhyphen", "x" * 70, "snake_case __init__ a I 7", "", "   ",
]


def demo_texts() -> list[str]:
    texts = []
    for name in ("policies.jsonl", "replies.jsonl"):
        for line in (DEMO_DIR / name).read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            texts += [record["title"], record["body"]]
            for translation in (record.get("translations") or {}).values():
                texts += [translation["title"], translation["body"]]
    return texts


@pytest.mark.parametrize("lang", [*SUPPORTED_LANGUAGES, "xx"])
def test_fused_analysis_makes_the_chains_tokens(lang):
    chain, fused = _build_analyzer(lang), analyzer_for(lang)
    for text in demo_texts() + EDGE_CASES:
        for mode in ("index", "query"):
            assert [t.text for t in fused(text, mode=mode)] == [t.text for t in chain(text, mode=mode)], text
            assert [t.text for t in fused(text, mode=mode)] == [t.text for t in fused(text, mode=mode)]  # cached
        assert analyze(lang, text) == [t.text for t in chain(text, mode="query")], text  # the list fast path


def test_offsets_for_highlighting_still_come_from_the_chain():
    fused = analyzer_for("en")
    tokens = [(t.text, t.startchar, t.endchar) for t in fused("Refunds, customer's parcels", chars=True,
                                                               mode="query", removestops=False)]
    assert tokens == [("refund", 0, 7), ("custom", 9, 17), ("parcel", 20, 27)]


def test_the_pickled_analyzer_carries_no_cache():
    fused = analyzer_for("it")
    list(fused("l'ordine è arrivato"))
    clone = pickle.loads(pickle.dumps(fused))
    assert "_terms" not in clone.__dict__ and "_steps" not in clone.__dict__
    assert [t.text for t in clone("l'ordine è arrivato")] == [t.text for t in fused("l'ordine è arrivato")]
