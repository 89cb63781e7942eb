"""Goodwill offers: issuing single-use codes within limits, the code pool, manager decisions.

Issuance runs inside the caller's write transaction and first takes the offer's lock
(``Store.lock_offer``: SQLite's write lock, a row lock on PostgreSQL), so issuers of one offer
take turns across threads, processes and nodes: each sees the codes of the others when it counts
limits, and a pool code is taken by exactly one of them.
"""
from __future__ import annotations

import base64
import secrets
from datetime import datetime, timedelta, timezone

from server.db import Store, utcnow
from server.errors import Conflict, NotFound, Unprocessable
from server.identity import customer_keys, typed_keys


class OfferRefused(Conflict):
    """A limit refuses the code; the detail says which and when it frees up."""

    slug, title = "offer-limit", "Offer limit reached"


class OtherCustomersCode(Conflict):
    """The conversation's code was issued to another customer: never hand it to this one."""

    slug, title = "conversation-customer-mismatch", "This ticket's code belongs to another customer"


def find_codes(store: Store, filters: dict, *, subaddressing: str = "strip") -> tuple[list[dict], int]:
    """A page of the code audit; ``customer`` matches however it is typed (the keys issuance files under)."""
    if filters.get("customer") is not None:
        filters = {**filters, "customer": typed_keys(filters["customer"], subaddressing=subaddressing)}
    return store.list_codes(**filters)


def save_offers(store: Store, offers: list[dict]) -> dict[str, int]:
    """Insert or replace offers by key in one transaction; count created and updated."""
    counts = {"created": 0, "updated": 0}
    with store.transaction():
        for offer in offers:
            counts["created" if store.upsert_offer(offer["key"], offer) else "updated"] += 1
    return counts


def get_offer(store: Store, key: str) -> dict:
    """An offer by key, or NotFound."""
    offer = store.get_offer(key)
    if offer is None:
        raise NotFound(f"No offer has the key {key!r}.")
    return offer


def new_code(prefix: str) -> str:
    """A fresh unguessable code: the offer's prefix and 64 random bits in base32."""
    return f"{prefix}-{base64.b32encode(secrets.token_bytes(8)).decode().rstrip('=')}"


def _midnight(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def _at(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def issue_code(store: Store, *, offer_key: str, ticket_id: str, snippet_key: str,
               customer: dict, agent: str, now: datetime | None = None, helpdesk: str = "",
               brand: str = "", subaddressing: str = "strip") -> dict:
    """The code for this conversation and reply: the existing one, or a new one within the limits.

    The idempotency key is the conversation (helpdesk, brand, ticket id) and the reply; the
    existing code is returned only to the customer it was issued to. Call inside
    ``store.transaction()``. Raises OfferRefused (409) naming the limit, OtherCustomersCode (409).
    """
    keys = customer_keys(customer, subaddressing=subaddressing)
    if not keys:
        raise Unprocessable("To issue an offer code the ticket needs customer.email or customer.id: "
                            "limits are counted per customer.",
                            errors={"ticket": {"customer": ["email or id is required for this offer"]}})
    store.lock_offer(offer_key)  # before the existing code is looked up: a racing twin waits here
    existing = store.code_for(ticket_id, snippet_key, helpdesk=helpdesk, brand=brand)
    if existing:
        if not set(keys) & set(store.code_customers(existing["id"])):
            raise OtherCustomersCode(
                f"Ticket {ticket_id!r} already has a code for {snippet_key!r}, issued to another "
                "customer; this ticket's customer does not match it, so no code is returned. Check the "
                "ticket id and customer (or the helpdesk and brand it comes from).")
        return existing
    offer = store.get_offer(offer_key)
    if offer is None:
        raise Unprocessable(f"This reply carries the offer {offer_key!r}, which does not exist; "
                            "a manager must import it (flask --app server offers import).")
    who = keys[0]
    now = now or datetime.now(timezone.utc)
    limit = offer["per_customer"]
    window_start = now - timedelta(days=limit["window_days"])
    theirs = store.codes_since(offer_key, since=_at(window_start), customer=keys)
    if len(theirs) >= limit["max"]:
        frees = datetime.fromisoformat(theirs[0]["issued_at"]) + timedelta(days=limit["window_days"])
        raise OfferRefused(
            f"{who} already received {len(theirs)} '{offer['label']}' code(s) in the last "
            f"{limit['window_days']} days (limit {limit['max']}); the next one can be issued from "
            f"{_at(frees)}.", limit="per_customer", available_from=_at(frees))
    mine = store.codes_since(offer_key, since=_at(_midnight(now)), agent=agent)
    if len(mine) >= offer["per_agent_per_day"]:
        frees = _midnight(now) + timedelta(days=1)
        raise OfferRefused(
            f"You have issued {len(mine)} '{offer['label']}' codes today (limit "
            f"{offer['per_agent_per_day']} per agent per day); you can issue more from {_at(frees)}.",
            limit="per_agent_per_day", available_from=_at(frees))
    approval = offer.get("needs_approval_after")
    status = "pending" if approval is not None and len(mine) >= approval else "issued"
    source, code = "generated", None
    if store.pool_counts(offer_key)["total"]:
        source, code = "pool", store.take_pool_code(offer_key)
        if code is None:
            raise OfferRefused(f"The pool of '{offer['label']}' codes is used up; a manager must "
                               "import more codes.", limit="pool", available_from=None)
    row = {"offer_key": offer_key, "code": code or new_code(offer["code_prefix"]), "source": source,
           "status": status, "customer": who, "customer_keys": keys, "agent": agent,
           "helpdesk": helpdesk, "brand": brand, "ticket_id": ticket_id,
           "snippet_key": snippet_key, "issued_at": _at(now),
           "expires_on": (now.date() + timedelta(days=offer["valid_days"])).isoformat()}
    row["id"] = store.insert_code(row)
    if source == "pool":
        store.mark_pool_code_used(row["code"], row["id"])
    return store.get_code(row["id"])


# Which decisions a manager may take from which status.
_DECISIONS = {"approve": ({"pending"}, "issued"), "reject": ({"pending"}, "rejected"),
              "void": ({"issued", "pending"}, "void")}


def decide(store: Store, code_id: int, decision: str, manager: str, note: str | None = None) -> dict:
    """Approve or reject a pending code, or void a live one."""
    allowed, new_status = _DECISIONS[decision]
    with store.transaction():
        code = store.get_code(code_id)
        if code is None:
            raise NotFound(f"No offer code has the id {code_id}.")
        if code["status"] not in allowed:
            raise Conflict(f"Code {code['code']} is {code['status']}; only a "
                           f"{' or '.join(sorted(allowed))} code can be {new_status}.")
        store.set_code_status(code_id, new_status, manager, utcnow(), note)
        return store.get_code(code_id)


def import_pool(store: Store, offer_key: str, codes: list[str]) -> dict[str, int]:
    """Add shop-created codes to an offer's pool; count new and skipped duplicates."""
    get_offer(store, offer_key)
    clean = [c.strip() for c in codes if c.strip()]
    with store.transaction():
        added = store.add_pool_codes(offer_key, clean, utcnow())
        counts = store.pool_counts(offer_key)
    return {"added": added, "skipped": len(clean) - added, **counts}


def code_view(code: dict) -> dict:
    """A code as agents see it: the code itself only once it is live (issued)."""
    return {"key": code["offer_key"], "code": code["code"] if code["status"] == "issued" else None,
            "expires_on": code["expires_on"], "status": code["status"]}
