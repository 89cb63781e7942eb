"""POST /insertions: the agent inserts a reply (or marks a policy used)."""
from __future__ import annotations

from flask import Blueprint, current_app

from server.api import API_PREFIX, doc, json_body
from server.auth import current_user, require
from server.db import get_store
from server.contacts import service as contacts
from server.insertions import service
from server.insertions.schemas import insertion_request_schema, insertion_response_schema

bp = Blueprint("insertions", __name__, url_prefix=API_PREFIX)


@bp.post("/insertions")
@require("agent")
@doc(summary="Insert a reply into a ticket (issues its offer code), or mark a policy used",
     body=insertion_request_schema, response=insertion_response_schema, status=201, also=(200,),
     errors=(404, 409))
def create_insertion():
    data = insertion_request_schema.load(json_body())
    result, created = service.insert(get_store(), data, current_user()["name"], current_app.config)
    contacts.note(get_store(), data["ticket"], current_user()["name"], current_app.config)
    return insertion_response_schema.dump(result), 201 if created else 200
