"""The suggest scorer over a real index: field statistics ignore deleted documents."""
from __future__ import annotations

import dataclasses

import pytest

from index.indexer import apply_changes, create_index
from index.searcher import Hit, SnippetSearcher


def snippet(key: str, body: str) -> dict:
    return {"key": key, "kind": "policy", "default_language": "en", "status": "published",
            "texts": {"en": {"title": key, "body": body}}, "tags": [], "policies": []}


def test_average_length_counts_only_live_documents(tmp_path):
    ix = create_index(tmp_path / "ix")
    apply_changes(ix, [snippet("a", "refund " * 50), snippet("b", "parcel lost")], 1)
    searcher = SnippetSearcher(tmp_path / "ix")
    before = searcher.view().field_total("body_en")
    # Rewriting "a" many times leaves deleted copies behind in unmerged segments.
    for version in range(2, 8):
        apply_changes(ix, [snippet("a", "refund " * 50)], version)
    view = searcher.view()
    assert before == 52
    # Whoosh keeps per-document lengths in one byte, so what is subtracted for a deleted copy
    # is approximate; counting the six stale copies would give ~352.
    assert abs(view.field_total("body_en") - 52) <= 10
    assert searcher.suggest("refund please", "en")["policy"][0].key == "a"


def test_a_replaced_hit_equals_dataclasses_replace_and_refuses_unknown_fields():
    hit = Hit(key="reply/a", kind="reply", language="en", score=1.5, matched_terms=("refund",))
    changed = hit.replaced(score=2.0, wording=0.3)
    assert changed == dataclasses.replace(hit, score=2.0, wording=0.3) and hit.score == 1.5
    assert hash(changed) == hash(dataclasses.replace(hit, score=2.0, wording=0.3))
    with pytest.raises(TypeError):
        hit.replaced(scor=2.0)


def translated(key: str, texts: dict[str, tuple[str, str]]) -> dict:
    return {"key": key, "kind": "reply", "default_language": "en", "status": "published", "tags": [],
            "policies": [], "texts": {lang: {"title": t, "body": b} for lang, (t, b) in texts.items()}}


def searcher_over(tmp_path, snippets: list[dict]) -> SnippetSearcher:
    """A searcher over a real index of these snippets."""
    apply_changes(create_index(tmp_path / "ix"), snippets, 1)
    return SnippetSearcher(tmp_path / "ix")


def test_a_loanword_counts_where_the_snippets_english_text_has_it(tmp_path):
    # The Indonesian texts say "kata sandi" (password) and "tautan" (link); customers write the
    # English words. The reply whose English text has them wins, and says it matched them.
    searcher = searcher_over(tmp_path, [
        translated("reply/reset", {"en": ("Password reset link", "We sent a link to reset your password."),
                                   "id": ("Atur ulang kata sandi", "Kami mengirim tautan untuk akun Anda.")}),
        translated("reply/locked", {"en": ("Account locked", "Your account is locked for an hour."),
                                    "id": ("Akun terkunci", "Akun Anda terkunci, coba lagi nanti.")}),
    ])
    [best, other] = searcher.suggest("link reset password untuk akun saya tidak jalan", "id")["reply"]
    assert (best.key, best.language, other.key) == ("reply/reset", "id", "reply/locked")
    assert {"link", "reset", "password"} <= set(best.matched_terms)
    assert not {"link", "reset", "password"} & set(other.matched_terms)
    # A word the Indonesian texts do have is not looked up in English.
    assert "akun" in best.matched_terms and searcher.suggest("akun terkunci", "id")["reply"][0].key == "reply/locked"


def test_japanese_kana_endings_weigh_less_than_the_words(tmp_path):
    # The ticket's words are 返品 (return) and 商品 (item); its kana endings (していません, ...)
    # are all in the delay reply, which shares none of its words.
    searcher = searcher_over(tmp_path, [
        translated("reply/return", {"en": ("Return", "Return it."), "ja": ("商品の返品", "返品の手続きをご案内します。")}),
        translated("reply/delay", {"en": ("Delay", "It is late."),
                                   "ja": ("配送の遅れ", "まだ届いていませんか。確認しておりますが、発送されていません。")}),
        translated("reply/size", {"en": ("Size", "Sizes."), "ja": ("サイズ", "サイズ表をご覧ください。")}),
        translated("reply/card", {"en": ("Card", "Cards."), "ja": ("カード", "カードを更新できます。")}),
    ])
    hits = searcher.suggest("商品を返品したいのですが、していません", "ja")["reply"]
    assert hits[0].key == "reply/return"


def test_a_question_for_a_place_reaches_the_reply_that_answers_where(tmp_path):
    # The other reply says "parcel" more often; only the ticket's question word tells them apart.
    ix = create_index(tmp_path / "ix")
    texts = {"status": {"en": ("Where is my order", "It is on its way: follow your parcel with the link."),
                        "it": ("Dove si trova l'ordine", "È in viaggio: segui il pacco con il link."),
                        "id": ("Pesanan sampai mana", "Sedang dikirim: lacak paket dengan tautan.")},
             "damaged": {"en": ("Parcel arrived damaged", "Sorry about the parcel: send us a photo of the parcel."),
                         "it": ("Pacco arrivato rotto", "Ci dispiace per il pacco: mandaci una foto del pacco."),
                         "id": ("Paket datang rusak", "Maaf soal paket itu: kirim foto paket kepada kami.")}}
    apply_changes(ix, [translated(f"reply/{key}", t) for key, t in texts.items()], 1)
    searcher = SnippetSearcher(tmp_path / "ix")
    for lang, ticket in (("en", "where's the parcel??"), ("it", "dove è il pacco?"), ("id", "paketnya sampai mana?")):
        assert searcher.suggest(ticket, lang)["reply"][0].key == "reply/status", lang


def test_arabic_cancel_in_any_form_meets_the_cancel_reply(tmp_path):
    # "ألغوا" (cancel!, plural), "ألغيت" (I cancelled), "إلغاء" (cancelling), "يلغي": one verb, whose
    # hamza folding made look like the article ال. The order-status reply says "طلب" more often.
    searcher = searcher_over(tmp_path, [
        translated("reply/cancel", {"en": ("Cancel", "Cancelled."), "ar": ("إلغاء الطلب", "لقد ألغيت طلبك.")}),
        translated("reply/status", {"en": ("Status", "On its way."), "ar": ("حالة الطلب", "الطلب في الطريق، تتبع الطلب.")}),
    ])
    for ticket in ("من فضلكم ألغوا طلبي", "أريد الغاء الطلب", "هل يمكن أن تلغي طلبي؟"):
        best = searcher.suggest(ticket, "ar")["reply"][0]
        assert best.key == "reply/cancel", ticket


def test_a_spoken_indonesian_cancel_reaches_the_cancel_reply(tmp_path):
    # "batalin" is the spoken "batalkan"; the status reply says "pesanan" more often.
    searcher = searcher_over(tmp_path, [
        translated("reply/cancel", {"en": ("Cancel", "Cancelled."), "id": ("Membatalkan pesanan", "Pesanan sudah dibatalkan.")}),
        translated("reply/status", {"en": ("Status", "On its way."),
                                    "id": ("Status pesanan", "Pesanan Anda sedang dikirim, lacak pesanan di aplikasi.")}),
    ])
    assert searcher.suggest("kak tolong batalin pesanan saya ya", "id")["reply"][0].key == "reply/cancel"
