"""Preparing a reply for a ticket: its fill-in fields, eligibility and rendered text."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from server.eligibility import Eligibility, evaluate
from server.localise import localise
from server.render import RenderError, placeholders, render

_MONEY = re.compile(r"^\d{1,9}([.,]\d{1,2})?$")


def text_in(snippet: dict, language: str | None) -> tuple[str, dict]:
    """The snippet's language and text for ``language``, falling back to its default."""
    if language in snippet["texts"]:
        return language, snippet["texts"][language]
    lang = snippet["default_language"]
    return lang, snippet["texts"][lang]


def field_specs(snippet: dict) -> list[dict]:
    """The reply's fill-in fields: declared ones, then any ``fields.NAME`` used but undeclared.

    A field used in the text but not declared (packs often don't declare them) is a required
    text field: left empty it would leave a gap in the reply the customer reads.
    """
    declared = snippet.get("fields") or {}
    specs = [{"name": name, "label": spec.get("label") or name.replace("_", " ").capitalize(),
              "type": spec.get("type", "text"), "required": bool(spec.get("required")),
              "choices": list(spec.get("choices") or [])} for name, spec in declared.items()]
    used = []
    for text in snippet["texts"].values():
        used += [p.split(".", 1)[1].split(".")[0] for p in placeholders(text["body"]) if p.startswith("fields.")]
    for name in dict.fromkeys(used):
        if name not in declared:
            specs.append({"name": name, "label": name.replace("_", " ").capitalize(), "type": "text",
                          "required": True, "choices": []})
    return specs


def check_fields(specs: list[dict], values: dict) -> dict[str, list[str]]:
    """Problems with the agent's field values, by field name (empty when all is well)."""
    errors: dict[str, list[str]] = {}
    by_name = {s["name"]: s for s in specs}
    for name in values:
        if name not in by_name:
            errors[name] = [f"This reply has no field {name!r}; its fields are {sorted(by_name) or 'none'}."]
    for spec in specs:
        value = values.get(spec["name"])
        text = "" if value is None else str(value).strip()
        if not text:
            if spec["required"]:
                errors[spec["name"]] = [f"Required: fill in '{spec['label']}' before inserting."]
            continue
        if spec["type"] == "choice" and spec["choices"] and text not in spec["choices"]:
            errors[spec["name"]] = [f"Choose one of: {', '.join(spec['choices'])}."]
        elif spec["type"] == "date":
            try:
                date.fromisoformat(text)
            except ValueError:
                errors[spec["name"]] = ["Use a date as YYYY-MM-DD."]
        elif spec["type"] == "money" and not _MONEY.match(text):
            errors[spec["name"]] = ["Use an amount such as 25 or 25.50."]
    return errors


@dataclass
class PreparedReply:
    """A reply ready to show or insert."""

    language: str
    title: str
    text: str | None
    missing: list[str]
    fields: list[dict]
    eligibility: Eligibility
    error: str | None = None  # why the text could not be rendered for this ticket


def prepare(snippet: dict, language: str | None, context: dict) -> PreparedReply:
    """Render a reply over a ticket context and judge whether it fits the ticket."""
    lang, text = text_in(snippet, language)
    try:
        # Values read in the reply's language (statuses, dates); the conditions see them raw.
        rendered, error = render(text["body"], localise(context, lang, context.get("_labels"))), None
    except RenderError as exc:
        rendered, error = None, f"This reply's template cannot be rendered for this ticket: {exc}."
    return PreparedReply(language=lang, title=text["title"], text=rendered.text if rendered else None,
                         missing=rendered.missing if rendered else [], fields=field_specs(snippet),
                         eligibility=evaluate(snippet.get("when") or {}, context), error=error)
