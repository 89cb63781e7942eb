"""One customer, one key: the spellings that sidestepped the per-customer limit collapse."""
from __future__ import annotations

import pytest

from server.identity import customer_key, customer_keys

BASE = "limit.probe@example.com"


@pytest.mark.parametrize("spelling", [
    BASE + "\u200b",                      # trailing zero-width space
    BASE + ".",                           # trailing dot (fully qualified domain)
    "limit.probe\uff20example.com",       # fullwidth commercial at
    "limit.probe+x@example.com",          # sub-addressing
    "limit.prob\u0435@example.com",       # Cyrillic small ie
    "limit.pro\u00adbe@example.com",      # soft hyphen
    "limit.probe\u0301@example.com",      # combining acute accent
    " LIMIT.Probe@Example.COM ",          # case and surrounding spaces
    "limit.probe@xn--exmple-cua.com",     # punycode of exämple.com
    "l\u0456mit.probe@example.com\ufeff",  # Cyrillic i, byte-order mark
])
def test_spellings_of_one_address_are_one_customer(spelling):
    assert customer_key({"email": spelling}) == BASE


def test_distinct_ascii_addresses_stay_distinct():
    assert customer_key({"email": "al1ce@example.com"}) != customer_key({"email": "alice@example.com"})
    assert customer_key({"email": "a.lice@example.com"}) != customer_key({"email": "alice@example.com"})


def test_subaddressing_is_a_setting():
    assert customer_key({"email": "maria+x@example.com"}, subaddressing="keep") == "maria+x@example.com"
    with pytest.raises(ValueError):
        customer_key({"email": "maria@example.com"}, subaddressing="sometimes")


def test_email_comes_first_and_both_keys_are_known():
    assert customer_key({"email": "Maria@Example.com", "id": "42"}) == "maria@example.com"
    assert customer_keys({"email": "Maria@Example.com", "id": "42"}) == ["maria@example.com", "id:42"]
    assert customer_key({"id": "\uff14\uff12 "}) == "id:42"  # fullwidth digits, a trailing space
    assert customer_key({"email": "  ", "id": None}) is None
    assert customer_key(None) is None


def test_non_latin_addresses_keep_their_letters():
    assert customer_key({"email": "山田@例え.jp"}) == "山田@例え.jp"
    assert customer_key({"email": "\u0645\u0631\u064a\u0645@example.com"}) == "\u0645\u0631\u064a\u0645@example.com"
