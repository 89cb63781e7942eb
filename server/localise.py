"""A ticket's values as they read in the reply's language: statuses from the shop's table, dates by CLDR.

The helpdesk sends ``order.status = "processing"``; an Italian reply must say "in lavorazione".
Managers keep the words in a table (``value_labels``, ``PUT /value-labels/<language>``), the
demo loads ``index/demo/value_labels.json``. Dates (``2027-01-31``, ISO timestamps) in any value
read as that language writes them (Babel's CLDR data: "31 gennaio 2027", "2027年1月31日").
Only the text is localised: eligibility still compares the raw values.
"""
from __future__ import annotations

import re
from datetime import date, datetime

from babel.core import UnknownLocaleError
from babel.dates import format_date

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?$")
# Roots whose values a reply may show; labels and dates apply under these.
_ROOTS = ("customer", "order", "offer", "fields", "ticket")


def local_date(value: str, language: str) -> str:
    """An ISO date or timestamp as ``language`` writes a date; the value itself if it is none."""
    if not _DATE.match(value.strip()):
        return value
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        return format_date(moment.date() if isinstance(moment, datetime) else moment, "long", locale=language)
    except (ValueError, UnknownLocaleError):
        return value


def _local(value, path: str, language: str, labels: dict[str, dict[str, str]]):
    if isinstance(value, dict):
        return {k: _local(v, f"{path}.{k}", language, labels) for k, v in value.items()}
    if isinstance(value, (date, datetime)):
        value = value.isoformat()
    if not isinstance(value, str) or not value:
        return value
    label = labels.get(path, {}).get(value.strip().lower())
    return label if label is not None else local_date(value, language)


def localise(context: dict, language: str, labels: dict[str, dict[str, dict[str, str]]] | None) -> dict:
    """The render context with values labelled for ``language`` (labels: {language: {path: {value: label}}})."""
    table = (labels or {}).get(language, {})
    return {root: _local(value, root, language, table) if root in _ROOTS else value
            for root, value in context.items()}
