"""What a ticket asks, as opposed to what it rejects or mentions in passing.

"I don't want to cancel, just change the address" is about the address: ranked on all its
words, the cancel replies win. The clauses a customer rejects ("don't want to ...", "non
voglio ...", "... ではなく") or tells as history ("last time ...") are dropped before ranking.
Only rejections of a request are cues; a negated state ("not received", "non è ancora
partito") is what the ticket is about and stays.
"""
from __future__ import annotations

import functools
import re

# Cues whose clause follows them: the words up to the clause's end are not asked.
_LEADING = {
    "en": r"\b(?:don'?t|do not) (?:want|need) (?:to |a |an |the |my )?"
          r"|\bnot (?:asking for|interested in|looking for|about)\b"
          r"|\bno need (?:to|for)\b|\binstead of\b|\brather than\b|\blast time\b|\bthe other time\b",
    "it": r"\bnon (?:voglio|vorrei|mi interessa|mi serve|serve|chiedo|cerco)\b(?! che)"
          r"|\binvece d[ie]l?\b|\bnon si tratta d[ie]l?\b|\b(?:l'ultima|l'altra) volta\b|\bla volta scorsa\b",
    "id": r"\b(?:gak|ga|nggak|enggak|tidak|tak|bukan) (?:mau|minta|perlu|butuh|ingin|karena)\b"
          r"|\bbukan\b|\bdaripada\b|\bterakhir kali\b|\bwaktu itu\b",
    "ar": r"لا أريد|لا اريد|لست بحاجة|لا أحتاج|لا احتاج|بدلا من|بدلًا من|بدلاً من|المرة الماضية|المرة السابقة",
}
# Where such a clause ends: punctuation, or the word that turns to what is asked ("just", "ma").
_CLAUSE_END = {
    "en": r"[,.;:!?\n]|\b(?:just|only|but)\b",
    "it": r"[,.;:!?\n]|\b(?:solo|soltanto|ma|però)\b",
    "id": r"[,.;:!?\n]|\b(?:cuma|cuman|hanya|tapi|tetapi|saja|aja)\b",
    "ar": r"[،,.;:!?؟\n]|فقط|بل|لكن|ولكن",
}
# Cues whose clause precedes them (Japanese: 「キャンセルではなく」, 「返金は不要です」).
_TRAILING = {"ja": r"(?:では|じゃ)なく(?:て)?|は不要|はいりません|はいらない|は要りません|ではありません"}
_JA_CLAUSE_START = "、。，,.!?！？\n"


@functools.lru_cache(maxsize=8)
def _pattern(source: str) -> re.Pattern:
    return re.compile(source, re.IGNORECASE)


def rejected_spans(language: str, text: str) -> list[tuple[int, int]]:
    """Character spans of the clauses the ticket rejects or tells as history."""
    spans = []
    language = language.lower().split("-")[0]
    if language in _LEADING:
        end = _pattern(_CLAUSE_END[language])
        for cue in _pattern(_LEADING[language]).finditer(text):
            stop = end.search(text, cue.end())
            spans.append((cue.start(), stop.start() if stop else len(text)))
    if language in _TRAILING:
        for cue in _pattern(_TRAILING[language]).finditer(text):
            start = max((text.rfind(ch, 0, cue.start()) for ch in _JA_CLAUSE_START), default=-1)
            spans.append((start + 1, cue.end()))
    return spans


def asked_text(language: str, text: str) -> str:
    """The ticket's text without the clauses it rejects or tells as history."""
    spans = rejected_spans(language, text)
    if not spans:
        return text
    parts, last = [], 0
    for start, end in sorted(spans):
        parts.append(text[last:max(start, last)])
        last = max(last, end)
    parts.append(text[last:])
    return " ".join(parts)
