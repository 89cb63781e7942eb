"""Who a customer is, for limits that count per customer: one key however the address is spelled.

A customer is the same whoever types the address and however: Unicode compatibility forms
(NFKC: a fullwidth ``＠``), case, invisible characters (zero-width space, soft hyphen, BOM),
accents and other combining marks, and non-ASCII letters that look like ASCII ones (a
Cyrillic ``е``) all collapse, as do dots at either end of the local part or the domain
(``example.com.``) and, by default, ``+tag`` sub-addressing. Lookalikes come from the Unicode
confusables data shipped by ``confusable_homoglyphs`` (UTS #39), not from a table of ours.
ASCII characters are never mapped to each other: ``al1ce`` and ``alice`` are two mailboxes.

The key errs towards "same customer": two people whose addresses differ only by an accent
share a limit. That is the safe side for a shop's goodwill budget.
"""
from __future__ import annotations

import unicodedata
from functools import lru_cache

from confusable_homoglyphs.confusables import confusables_data

SUBADDRESSING = ("strip", "keep")  # values of the OFFER_SUBADDRESSING setting

# Default-ignorable code points that are letters (Lo), so the category test below misses them:
# the Hangul fillers, which render as nothing (Unicode DerivedCoreProperties.txt).
_FILLERS = {"\u115f", "\u1160", "\u3164", "\uffa0"}
_DROPPED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Mn", "Me", "Zs", "Zl", "Zp"}


@lru_cache(maxsize=1)
def _ascii_lookalikes() -> dict[str, str]:
    """Each non-ASCII character that has an ASCII homoglyph, mapped to the best one."""
    table = {}
    for char, glyphs in confusables_data.items():
        if char.isascii():
            continue
        ascii_glyphs = [g["c"] for g in glyphs if g["c"].isascii() and g["c"].strip()]
        if ascii_glyphs:
            # A single letter or digit beats punctuation and multi-letter look-alikes ("rn").
            table[char] = min(ascii_glyphs, key=lambda g: (len(g), not g.isalnum(), g))
    return table


def fold(text: str) -> str:
    """``text`` reduced to how it looks: NFKC, case-folded, invisibles and marks gone, lookalikes mapped."""
    text = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", text).casefold())
    kept = (c for c in text if c not in _FILLERS and unicodedata.category(c) not in _DROPPED_CATEGORIES)
    lookalikes = _ascii_lookalikes()
    mapped = "".join(lookalikes.get(c, c) for c in kept)
    return unicodedata.normalize("NFC", mapped).casefold()


def _domain(domain: str) -> str:
    labels = []
    for label in domain.split("."):
        if label.startswith("xn--"):
            try:  # an IDNA (punycode) label is the Unicode one it spells
                label = label.encode("ascii").decode("idna")
            except UnicodeError:
                pass
        labels.append(label)
    return fold(".".join(labels)).strip(".")


def email_key(email: str, *, subaddressing: str = "strip") -> str | None:
    """The normalised e-mail address, or None when nothing is left of it."""
    if subaddressing not in SUBADDRESSING:
        raise ValueError(f"subaddressing must be one of {SUBADDRESSING}, not {subaddressing!r}")
    address = fold(email)
    local, at, domain = address.rpartition("@")
    if not at:
        return address.strip(".") or None
    if subaddressing == "strip":
        local = local.split("+", 1)[0]
    local = local.strip(".")
    return f"{local}@{_domain(domain)}" if local else None


def id_key(ident: object) -> str | None:
    """The helpdesk's customer id as a key (``id:`` and the folded id), or None."""
    folded = fold(str(ident)) if ident is not None else ""
    return f"id:{folded}" if folded else None


def customer_keys(customer: dict | None, *, subaddressing: str = "strip") -> list[str]:
    """Every key the customer is known by: the e-mail's, then the id's (limits count both)."""
    customer = customer or {}
    keys = [email_key(str(customer.get("email") or ""), subaddressing=subaddressing),
            id_key(customer.get("id"))]
    return [k for k in keys if k]


def typed_keys(typed: str, *, subaddressing: str = "strip") -> list[str]:
    """The keys a customer typed into a search may be filed under: as an e-mail, or as an id.

    (A key copied from a list, ``id:cust-7``, is its own e-mail-style key: no ``@``.)
    """
    keys = [email_key(typed, subaddressing=subaddressing), id_key(typed)]
    return sorted({k for k in keys if k})


def customer_key(customer: dict | None, *, subaddressing: str = "strip") -> str | None:
    """The customer's main key: the normalised e-mail, else ``id:`` and the id, else None."""
    keys = customer_keys(customer, subaddressing=subaddressing)
    return keys[0] if keys else None
