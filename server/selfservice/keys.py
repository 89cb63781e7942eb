"""Per-shop public keys: what the help widget sends as ``X-Replyassist-Key``.

A public key is not a secret (it sits in the shop's web page); it names the shop, says which
site origins may call the public API from a browser, and is what rate limits count by. It is
stored hashed all the same, like agent tokens, so a copied database does not hand out keys.
"""
from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from server.auth import hash_token
from server.db import Store

KEY_PREFIX = "rapk_"


def normalise_origin(origin: str) -> str:
    """``https://shop.example/`` -> ``https://shop.example``; ValueError if it is not an origin."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise ValueError(f"{origin!r} is not a site origin such as https://shop.example")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def create_public_key(store: Store, name: str, origins: list[str]) -> str:
    """Create a shop's public key allowed from ``origins``; return it (shown once)."""
    clean = sorted({normalise_origin(o) for o in origins})
    key = KEY_PREFIX + secrets.token_urlsafe(24)
    with store.transaction():
        store.create_public_key(name, hash_token(key), clean)
    return key


def find_public_key(store: Store, key: str) -> dict | None:
    """The live public key record for ``key``, or None."""
    return store.public_key_by_hash(hash_token(key.strip())) if key and key.strip() else None
