"""POST /suggest (ranked policies and replies for a ticket) and GET /search."""
from __future__ import annotations

import re

from flask import Blueprint, current_app

from server.api import API_PREFIX, doc, json_body, query_args
from server.auth import current_user, require
from server.db import get_store
from server.readcache import cached_store
from server.indexing import searcher
from server.suggest import service
from server.contacts import service as contacts
from server.snippets.schemas import LANGUAGE_PATTERN
from server.errors import Unprocessable
from server.fastdump import dumper
from server.suggest.schemas import (BLANKS, search_query_schema, search_response_schema,
                                    suggest_request_schema, suggest_response_schema, synonyms_schema)

bp = Blueprint("suggest", __name__, url_prefix=API_PREFIX)
# The documented shape, without marshmallow's per-field walk (the result is our own data).
dump_suggest_response = dumper(suggest_response_schema)


@bp.post("/suggest")
@require("agent")
@doc(summary="Suggest policies and replies for a ticket", body=suggest_request_schema,
     response=suggest_response_schema)
def suggest():
    data = suggest_request_schema.load(json_body())
    result = service.suggest(cached_store(), searcher(), data["ticket"], data["limit"], current_app.config,
                             current_user()["name"], learner=current_app.extensions.get("replyassist.learner"))
    result["contact"] = contacts.note_and_summarise(get_store(), data["ticket"], current_user()["name"],
                                                    current_app.config)
    return dump_suggest_response(result)


@bp.get("/search")
@require("agent")
@doc(summary="Search snippets (plain words; highlights as segments)", query=search_query_schema,
     response=search_response_schema)
def search():
    args = query_args(search_query_schema)
    return search_response_schema.dump(service.search(searcher(), args))


@bp.get("/synonyms")
@require("agent")
@doc(summary="Synonym groups by language, used to widen ticket queries")
def list_synonyms():
    return get_store().get_synonyms()


@bp.put("/synonyms/<language>")
@require("manager")
@doc(summary="Replace one language's synonym groups", body=synonyms_schema, response=synonyms_schema,
     path={"language": LANGUAGE_PATTERN})
def put_synonyms(language: str):
    data = synonyms_schema.load(json_body())
    if not re.fullmatch(LANGUAGE_PATTERN, language):
        raise Unprocessable("Use an ISO 639-1 code such as 'en' in the URL.")
    groups = [[word.strip(BLANKS).lower() for word in group] for group in data["groups"]]
    store = get_store()
    with store.transaction():
        store.set_synonyms(language, groups, current_user()["name"])
    return synonyms_schema.dump({"groups": groups})
