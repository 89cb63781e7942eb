"""Preview a reply over a ticket exactly as agents would get it, without recording anything.

The text goes through the same sandbox (``replies.prepare``), eligibility through the same
``when`` rules, and the offer through the real issuing rules inside a transaction that is
rolled back: the preview says whether a code would be issued, wait for approval, or be
refused by a limit, and no code, insertion or limit count is left behind.
"""
from __future__ import annotations

from server.db import Store
from server.errors import ApiError
from server.offers.service import issue_code
from server.render import check_template
from server.replies import prepare
from server.suggest.schemas import TicketSchema
from server.suggest.service import choose_language, ticket_context, ticket_text

ticket_schema = TicketSchema()


class _RollBack(Exception):
    """Carries a dry-run result out of a transaction so that it rolls back."""

    def __init__(self, result: dict) -> None:
        super().__init__("dry run")
        self.result = result


def _dry_issue(store: Store, snippet: dict, ticket: dict, agent: str, config: dict) -> dict:
    offer = store.get_offer(snippet["offer"])
    if offer is None:
        return {"key": snippet["offer"], "outcome": "unknown",
                "detail": f"No offer has the key {snippet['offer']!r}; choose one from the list."}
    view = {"key": offer["key"], "label": offer["label"], "kind": offer["kind"], "value": offer.get("value")}
    try:
        with store.transaction():
            code = issue_code(store, offer_key=offer["key"], ticket_id=ticket["id"], snippet_key=snippet["key"],
                              customer=ticket.get("customer") or {}, agent=agent, helpdesk=ticket["helpdesk"],
                              brand=ticket["brand"], subaddressing=config.get("OFFER_SUBADDRESSING", "strip"))
            raise _RollBack(code)
    except _RollBack as done:
        code = done.result
    except ApiError as refused:
        return {**view, "outcome": "refused", "detail": refused.detail}
    if store.get_code(code["id"]) is not None:  # survived the rollback: issued before
        return {**view, "outcome": "existing", "code": code["code"], "expires_on": code["expires_on"],
                "status": code["status"], "detail": f"This ticket already has code {code['code']} ({code['status']})."}
    outcome = "pending" if code["status"] == "pending" else "issued"
    detail = ("Inserting would issue a code that waits for a manager's approval." if outcome == "pending"
              else f"Inserting would issue a code like {code['code']}, valid until {code['expires_on']}.")
    return {**view, "outcome": outcome, "code": code["code"], "expires_on": code["expires_on"],
            "status": code["status"], "detail": detail}


def preview(store: Store, snippet: dict, ticket: dict, language: str | None, agent: str,
            config: dict, fields: dict | None = None) -> dict:
    """What an agent would see and get for ``snippet`` (a stored-shape record) on ``ticket``."""
    ticket = ticket_schema.load(ticket)
    language = language or choose_language(ticket, ticket_text(ticket), config)[0]
    problems = {lang: found for lang, text in snippet["texts"].items() if (found := check_template(text["body"]))}
    context = ticket_context(ticket, fields or {})
    offer = None
    if snippet["kind"] == "reply" and snippet.get("offer"):
        offer = _dry_issue(store, snippet, ticket, agent, config)
        if offer.get("outcome") in ("issued", "existing") and offer.get("status") == "issued":
            context = {**context, "offer": {"code": offer["code"], "expires_on": offer["expires_on"]}}
    prepared = prepare(snippet, language, context)
    return {"language": prepared.language, "title": prepared.title, "text": prepared.text,
            "missing": prepared.missing, "fields": prepared.fields,
            "eligible": prepared.eligibility.eligible if snippet["kind"] == "reply" else None,
            "reason": prepared.eligibility.reason if snippet["kind"] == "reply" else None,
            "offer": offer, "template_errors": problems}
