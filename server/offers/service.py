"""Offer rules (issuing codes arrives with the insertions API)."""
from __future__ import annotations

from server.db import Store


def save_offers(store: Store, offers: list[dict]) -> dict[str, int]:
    """Insert or replace offers by key in one transaction; count created and updated."""
    counts = {"created": 0, "updated": 0}
    with store.transaction():
        for offer in offers:
            counts["created" if store.upsert_offer(offer["key"], offer) else "updated"] += 1
    return counts
