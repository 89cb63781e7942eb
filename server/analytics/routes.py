"""GET /analytics/<report> (JSON or CSV) and the raw exports /exports/insertions.csv, /exports/codes.csv."""
from __future__ import annotations

from flask import Blueprint

from server.analytics import service
from server.analytics.csvout import csv_response
from server.analytics.schemas import range_query, report_schema
from server.api import API_PREFIX, doc, query_args
from server.auth import require
from server.db import get_store
from server.errors import NotFound
from server.insights import fresh_events

bp = Blueprint("analytics", __name__, url_prefix=API_PREFIX)


@bp.get("/analytics/<name>")
@require("manager")
@doc(summary="An analytics report (" + ", ".join(service.REPORTS) + "); format=csv downloads it",
     query=range_query, response=report_schema, csv=True, path={"name": service.REPORTS})
def get_report(name: str):
    if name not in service.REPORTS:
        raise NotFound(f"No report {name!r}; there are {', '.join(service.REPORTS)}.")
    q = query_args(range_query)
    fresh_events()
    result = service.report(get_store(), name, q)
    if q["format"] == "csv":
        return csv_response(result["columns"], result["rows"], f"{name}-{result['from']}-{result['to']}.csv")
    return report_schema.dump(result)


@bp.get("/exports/insertions.csv")
@require("manager")
@doc(summary="Every insertion in the range as CSV (with its offer code), for the shop's own BI",
     query=range_query, csv=True)
def export_insertions():
    q = query_args(range_query)
    rows = get_store().insertions_between(q["start"], q["end"], q.get("language"))
    return csv_response(service.INSERTION_COLUMNS, rows, f"insertions-{q['from']}-{q['to']}.csv")


@bp.get("/exports/codes.csv")
@require("manager")
@doc(summary="Every offer code issued in the range as CSV: who gave what to whom", query=range_query,
     csv=True)
def export_codes():
    q = query_args(range_query)
    rows = get_store().codes_between(q["start"], q["end"])
    return csv_response(service.CODE_COLUMNS, rows, f"codes-{q['from']}-{q['to']}.csv")
