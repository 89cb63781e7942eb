"""Helpdesk bodies to our text: HTML to clean plain text, their placeholders to ours."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import nh3

# Our placeholder for each of theirs (paths as the helpdesks document them).
PLACEHOLDERS = {
    "zendesk": {
        "ticket.requester.first_name": "customer.first_name", "ticket.requester.name": "customer.name",
        "ticket.requester.email": "customer.email", "ticket.requester.last_name": "customer.last_name",
        "current_user.first_name": "agent.first_name", "current_user.name": "agent.name",
        "ticket.assignee.first_name": "agent.first_name", "ticket.assignee.name": "agent.name",
        "ticket.id": "ticket.id", "ticket.title": "ticket.subject",
    },
    "freshdesk": {
        "ticket.requester.name": "customer.name", "ticket.requester.firstname": "customer.first_name",
        "ticket.requester.first_name": "customer.first_name", "ticket.requester.email": "customer.email",
        "ticket.agent.name": "agent.name", "ticket.agent.firstname": "agent.first_name",
        "ticket.agent.first_name": "agent.first_name", "ticket.id": "ticket.id", "ticket.subject": "ticket.subject",
    },
    "gorgias": {
        "ticket.customer.firstname": "customer.first_name", "ticket.customer.first_name": "customer.first_name",
        "ticket.customer.name": "customer.name", "ticket.customer.email": "customer.email",
        "ticket.customer.lastname": "customer.last_name",
        "current_user.firstname": "agent.first_name", "current_user.first_name": "agent.first_name",
        "current_user.name": "agent.name", "ticket.id": "ticket.id", "ticket.subject": "ticket.subject",
        "ticket.customer.integrations.shopify.orders[0].name": "order.id",
        "ticket.customer.integrations.shopify.orders[0].fulfillments[0].tracking_number": "order.tracking_number",
    },
}
_PLACEHOLDER = re.compile(r"\{\{\s*(.*?)\s*\}\}", re.S)
_TAG = re.compile(r"\{%.*?%\}", re.S)
_BLOCKS = {"p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "blockquote", "tr", "table"}
_KEEP_TAGS = _BLOCKS | {"br", "a", "strong", "b", "em", "i", "span", "td"}


@dataclass
class Converted:
    """A body in our template syntax, and what had no equivalent."""

    text: str
    translated: list[tuple[str, str]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)      # their placeholders with no equivalent
    fields: dict[str, dict] = field(default_factory=dict)  # fill-in fields made for those
    notes: list[str] = field(default_factory=list)


class _TextWriter(HTMLParser):
    """Sanitised HTML → text: blocks become lines, list items "- ", links "text (url)"."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._href: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        if tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in _BLOCKS:
            self.parts.append("\n")
        elif tag == "a":
            self._href.append(dict(attrs).get("href"))

    def handle_endtag(self, tag):
        if tag in _BLOCKS and tag != "li":
            self.parts.append("\n")
        elif tag == "a" and self._href:
            href = self._href.pop()
            if href and href not in "".join(self.parts[-1:]):
                self.parts.append(f" ({href})")

    def handle_data(self, data):
        self.parts.append(data)


def html_to_text(source: str) -> str:
    """Clean text of an HTML body: scripts, styles and every attribute but links' go (nh3)."""
    safe = nh3.clean(source, tags=_KEEP_TAGS, attributes={"a": {"href"}}, link_rel=None,
                     url_schemes={"http", "https", "mailto"})
    writer = _TextWriter()
    writer.feed(safe)
    writer.close()
    return tidy(html.unescape("".join(writer.parts)))


def tidy(text: str) -> str:
    """Trim each line and keep at most one blank line in a row."""
    lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.replace("\r\n", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def field_name(path: str) -> str:
    """A fill-in field name for a placeholder we cannot fill from the ticket."""
    return (re.sub(r"[^a-z0-9]+", "_", path.lower()).strip("_") or "value")[:60]


def convert_placeholders(text: str, source: str) -> Converted:
    """Their placeholders to ours; those without one become visible fill-in fields (reported)."""
    table = PLACEHOLDERS[source]
    out = Converted(text="")
    # Liquid/Jinja logic ({% if %} ...) has no equivalent: shown as written, in brackets.
    for tag in _TAG.findall(text):
        out.unknown.append(tag)
    text = _TAG.sub(lambda m: "[[" + m.group(0)[2:-2].strip() + "]]", text)

    def replace(match: re.Match) -> str:
        path, _, rest = match.group(1).partition("|")
        path = path.strip()
        if rest.strip():
            out.notes.append(f"filter '{rest.strip()}' on {path} dropped")
        if path in table:
            out.translated.append((path, table[path]))
            return "{{ " + table[path] + " }}"
        out.unknown.append(path)
        name = field_name(path)
        out.fields[name] = {"label": f"{path} ({source})", "type": "text", "required": False,
                            "choices": []}
        return "{{ fields." + name + " }}"

    out.text = _PLACEHOLDER.sub(replace, text)
    return out
