"""Whether a reply fits the ticket's facts: its ``when`` conditions against the context.

``when`` is ``{"dotted.path": [allowed values]}``; all must hold. A fact the context lacks is
*unknown*, not false: the agent may know it even if the helpdesk didn't send it.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Eligibility:
    """``eligible`` is True, False or None (unknown), with a reason a person can read."""

    eligible: bool | None
    reason: str | None


def lookup(context: dict, path: str) -> object | None:
    """The value at a dotted path, or None when any step is missing or empty."""
    value: object = context
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return None if value in ("", None) else value


def _words(values: list) -> str:
    values = [str(v) for v in values]
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " or " + values[-1]


def _subject(context: dict, path: str) -> str:
    """How a reason names the fact: "order A-10482", "the customer's membership"."""
    root, _, leaf = path.partition(".")
    if root == "order":
        order_id = lookup(context, "order.id")
        name = f"order {order_id}" if order_id else "the order"
        return name if leaf == "status" else f"{name}'s {leaf.replace('_', ' ')}"
    return f"the {root}'s {leaf.replace('_', ' ').replace('.', ' ')}"


def _wanted(path: str, allowed: list) -> str:
    root, _, leaf = path.partition(".")
    if path == "order.status":
        return f"orders that are {_words(allowed)}"
    if path == "customer.membership":
        return f"{_words(allowed)} members"
    return f"{root} {leaf.replace('_', ' ')} {_words(allowed)}"


def evaluate(when: dict, context: dict) -> Eligibility:
    """Evaluate every condition; a false one decides, else an unknown one, else eligible."""
    unknown = []
    for path, allowed in (when or {}).items():
        value = lookup(context, path)
        if value is None:
            unknown.append(path)
            continue
        if str(value).strip().lower() not in {str(a).lower() for a in allowed}:
            return Eligibility(False, f"{_subject(context, path)} is {value}; "
                                      f"this reply is for {_wanted(path, allowed)}.")
    if unknown:
        return Eligibility(None, f"Not known from the ticket: {', '.join(unknown)}; "
                                 f"this reply is for {'; '.join(_wanted(p, when[p]) for p in unknown)}.")
    return Eligibility(True, None)
