"""POST/DELETE /feedback (agents say "not helpful") and GET /feedback?key= (managers read it)."""
from __future__ import annotations

from flask import Blueprint

from server.api import API_PREFIX, doc, json_body, query_args
from server.auth import current_user, require
from server.db import get_store
from server.feedback import service
from server.insights import fresh_events
from server.feedback.schemas import (feedback_list_query, feedback_request_schema, feedback_schema,
                                     feedback_undo_schema, snippet_feedback_schema)

bp = Blueprint("feedback", __name__, url_prefix=API_PREFIX)


@bp.post("/feedback")
@require("agent")
@doc(summary="Mark a suggestion not helpful for a ticket (optional reason)", body=feedback_request_schema,
     response=feedback_schema, status=201, also=(200,), errors=(404,))
def create_feedback():
    data = feedback_request_schema.load(json_body())
    fresh_events()  # the ticket's language comes from its suggestion event
    item, created = service.record(get_store(), data, current_user()["name"])
    return feedback_schema.dump(item), 201 if created else 200


@bp.delete("/feedback")
@require("agent")
@doc(summary="Take back your 'not helpful' on a ticket", body=feedback_undo_schema, status=204,
     errors=(404,))
def delete_feedback():
    service.undo(get_store(), feedback_undo_schema.load(json_body()), current_user()["name"])
    return "", 204


@bp.get("/feedback")
@require("manager")
@doc(summary="A snippet's feedback: counts by reason and every item", query=feedback_list_query,
     response=snippet_feedback_schema, errors=(404,))
def list_feedback():
    args = query_args(feedback_list_query)
    return snippet_feedback_schema.dump(service.for_snippet(get_store(), args["key"]))
