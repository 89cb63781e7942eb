"""GET /content-gaps (topics of tickets where nothing was inserted) and POST /content-gaps/dismissals."""
from __future__ import annotations

from flask import Blueprint

from server.analytics.csvout import csv_response
from server.analytics.schemas import range_query
from server.api import API_PREFIX, doc, json_body, query_args
from server.auth import current_user, require
from server.db import get_store
from server.gaps import service
from server.insights import fresh_events
from server.gaps.schemas import dismiss_schema, dismissal_schema, gaps_schema

bp = Blueprint("gaps", __name__, url_prefix=API_PREFIX)
CSV_COLUMNS = ["id", "size", "languages", "terms", "nothing_inserted", "all_unhelpful", "example"]


def csv_rows(result: dict) -> list[dict]:
    """Topics flattened for a CSV download."""
    return [{"id": t["id"], "size": t["size"], "languages": " ".join(f"{k}:{v}" for k, v in t["languages"].items()),
             "terms": " ".join(t["terms"]), "nothing_inserted": t["why"].get("nothing_inserted", 0),
             "all_unhelpful": t["why"].get("all_unhelpful", 0), "example": t["examples"][0]["text"]}
            for t in result["topics"]]


@bp.get("/content-gaps")
@require("manager")
@doc(summary="Topics of tickets shown suggestions where nothing was inserted", query=range_query,
     response=gaps_schema, csv=True)
def list_gaps():
    q = query_args(range_query)
    fresh_events()
    result = service.content_gaps(get_store(), q)
    if q["format"] == "csv":
        return csv_response(CSV_COLUMNS, csv_rows(result), f"content-gaps-{result['from']}-{result['to']}.csv")
    return gaps_schema.dump(result)


@bp.post("/content-gaps/dismissals")
@require("manager")
@doc(summary="Dismiss a topic: its tickets leave the gap list", body=dismiss_schema,
     response=dismissal_schema, status=201)
def dismiss_gap():
    data = dismiss_schema.load(json_body())
    return dismissal_schema.dump(service.dismiss(get_store(), data, current_user()["name"])), 201
