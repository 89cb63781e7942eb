"""Counting a customer's contacts and raising an alert for customer success.

A contact is a ticket of the customer that the desk saw: one the sidebar asked /suggest
about, or one a reply was inserted into. Customers are told apart by ``server.identity``,
the normalisation the offer limits use, so ``Maria+shop@Example.com`` is ``maria@example.com``.
Alerts are a list managers read (``GET /contacts/alerts``): durable in SQLite with nothing to
retry, and a webhook can later be fed from it.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from server.db import Store, utcnow
from server.errors import Unprocessable
from server.identity import customer_key

MAX_SUBJECT = 120


def note(store: Store, ticket: dict, agent: str, config: dict, at: str | None = None) -> str | None:
    """Record the ticket as one of its customer's contacts; return the customer key (None if unknown)."""
    # The offer limits' own setting: the customer counted here is the one limits count.
    who = customer_key(ticket.get("customer"), subaddressing=config.get("OFFER_SUBADDRESSING", "strip"))
    if who is None:
        return None
    store.note_contact({"customer": who, "ticket_id": ticket["id"],
                        "subject": (ticket.get("subject") or "").strip()[:MAX_SUBJECT],
                        "url": ticket.get("url") or None, "agent": agent, "at": at or utcnow()})
    return who


def summary(store: Store, who: str | None, ticket_id: str, config: dict, now: datetime | None = None) -> dict | None:
    """This ticket's place among the customer's contacts in the window, and the earlier ones."""
    if who is None:
        return None
    days = int(config["REPEAT_WINDOW_DAYS"])
    since = ((now or datetime.now(timezone.utc)) - timedelta(days=days)).isoformat(timespec="seconds")
    contacts = store.contacts_since(who, since)
    earlier = [c for c in contacts if c["ticket_id"] != ticket_id]
    return {"count": len(contacts), "window_days": days, "alert_at": int(config["REPEAT_ALERT_AT"]),
            "repeat": len(contacts) >= int(config["REPEAT_ALERT_AT"]),
            "alerted": store.contact_alerted(who, ticket_id),
            "earlier": [{"ticket_id": c["ticket_id"], "subject": c["subject"], "url": c["url"],
                         "at": c["first_at"]} for c in reversed(earlier)]}


def note_and_summarise(store: Store, ticket: dict, agent: str, config: dict) -> dict | None:
    """Record this contact and say how it stands (for /suggest)."""
    return summary(store, note(store, ticket, agent, config), ticket["id"], config)


def raise_alert(store: Store, ticket: dict, agent: str, note_text: str | None, config: dict) -> tuple[dict, bool]:
    """Record an alert about this customer for customer success; (alert, created)."""
    with store.transaction():
        who = note(store, ticket, agent, config)
        if who is None:
            raise Unprocessable("The ticket names no customer (e-mail or id): there is no one to alert about.",
                                errors={"ticket": {"customer": ["email or id is required"]}})
        state = summary(store, who, ticket["id"], config)
        alert_id, created = store.add_contact_alert({
            "customer": who, "ticket_id": ticket["id"], "agent": agent, "contacts": state["count"],
            "summary": state["earlier"], "note": note_text, "at": utcnow()})
    return store.get_contact_alert(alert_id), created
