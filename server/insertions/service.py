"""Inserting a reply into a ticket: fields checked, eligibility judged, offer code issued, recorded."""
from __future__ import annotations

from server.db import Store, utcnow
from server.eligibility import evaluate
from server.errors import Conflict, Unprocessable
from server.indexing import reindexer, searcher
from server.learning import teach
from server.offers.service import code_view, issue_code
from server.render import without_sentences
from server.replies import check_fields, field_specs, prepare, text_in
from server.snippets.service import get_snippet
from server.suggest.service import choose_language, ticket_context, ticket_text

MAX_LEARN_TEXT = 10_000  # characters of the ticket kept with an insertion


# Why an insertion carries no text: its code is not live. The agent sends nothing meanwhile.
HELD = {
    "pending": "The goodwill code waits for a manager's approval. Nothing was inserted: send this reply "
               "once it is approved (insert it again then, the same code comes back).",
    "rejected": "A manager rejected this ticket's goodwill code. Nothing was inserted: choose a reply "
                "without an offer.",
    "void": "This ticket's goodwill code was voided. Nothing was inserted: choose a reply without an offer.",
}


class NotEligible(Conflict):
    """The ticket's facts say the reply does not fit."""

    slug, title = "not-eligible", "Reply does not fit this ticket"


def insert(store: Store, data: dict, agent: str, config: dict) -> tuple[dict, bool]:
    """Prepare and record an insertion; return the result and whether it was new."""
    key, ticket = data["key"], data["ticket"]
    snippet = get_snippet(store, key)
    if snippet["status"] != "published":
        raise Unprocessable(f"Snippet {key!r} is {snippet['status']}, not published; it cannot be inserted.")
    text = ticket_text(ticket)
    language = data.get("language") or choose_language(ticket, text, config, store, searcher())[0]
    values = data["fields"]
    if snippet["kind"] == "reply":
        errors = check_fields(field_specs(snippet), values)
        if errors:
            raise Unprocessable("Fill in the reply's fields before inserting it; see `errors`.",
                                errors={"fields": errors})
    context = ticket_context(ticket, values, store.value_labels())
    text_language = text_in(snippet, language)[0]
    verdict = evaluate(snippet.get("when") or {}, context)
    if snippet["kind"] == "reply" and verdict.eligible is False and not data["confirm_ineligible"]:
        raise NotEligible(f"{verdict.reason} Send confirm_ineligible: true to insert it anyway.",
                          reason=verdict.reason)
    conversation = {"helpdesk": ticket["helpdesk"], "brand": ticket["brand"]}
    with store.transaction():
        code = None
        withhold = bool(snippet["kind"] == "reply" and snippet.get("offer") and data.get("without_offer"))
        if snippet["kind"] == "reply" and snippet.get("offer") and not withhold:
            code = issue_code(store, offer_key=snippet["offer"], ticket_id=ticket["id"], snippet_key=key,
                              customer=ticket.get("customer") or {}, agent=agent, **conversation,
                              subaddressing=config.get("OFFER_SUBADDRESSING", "strip"))
        # Rendered before anything is stored: a template that fails leaves no code and no record.
        shown = _reply_text(snippet, text_language, context, code, withhold) if snippet["kind"] == "reply" else {}
        insertion_id = store.record_insertion({
            **conversation, "ticket_id": ticket["id"], "snippet_key": key, "snippet_version": snippet["version"],
            "kind": snippet["kind"], "language": text_language, "agent": agent, "fields": values,
            "ticket_text": text[:MAX_LEARN_TEXT],
            "eligible": None if verdict.eligible is None else int(verdict.eligible),
            "offer_code_id": code["id"] if code else None, "at": utcnow()})
        # Counted by the upsert, not by a read before it: two nodes inserting the same reply at
        # once both find no row first, but only one of them creates it.
        repeated = store.get_insertion(ticket["id"], key, **conversation)["times"] > 1
        if withhold:
            store.record_withheld_offer(insertion_id, snippet["offer"], data.get("withheld_because"), agent)
        taught = teach(store, snippet, text, language, agent, ticket["id"]) if not repeated else []
    if taught:
        reindexer().poke()
    result = {"insertion_id": insertion_id, "key": key, "kind": snippet["kind"],
              "language": text_language, "text": None, "missing": [], "offer": None,
              "eligible": verdict.eligible, "reason": verdict.reason, "repeated": repeated, "notice": None,
              "offer_withheld": withhold}
    return {**result, **shown}, not repeated


def _reply_text(snippet: dict, language: str, context: dict, code: dict | None, withhold: bool = False) -> dict:
    """The reply's text over the ticket, its gaps and its code as the agent may see them."""
    if code is not None and code["status"] != "issued":
        # A reply promising a code that isn't live would go out broken: send nothing yet.
        return {"offer": code_view(code), "notice": HELD[code["status"]]}
    if code is not None:
        context = {**context, "offer": {"code": code["code"], "expires_on": code["expires_on"]}}
    prepared = prepare(snippet, language, context)
    if prepared.error:
        raise Unprocessable(prepared.error + " A manager must simplify it (see the template limits in the README).")
    if withhold:  # sent without its code: the sentences that give the code go, not just the code
        return {"text": without_sentences(prepared.text, {"offer"}), "offer": None,
                "missing": [m for m in prepared.missing if not m.startswith("offer.")]}
    return {"text": prepared.text, "missing": prepared.missing, "offer": code_view(code) if code else None}
