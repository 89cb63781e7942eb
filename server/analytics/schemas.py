"""Shapes of analytics reports and their filters."""
from __future__ import annotations

from datetime import date, timedelta

from marshmallow import Schema, ValidationError, fields, post_load, validate

from server.inputs import Pattern
from server.snippets.schemas import LANGUAGE_PATTERN

DEFAULT_DAYS = 30
MAX_DAYS = 3 * 366
# Days a range may name: date arithmetic around them (defaults, the edits report's window, the
# exclusive end) stays inside Python's calendar. The pattern says the same in the document.
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9899, 12, 31)
_DAY_RANGE = validate.Range(min=FIRST_DAY, max=LAST_DAY, error="Use a day from 1970-01-01 to 9899-12-31.")
_DAY_PATTERN = {"pattern": r"^(19[7-9][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2})-"}


class RangeQuery(Schema):
    """Date range (inclusive, UTC days; the last 30 days by default), language, output format."""

    from_ = fields.Date(data_key="from", attribute="from", validate=_DAY_RANGE, metadata={
        "openapi": _DAY_PATTERN, "description": f"On or before `to`, at most {MAX_DAYS} days in all "
                                                f"(else a 422); {DEFAULT_DAYS} days up to `to` by default."})
    to = fields.Date(validate=_DAY_RANGE, metadata={"openapi": _DAY_PATTERN, "description": "Today (UTC) by default."})
    language = fields.String(validate=Pattern(LANGUAGE_PATTERN, error="Use an ISO 639-1 code such as 'en'."))
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))
    window = fields.Integer(load_default=14, validate=validate.Range(min=1, max=180),
                            metadata={"description": "edits: days compared before and after each edit."})

    @post_load
    def _defaults(self, data: dict, **kwargs) -> dict:
        data.setdefault("to", date.today())
        data.setdefault("from", data["to"] - timedelta(days=DEFAULT_DAYS - 1))
        if data["from"] > data["to"]:
            raise ValidationError({"from": ["'from' must not be after 'to'."]})
        if (data["to"] - data["from"]).days >= MAX_DAYS:
            raise ValidationError({"from": [f"Ask for at most {MAX_DAYS} days at a time."]})
        data["start"] = data["from"].isoformat()
        data["end"] = (data["to"] + timedelta(days=1)).isoformat()  # exclusive
        return data


class ReportSchema(Schema):
    """One analytics report: its columns and rows (the same table a CSV download holds)."""

    report = fields.String()
    from_ = fields.String(data_key="from", attribute="from")
    to = fields.String()
    language = fields.String(allow_none=True)
    columns = fields.List(fields.String())
    rows = fields.List(fields.Dict())


range_query = RangeQuery()
report_schema = ReportSchema()
