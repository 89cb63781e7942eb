"""Origin checks for the API: browsers may call it only from allowed origins.

Allowed: the extension origins in ``CORS_ORIGINS`` (comma- or space-separated, e.g.
``chrome-extension://<id>``) and the server's own origin. A request with another ``Origin``
header is refused with a 403 problem *before* the view runs: flask-cors would only leave out
the CORS headers, and the request (say, a POST that issues an offer code) would still be
carried out. Requests without ``Origin`` (curl, other servers) are not from a browser page
and pass on to the token check as before.
"""
from __future__ import annotations

from flask import Flask, Response, current_app, request

from server.api import API_PREFIX
from server.errors import problem

# The public self-service API answers shops' sites with its own key and origin rules
# (server/selfservice/routes.py); the agents' origin check does not apply there.
PUBLIC_PREFIX = API_PREFIX + "/public"
ALLOWED_HEADERS = "Authorization, Content-Type"
ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
PREFLIGHT_MAX_AGE = "600"


def allowed_origins(app: Flask) -> set[str]:
    """The configured origins, normalised (no trailing slash)."""
    raw = str(app.config.get("CORS_ORIGINS") or "")
    return {o.strip().rstrip("/") for o in raw.replace(",", " ").split() if o.strip()}


def _own_origin() -> str:
    return request.host_url.rstrip("/")


def _is_api() -> bool:
    path = request.path
    if path == PUBLIC_PREFIX or path.startswith(PUBLIC_PREFIX + "/"):
        return False
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def _check_origin() -> Response | None:
    origin = request.headers.get("Origin")
    if origin is None or not _is_api() or origin == _own_origin():
        return None
    if origin not in current_app.extensions["replyassist.cors"]:
        return problem(403, "origin-not-allowed", "Origin not allowed",
                       f"This server does not accept API calls from {origin}. "
                       "Add it to REPLYASSIST_CORS_ORIGINS if it is your extension or console.")
    if request.method == "OPTIONS":  # preflight: answer it here, no view involved
        response = Response(status=204)
        response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
        return response
    return None


def _add_headers(response: Response) -> Response:
    origin = request.headers.get("Origin")
    if _is_api():
        response.vary.add("Origin")
        if origin and origin != _own_origin() and origin in current_app.extensions["replyassist.cors"]:
            response.headers["Access-Control-Allow-Origin"] = origin
    return response


def init_app(app: Flask) -> None:
    """Check the Origin of API requests and answer allowed cross-origin ones with CORS headers."""
    app.extensions["replyassist.cors"] = allowed_origins(app)
    app.before_request(_check_origin)
    app.after_request(_add_headers)
