"""POST /suggest (ranked policies and replies for a ticket) and GET /search."""
from __future__ import annotations

from flask import Blueprint, current_app

from server.api import API_PREFIX, doc, json_body, query_args
from server.auth import current_user, require
from server.db import get_store
from server.indexing import searcher
from server.suggest import service
from server.suggest.schemas import (search_query_schema, search_response_schema,
                                    suggest_request_schema, suggest_response_schema)

bp = Blueprint("suggest", __name__, url_prefix=API_PREFIX)


@bp.post("/suggest")
@require("agent")
@doc(summary="Suggest policies and replies for a ticket", body=suggest_request_schema,
     response=suggest_response_schema)
def suggest():
    data = suggest_request_schema.load(json_body())
    result = service.suggest(get_store(), searcher(), data["ticket"], data["limit"], current_app.config,
                             current_user()["name"])
    return suggest_response_schema.dump(result)


@bp.get("/search")
@require("agent")
@doc(summary="Search snippets (plain words; highlights as segments)", query=search_query_schema,
     response=search_response_schema)
def search():
    args = query_args(search_query_schema)
    return search_response_schema.dump(service.search(searcher(), args))
