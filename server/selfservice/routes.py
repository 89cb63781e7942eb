"""The public API (``/api/v1/public``), the help widget's files, and the demo FAQ page.

No agent token here: a shop's public key (``X-Replyassist-Key``) names the shop, its site
origins get CORS, every key and client address is rate-limited, and answers are cacheable.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Blueprint, Flask, Response, abort, current_app, g, jsonify, render_template, request

from server.api import doc, query_args
from server.cors import PUBLIC_PREFIX
from server.db import get_store
from server.demo import CSP
from server.errors import ApiError, Forbidden, Unauthorized
from server.indexing import searcher
from server.selfservice import service
from server.selfservice.keys import find_public_key
from server.selfservice.schemas import answers_query_schema, answers_schema

KEY_HEADER = "X-Replyassist-Key"
bp = Blueprint("public", __name__, url_prefix=PUBLIC_PREFIX)
widget_bp = Blueprint("widget", __name__, url_prefix="/widget/v1", static_folder="static",
                      static_url_path="")
demo_bp = Blueprint("selfservice_demo", __name__, url_prefix="/demo", template_folder="templates")


class TooManyRequests(ApiError):
    """The key or client asked too often; ``Retry-After`` says when to ask again."""

    status, slug, title = 429, "too-many-requests", "Too many requests"


def _origins(key: dict | None) -> set[str]:
    configured = current_app.extensions["replyassist.public_origins"]
    if key is None:  # a preflight carries no key: any shop's origin may ask
        return configured | get_store().public_origins()
    return configured | set(key["origins"])


def _own_origin() -> str:
    return request.host_url.rstrip("/")


@bp.before_request
def _check():
    origin = request.headers.get("Origin")
    cross = origin is not None and origin != _own_origin()
    if request.method == "OPTIONS":
        if not cross or origin not in _origins(None):
            raise Forbidden(f"This server does not answer self-service calls from {origin}; "
                            "create the shop's key with --origin for its site.")
        response = Response(status=204)
        response.headers["Access-Control-Allow-Methods"] = "GET, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = KEY_HEADER
        response.headers["Access-Control-Max-Age"] = "600"
        return response
    key = find_public_key(get_store(), request.headers.get(KEY_HEADER, ""))
    if key is None:
        raise Unauthorized(f"Send the shop's public key as '{KEY_HEADER}: <key>' "
                           "(flask --app server public-key create).")
    if cross and origin not in _origins(key):
        raise Forbidden(f"This shop's key is not allowed from {origin}.")
    wait = current_app.extensions["replyassist.public_limiter"].take((key["id"], request.remote_addr))
    if wait:
        raise TooManyRequests(f"Too many questions from here; ask again in {wait} s.", retry_after=wait)
    g.public_key = key


@bp.after_request
def _headers(response: Response) -> Response:
    origin = request.headers.get("Origin")
    response.vary.add("Origin")
    response.vary.add(KEY_HEADER)
    if origin and origin != _own_origin() and origin in _origins(g.get("public_key")):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = "Retry-After"
    if response.status_code == 429:
        response.headers["Retry-After"] = str(response.get_json(silent=True).get("retry_after", 1))
    if response.status_code != 200:
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/answers")
@doc(summary="Answers to a customer's question (public; send X-Replyassist-Key)",
     query=answers_query_schema, response=answers_schema, public_key=True)
def get_answers():
    args = query_args(answers_query_schema)
    result = service.answers(get_store(), searcher(), args["q"], args.get("language"), args["limit"],
                             current_app.config, current_app.extensions.get("replyassist.learner"))
    response = jsonify(answers_schema.dump(result))
    # Answers change only when a snippet does: browsers and the shop's CDN may keep them a while.
    response.headers["Cache-Control"] = f"public, max-age={current_app.config['PUBLIC_MAX_AGE']}"
    response.set_etag(hashlib.sha256(response.get_data()).hexdigest()[:32])
    return response.make_conditional(request)


@demo_bp.after_request
def _demo_headers(response: Response) -> Response:
    # The demo helpdesk's strict policy: the widget must work under it, as on a real shop.
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _demo_key(app: Flask) -> str | None:
    path = Path(app.config["HOME"]) / "demo-public.key"
    return path.read_text().strip() if path.exists() else None


@demo_bp.get("/faq")
def show_faq():
    """The demo shop's help page with the widget on it (one script tag)."""
    key = _demo_key(current_app)
    if key is None:
        abort(404, "Run `flask --app server demo` first: it creates the demo shop's public key.")
    return render_template("selfservice/faq.html", public_key=key)


def init_app(app: Flask) -> None:
    """Register the public API, the widget's files, and (in demo mode) the FAQ page."""
    rate, per = service.parse_rate(app.config["PUBLIC_RATE_LIMIT"])
    app.extensions["replyassist.public_limiter"] = service.RateLimiter(rate, per)
    raw = str(app.config.get("PUBLIC_CORS_ORIGINS") or "")
    app.extensions["replyassist.public_origins"] = {o.strip().rstrip("/") for o in raw.replace(",", " ").split()}
    app.register_blueprint(bp)
    app.register_blueprint(widget_bp)
    if app.config.get("DEMO"):
        app.register_blueprint(demo_bp)
