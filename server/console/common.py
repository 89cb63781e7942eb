"""Small helpers the console's pages share: language names, directions, paging."""
from __future__ import annotations

from flask import request

# The languages the product ships with, in menu order; others a store holds are added after.
LANGUAGE_NAMES = {"en": "English", "it": "Italian", "id": "Indonesian", "ja": "Japanese", "ar": "Arabic"}
RTL = {"ar", "he", "fa", "ur"}
PAGE_SIZE = 50


def language_name(code: str) -> str:
    """A language's English name, or its code."""
    return LANGUAGE_NAMES.get(code, code)


def direction(code: str) -> str:
    """The text direction of a language: rtl or ltr."""
    return "rtl" if code in RTL else "ltr"


def languages(extra: list[str] | None = None) -> list[str]:
    """The product's languages, then any others in use."""
    return [*LANGUAGE_NAMES, *sorted(set(extra or []) - LANGUAGE_NAMES.keys())]


def page_number() -> int:
    """The requested page (1-based), never below 1."""
    try:
        return max(1, int(request.args.get("page", 1)))
    except ValueError:
        return 1


def page_url(page: int) -> str:
    """This page's URL with another page number, keeping the filters."""
    args = request.args.to_dict()
    args["page"] = str(page)
    from urllib.parse import urlencode
    return f"{request.path}?{urlencode(args)}"
