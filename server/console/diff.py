"""Readable differences between two states of a snippet: per language, word by word."""
from __future__ import annotations

import difflib
import json
import re

_TOKENS = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)
# Fields a snapshot holds besides texts, in the order a manager reads them.
_OTHER = ("status", "kind", "default_language", "tags", "policies", "offer", "when", "fields",
          "owner", "verify_every_days", "verified_by", "verified_at")


def words(old: str, new: str) -> list[tuple[str, str]]:
    """Segments ``(op, text)`` with op ``=``, ``-`` or ``+``, word by word (CJK by character)."""
    a, b = _TOKENS.findall(old or ""), _TOKENS.findall(new or "")
    if any("\u3000" <= ch <= "\u9fff" for ch in (old or "") + (new or "")):
        a, b = list(old or ""), list(new or "")
    out: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(("=", "".join(a[i1:i2])))
        else:
            if i2 > i1:
                out.append(("-", "".join(a[i1:i2])))
            if j2 > j1:
                out.append(("+", "".join(b[j1:j2])))
    return out


def _show(value: object) -> str:
    if value in (None, "", [], {}):
        return "—"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


def snapshots(old: dict, new: dict) -> list[dict]:
    """Every difference between two snapshots (stored shape): one entry per field or text."""
    changes = []
    old_texts, new_texts = old.get("texts") or {}, new.get("texts") or {}
    for lang in sorted(set(old_texts) | set(new_texts)):
        for part in ("title", "body"):
            a = (old_texts.get(lang) or {}).get(part, "")
            b = (new_texts.get(lang) or {}).get(part, "")
            if a != b:
                what = "added" if lang not in old_texts else "removed" if lang not in new_texts else "changed"
                changes.append({"field": f"{part} ({lang})", "language": lang, "what": what,
                                "segments": words(a, b)})
    for name in _OTHER:
        a, b = old.get(name), new.get(name)
        if (a or None) != (b or None):
            changes.append({"field": name.replace("_", " "), "language": None, "what": "changed",
                            "segments": words(_show(a), _show(b))})
    return changes


def stale_languages(versions: list[dict], default: str) -> set[str]:
    """Translations whose text has not changed since the default language's text last did."""
    last: dict[str, int] = {}
    previous: dict = {}
    for entry in sorted(versions, key=lambda v: v["version"]):
        texts = entry["snapshot"].get("texts") or {}
        for lang, text in texts.items():
            if previous.get(lang) != text:
                last[lang] = entry["version"]
        previous = texts
    changed = last.get(default, 0)
    return {lang for lang, at in last.items() if lang != default and lang in previous and at < changed}
