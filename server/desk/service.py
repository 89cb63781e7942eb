"""Replies rendered for the open ticket outside /suggest (search hits, favourites), and the agent's lists."""
from __future__ import annotations

from index.searcher import Hit
from server.db import Store
from server.replies import text_in
from server.suggest.service import choose_language, present, ticket_context, ticket_text

RECENT = 8


def render_replies(store: Store, ticket: dict, keys: list[str], language: str | None, config: dict) -> dict:
    """The given published replies rendered over the ticket, in its language (or ``language``)."""
    lang = language or choose_language(ticket, ticket_text(ticket), config)[0]
    snippets = store.get_snippets(keys)
    context = ticket_context(ticket, labels=store.value_labels())
    wanted = [snippets[k] for k in dict.fromkeys(keys)
              if k in snippets and snippets[k]["kind"] == "reply" and snippets[k]["status"] == "published"]
    offers = {s["offer"]: store.get_offer(s["offer"]) for s in wanted if s.get("offer")}
    replies = []
    for snippet in wanted:
        text_lang = text_in(snippet, lang)[0]
        hit = Hit(key=snippet["key"], kind="reply", language=text_lang, score=0.0, fallback=text_lang != lang)
        replies.append(present(hit, snippet, context, offers))
    return {"language": lang, "replies": replies}


def my_replies(store: Store, agent: str, language: str | None) -> dict:
    """The agent's favourites and recent insertions, with titles in ``language`` where there is one."""
    favourites, recent = store.favourites(agent), store.recent_insertions(agent, RECENT)
    snippets = store.get_snippets(list(dict.fromkeys(favourites + recent)))

    def shortcut(key: str) -> dict | None:
        snippet = snippets.get(key)
        if snippet is None or snippet["status"] != "published":
            return None
        return {"key": key, "title": text_in(snippet, language)[1]["title"]}

    return {"favourites": [s for s in map(shortcut, favourites) if s],
            "recent": [s for s in map(shortcut, recent) if s]}
