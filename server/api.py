"""API plumbing: request parsing, the OpenAPI document built from the views' schemas, health."""
from __future__ import annotations

import re
from collections.abc import Callable

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, current_app, jsonify, request
from marshmallow import Schema
from werkzeug.routing import BaseConverter
from marshmallow import fields as ma_fields

from server.db import get_store
from server import inputs
from server.errors import ApiError, Unprocessable

API_PREFIX = "/api/v1"
bp = Blueprint("api", __name__, url_prefix=API_PREFIX)


def doc(*, summary: str, body: Schema | None = None, query: Schema | None = None,
        response: Schema | None = None, status: int = 200, also: tuple[int, ...] = (),
        errors: tuple[int, ...] = (), path: dict[str, str | tuple[str, ...]] | None = None, csv: bool = False,
        public_key: bool = False) -> Callable:
    """Describe a view for the OpenAPI document (the schemas are the ones the view uses).

    ``also``: other success statuses with the same body; ``errors``: error statuses the view's
    service may answer besides those its shape implies (see ``_error_statuses``); ``path``: the
    patterns a view checks its path parameters against (a mismatch is its 422), or the names it
    knows (a tuple: another is its 404); ``csv``: the
    success may be a CSV download; ``public_key``: called with a shop's public key (self-service).
    """

    def decorator(view: Callable) -> Callable:
        view.api_doc = {"summary": summary, "body": body, "query": query, "response": response,
                        "status": status, "also": also, "errors": errors, "path": path or {},
                        "csv": csv, "public_key": public_key}
        return view

    return decorator


def json_body() -> object:
    """The request's JSON body; malformed JSON or another media type is a clear 400/415."""
    if not request.is_json:
        raise ApiError("Send a JSON body with 'Content-Type: application/json'.")
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # the parser itself gives up on arrays nested thousands deep
        raise ApiError(f"The request body nests deeper than the {inputs.MAX_DEPTH} levels accepted.") from None
    if data is None:
        raise ApiError("The request body is not valid JSON.")
    found = inputs.problems(data)
    if found:
        raise Unprocessable("The request body holds text that is not valid Unicode or nests too deeply; "
                            "see `errors`.", errors=inputs.nested(found))
    return data


def url_part(bp: Blueprint, name: str, regex: str) -> None:
    """A URL converter ``<name:...>`` matching ``regex`` (a part that doesn't match is a 404),
    which the OpenAPI document states as the parameter's pattern."""
    converter = type(f"{name}_converter", (BaseConverter,), {
        "regex": regex, "openapi_pattern": f"^{regex}$", "part_isolating": "/" not in regex})
    bp.record_once(lambda state: state.app.url_map.converters.setdefault(name, converter))


def query_args(schema: Schema) -> dict:
    """The query string loaded through ``schema`` (a ValidationError becomes a 422)."""
    return schema.load(request.args.to_dict())


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?([a-z_]+)>", r"{\1}", rule)


# What each error status means, as the document says it.
_ERRORS = {400: "Not JSON, malformed JSON, or nested too deeply", 401: "No token, or a token that is not valid",
           403: "The token's role may not do this, or a browser origin that is not allowed",
           404: "Nothing has this key or id", 409: "Conflicts with the stored state (the detail says which)",
           413: "The body is larger than MAX_CONTENT_LENGTH",
           429: "Asked too often: `Retry-After` says in how many seconds to ask again",
           422: "Failed validation (`errors` names the fields), or the request can't be carried out as asked"}
_PROBLEM = {"type": "object", "required": ["type", "title", "status", "detail"],
            "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                           "status": {"type": "integer"}, "detail": {"type": "string"},
                           "errors": {"type": "object"}}}


def _key_constraints(self, field, ret, **kwargs) -> dict:
    """A Dict field's key rules as ``propertyNames`` (OpenAPI 3.1), so the document states them."""
    if isinstance(field, ma_fields.Dict) and field.key_field is not None:
        names = {k: v for k, v in self.field2property(field.key_field).items() if k != "type"}
        return {"propertyNames": names} if names else {}
    return {}


def _field_schema(self, field, ret, **kwargs) -> dict:
    """What a field says of itself for the document: a custom field's ``openapi`` attribute
    (marshmallow can't describe its ``_deserialize``), or ``metadata["openapi"]`` of one field."""
    return {**getattr(field, "openapi", {}), **field.metadata.get("openapi", {})}


