"""CSV downloads of reports and exports, safe to open in a spreadsheet."""
from __future__ import annotations

import csv
import io

from flask import Response

# A cell starting with one of these is run as a formula by spreadsheet programs (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def to_csv(columns: list[str], rows: list[dict]) -> str:
    """The rows as CSV text with a header line."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return out.getvalue()


def csv_response(columns: list[str], rows: list[dict], filename: str) -> Response:
    """A CSV download (UTF-8 with a BOM, so spreadsheet programs read non-Latin text right)."""
    body = "\ufeff" + to_csv(columns, rows)
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})
