"""Snippet CRUD and version history (managers write; agents may read)."""
from __future__ import annotations

from flask import Blueprint, url_for
from werkzeug.routing import PathConverter

from server.api import API_PREFIX, doc, json_body, query_args
from server.auth import current_user, require
from server.db import get_store
from server import learning
from server.snippets import service
from server.snippets.schemas import (RESERVED_SEGMENTS, learned_schema, snippet_list_query, snippet_page_schema, snippet_patch_schema,
                                     snippet_schema, version_schema, versions_schema)

bp = Blueprint("snippets", __name__, url_prefix=f"{API_PREFIX}/snippets")


class SnippetKeyConverter(PathConverter):
    """A snippet key in a URL: segments as KEY_PATTERN has them, the last never a sub-resource
    name, so ``PATCH .../learned`` is a 405 on ``/learned``, not a PATCH of a snippet "x/learned"."""

    _segment = r"[a-z0-9][a-z0-9_.\-]*"
    openapi_pattern = rf"^{_segment}(/{_segment})*$"
    regex = (rf"(?:{_segment}/)*(?!(?:{'|'.join(sorted(RESERVED_SEGMENTS))})(?![a-z0-9_.\-])){_segment}")
    part_isolating = False


bp.record_once(lambda state: state.app.url_map.converters.setdefault("snippet_key", SnippetKeyConverter))


def _dump(snippet: dict) -> dict:
    return snippet_schema.dump(service.to_api(snippet))


@bp.get("")
@require("agent")
@doc(summary="List snippets", query=snippet_list_query, response=snippet_page_schema)
def list_snippets():
    args = query_args(snippet_list_query)
    items, total = get_store().list_snippets(**args)
    return snippet_page_schema.dump({"items": [service.to_api(s) for s in items], "total": total, **args})


@bp.post("")
@require("manager")
@doc(summary="Create a snippet", body=snippet_schema, response=snippet_schema, status=201, errors=(409,))
def create_snippet():
    data = snippet_schema.load(json_body())
    snippet = service.create_snippet(get_store(), data, current_user()["name"])
    return _dump(snippet), 201, {"Location": url_for(".get_snippet", key=snippet["key"])}


@bp.get("/<snippet_key:key>")
@require("agent")
@doc(summary="Get a snippet", response=snippet_schema)
def get_snippet(key: str):
    return _dump(service.get_snippet(get_store(), key))


@bp.patch("/<snippet_key:key>")
@require("manager")
@doc(summary="Change a snippet (send `version` to guard against lost updates)",
     body=snippet_patch_schema, response=snippet_schema, errors=(409,))
def update_snippet(key: str):
    changes = snippet_patch_schema.load(json_body())
    return _dump(service.update_snippet(get_store(), key, changes, current_user()["name"]))


@bp.delete("/<snippet_key:key>")
@require("manager")
@doc(summary="Archive a snippet (kept with its history, no longer suggested)", response=snippet_schema)
def archive_snippet(key: str):
    return _dump(service.archive_snippet(get_store(), key, current_user()["name"]))


@bp.post("/<snippet_key:key>/verify")
@require("manager")
@doc(summary="Mark a snippet verified now by the caller", response=snippet_schema)
def verify_snippet(key: str):
    return _dump(service.verify_snippet(get_store(), key, current_user()["name"]))


@bp.get("/<snippet_key:key>/versions")
@require("manager")
@doc(summary="A snippet's version history, newest first", response=versions_schema)
def list_versions(key: str):
    return versions_schema.dump(service.list_versions(get_store(), key))


@bp.get("/<snippet_key:key>/versions/<int(max=9223372036854775807):version>")
@require("manager")
@doc(summary="One version of a snippet", response=version_schema)
def get_version(key: str, version: int):
    return version_schema.dump(service.get_version(get_store(), key, version))


@bp.post("/<snippet_key:key>/versions/<int(max=9223372036854775807):version>/restore")
@require("manager")
@doc(summary="Restore an old version (stored as a new version)", response=snippet_schema)
def restore_version(key: str, version: int):
    return _dump(service.restore_version(get_store(), key, version, current_user()["name"]))


@bp.get("/<snippet_key:key>/learned")
@require("manager")
@doc(summary="The tickets a snippet has learned from (newest first)", response=learned_schema)
def list_learned(key: str):
    store = get_store()
    service.get_snippet(store, key)
    examples = store.list_examples(key)
    return learned_schema.dump({"key": key, "count": len(examples), "examples": examples})


@bp.delete("/<snippet_key:key>/learned")
@require("manager")
@doc(summary="Forget what a snippet has learned", response=learned_schema)
def clear_learned(key: str):
    store = get_store()
    removed = learning.clear(store, service.get_snippet(store, key))
    return learned_schema.dump({"key": key, "count": 0, "removed": removed, "examples": []})
