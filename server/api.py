"""API plumbing: request parsing, the OpenAPI document built from the views' schemas, health."""
from __future__ import annotations

import re
from collections.abc import Callable

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, current_app, jsonify, request
from marshmallow import Schema

from server.db import get_store
from server.errors import ApiError

API_PREFIX = "/api/v1"
bp = Blueprint("api", __name__, url_prefix=API_PREFIX)


def doc(*, summary: str, body: Schema | None = None, query: Schema | None = None,
        response: Schema | None = None, status: int = 200) -> Callable:
    """Describe a view for the OpenAPI document (the schemas are the ones the view uses)."""

    def decorator(view: Callable) -> Callable:
        view.api_doc = {"summary": summary, "body": body, "query": query,
                        "response": response, "status": status}
        return view

    return decorator


def json_body() -> object:
    """The request's JSON body; malformed JSON or another media type is a clear 400/415."""
    if not request.is_json:
        raise ApiError("Send a JSON body with 'Content-Type: application/json'.")
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError("The request body is not valid JSON.")
    return data


def query_args(schema: Schema) -> dict:
    """The query string loaded through ``schema`` (a ValidationError becomes a 422)."""
    return schema.load(request.args.to_dict())


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def build_spec(app: Flask) -> dict:
    """The OpenAPI 3 document of every documented view."""
    spec = APISpec(title="Reply Assist API", version="1.0.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "Suggestions, search and snippets for support agents. "
                                        "Errors are application/problem+json (RFC 9457)."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    problem = {"description": "Problem details (RFC 9457)",
               "content": {"application/problem+json": {"schema": {"type": "object"}}}}
    paths: dict[str, dict] = {}
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        meta = getattr(view, "api_doc", None)
        if meta is None:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            op: dict = {"summary": meta["summary"], "operationId": rule.endpoint.replace(".", "_"),
                        "responses": {str(meta["status"]): {"description": "OK"}, "default": problem}}
            if meta["response"] is not None:
                op["responses"][str(meta["status"])]["content"] = {
                    "application/json": {"schema": meta["response"]}}
            if meta["body"] is not None:
                op["requestBody"] = {"required": True,
                                     "content": {"application/json": {"schema": meta["body"]}}}
            params = [{"in": "path", "name": arg, "required": True, "schema": {"type": "string"}}
                      for arg in rule.arguments]
            if meta["query"] is not None:
                params.append({"in": "query", "schema": meta["query"]})
            if params:
                op["parameters"] = params
            if getattr(view, "required_role", None):
                op["security"] = [{"bearer": []}]
                op["description"] = f"Needs the {view.required_role} role or higher."
            paths.setdefault(_openapi_path(rule.rule), {})[method.lower()] = op
    for path, operations in sorted(paths.items()):
        spec.path(path=path, operations=operations)
    return spec.to_dict()


@bp.get("/openapi.json")
def get_openapi():
    """The OpenAPI 3 document."""
    if "replyassist.openapi" not in current_app.extensions:
        current_app.extensions["replyassist.openapi"] = build_spec(current_app)
    return jsonify(current_app.extensions["replyassist.openapi"])


@bp.get("/health")
def get_health():
    """Liveness and the state of the store and index."""
    store = get_store()
    from server.indexing import searcher  # here, not at import: keeps this module light

    from server.indexing import index_health

    view = searcher().view()
    # Live documents only (deleted ones stay in view.size until a merge), less the one
    # state document that records the store version.
    documents = max(view.searcher.doc_count() - 1, 0)
    index = index_health(store, current_app.config["INDEX_DIR"])
    return jsonify(status="ok", schema_version=store.schema_version(),
                   snippets=store.count_snippets(), index_documents=documents, index=index)


@bp.get("/health/ready")
def get_readiness():
    """200 when this node's index has caught up with the store (for load balancers), else 503."""
    from server.indexing import index_health

    index = index_health(get_store(), current_app.config["INDEX_DIR"])
    ready = index["in_step"] or (index["state"] == "behind"
                                 and index["lag_seconds"] <= current_app.config["READY_MAX_LAG"])
    return jsonify(ready=ready, index=index), 200 if ready else 503
