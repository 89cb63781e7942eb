"""What a ticket asks: rejected requests and history are dropped, negated states stay."""
import pytest

from index.asking import asked_text


@pytest.mark.parametrize("language, text, gone, kept", [
    ("en", "i don't want to cancel, just change where it goes", "cancel", "change where it goes"),
    ("en", "Last time you lost my parcel. This time I want to change the address", "lost", "change the address"),
    ("it", "Non mi interessa il rimborso, voglio solo sapere dove si trova il pacco", "rimborso", "dove si trova"),
    ("id", "Saya gak minta refund kok, cuma mau tanya paket saya sudah sampai mana", "refund", "sampai mana"),
    ("ja", "キャンセルではなく、届け先だけ変えたいです。", "キャンセル", "届け先だけ変えたいです"),
    ("ja", "返金は不要です。荷物が今どこにあるかだけ教えてください。", "返金", "荷物が今どこにあるか"),
    ("ar", "لا أريد إلغاء الطلب، فقط أريد تغيير العنوان", "إلغاء", "تغيير العنوان"),
])
def test_rejected_request_is_dropped(language, text, gone, kept):
    asked = asked_text(language, text)
    assert gone not in asked and kept in asked


@pytest.mark.parametrize("language, text", [
    ("en", "I have not received my parcel"),
    ("it", "Il pacco non è ancora partito, vorrei annullare"),
    ("it", "Vorrei disdire, non voglio che si rinnovi"),
    ("id", "Paket belum sampai"),
    ("fr", "je ne veux pas annuler"),  # no cues for this language: unchanged
])
def test_negated_state_stays(language, text):
    assert asked_text(language, text) == text
