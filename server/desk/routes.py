"""Value labels (managers), rendered replies and the agent's favourites (agents)."""
from __future__ import annotations

import re

from flask import Blueprint, current_app, request

from server.api import API_PREFIX, doc, json_body
from server.auth import current_user, require
from server.db import get_store
from server.desk import service
from server.desk.schemas import (my_replies_schema, render_request_schema, render_response_schema,
                                 value_labels_schema)
from server.errors import Unprocessable
from server.snippets.schemas import LANGUAGE_PATTERN
from server.snippets.service import get_snippet

bp = Blueprint("desk", __name__, url_prefix=API_PREFIX)


def _language(language: str) -> str:
    if not re.fullmatch(LANGUAGE_PATTERN, language):
        raise Unprocessable("Use an ISO 639-1 code such as 'en' in the URL.")
    return language


@bp.get("/value-labels")
@require("agent")
@doc(summary="How ticket values read in each language ({language: {path: {value: label}}})")
def list_value_labels():
    return get_store().value_labels()


@bp.put("/value-labels/<language>")
@require("manager")
@doc(summary="Replace one language's value labels", body=value_labels_schema, response=value_labels_schema,
     path={"language": LANGUAGE_PATTERN})
def put_value_labels(language: str):
    data = value_labels_schema.load(json_body())
    labels = {path: {value.strip().lower(): label for value, label in values.items()}
              for path, values in data["labels"].items()}
    store = get_store()
    with store.transaction():
        store.set_value_labels(_language(language), labels, current_user()["name"])
    return value_labels_schema.dump({"labels": labels})


@bp.post("/replies/render")
@require("agent")
@doc(summary="Render chosen replies over the open ticket (search hits, favourites)",
     body=render_request_schema, response=render_response_schema)
def render_replies():
    data = render_request_schema.load(json_body())
    result = service.render_replies(get_store(), data["ticket"], data["keys"], data.get("language"),
                                    current_app.config)
    return render_response_schema.dump(result)


@bp.get("/me/replies")
@require("agent")
@doc(summary="The caller's favourite and recently inserted replies", response=my_replies_schema)
def my_replies():
    language = request.args.get("language")
    return my_replies_schema.dump(service.my_replies(get_store(), current_user()["name"], language))


@bp.put("/me/favourites/<path:key>")
@require("agent")
@doc(summary="Mark a reply as a favourite of the caller", response=my_replies_schema)
def add_favourite(key: str):
    store = get_store()
    get_snippet(store, key)
    with store.transaction():
        store.set_favourite(current_user()["name"], key, True)
    return my_replies_schema.dump(service.my_replies(store, current_user()["name"], request.args.get("language")))


@bp.delete("/me/favourites/<path:key>")
@require("agent")
@doc(summary="Unmark a favourite", response=my_replies_schema)
def remove_favourite(key: str):
    store = get_store()
    with store.transaction():
        store.set_favourite(current_user()["name"], key, False)
    return my_replies_schema.dump(service.my_replies(store, current_user()["name"], request.args.get("language")))