def _error_statuses(rule, view, meta: dict) -> set[int]:
    """The error statuses a view can answer: its shape's (body, query, path, role) and its own."""
    statuses = {403, *meta["errors"]}  # 403: any /api route refuses a foreign browser origin
    if meta["body"] is not None:
        statuses |= {400, 413, 422}
    if meta["query"] is not None:
        statuses.add(422)
    if rule.arguments:
        statuses.add(404)
    if any(isinstance(checked, str) for checked in meta["path"].values()):
        statuses.add(422)
    if getattr(view, "required_role", None):
        statuses.add(401)
    if meta["public_key"]:
        statuses |= {401, 429}
    return statuses


def _path_parameter(rule, name: str, pattern: str | tuple[str, ...] | None) -> dict:
    """A path parameter with the constraints its URL converter (or its view) enforces."""
    converter = rule._converters[name]
    if isinstance(pattern, tuple):
        schema = {"type": "string", "enum": list(pattern)}
    elif hasattr(converter, "max"):  # an IntegerConverter
        schema = {"type": "integer", "minimum": converter.min or 0}
        if converter.max is not None:
            schema["maximum"] = converter.max
    else:
        schema = {"type": "string"}
        pattern = pattern or getattr(converter, "openapi_pattern", None)
        if pattern:
            schema["pattern"] = pattern
    return {"in": "path", "name": name, "required": True, "schema": schema}


def build_spec(app: Flask) -> dict:
    """The OpenAPI 3 document of every documented view."""
    plugin = MarshmallowPlugin()
    spec = APISpec(title="Reply Assist API", version="1.0.0", openapi_version="3.1.0",
                   plugins=[plugin],
                   info={"description": "Suggestions, search and snippets for support agents. "
                                        "Errors are application/problem+json (RFC 9457)."})
    plugin.converter.add_attribute_function(_key_constraints)
    plugin.converter.add_attribute_function(_field_schema)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.security_scheme("publicKey", {"type": "apiKey", "in": "header", "name": "X-Replyassist-Key"})
    spec.components.schema("Problem", _PROBLEM)
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    paths: dict[str, dict] = {}
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        meta = getattr(view, "api_doc", None)
        if meta is None:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            responses = {}
            for status in (meta["status"], *meta["also"]):
                responses[str(status)] = {"description": "OK" if status == 200 else "Created" if status == 201 else "Done"}
                content = responses[str(status)].setdefault("content", {})
                if meta["response"] is not None:
                    content["application/json"] = {"schema": meta["response"]}
                if meta["csv"]:
                    content["text/csv"] = {"schema": {"type": "string"}}
                if not content:
                    del responses[str(status)]["content"]
            for status in sorted(_error_statuses(rule, view, meta)):
                responses[str(status)] = {"description": _ERRORS[status], "content": problem}
            op: dict = {"summary": meta["summary"], "operationId": rule.endpoint.replace(".", "_"),
                        "responses": responses}
            if meta["body"] is not None:
                op["requestBody"] = {"required": True,
                                     "content": {"application/json": {"schema": meta["body"]}}}
            params = [_path_parameter(rule, arg, meta["path"].get(arg)) for arg in sorted(rule.arguments)]
            if meta["query"] is not None:
                params.append({"in": "query", "schema": meta["query"]})
            if params:
                op["parameters"] = params
            if getattr(view, "required_role", None):
                op["security"] = [{"bearer": []}]
                op["description"] = f"Needs the {view.required_role} role or higher."
            if meta["public_key"]:
                op["security"] = [{"publicKey": []}]
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

    from server.indexing import index_health, reindexer

    view = searcher().view()
    # Live documents only (deleted ones stay in view.size until a merge), less the one
    # state document that records the store version.
    documents = max(view.searcher.doc_count() - 1, 0)
    index = {**index_health(store, current_app.config["INDEX_DIR"]), "follower": reindexer().status()}
    learner = {**current_app.extensions["replyassist.learner"].status(), "store_data_version": store.data_version()}
    return jsonify(status="ok", schema_version=store.schema_version(),
                   snippets=store.count_snippets(), index_documents=documents, index=index, learner=learner)


@bp.get("/health/ready")
def get_readiness():
    """200 when this node's index has caught up with the store (for load balancers), else 503."""
    from server.indexing import index_health

    index = index_health(get_store(), current_app.config["INDEX_DIR"])
    ready = index["in_step"] or (index["state"] == "behind"
                                 and index["lag_seconds"] <= current_app.config["READY_MAX_LAG"])
    return jsonify(ready=ready, index=index), 200 if ready else 503
