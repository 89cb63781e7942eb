"""Errors as RFC 9457 problem details (``application/problem+json``).

Services raise :class:`ApiError` subclasses; one handler per family turns them, marshmallow's
``ValidationError`` and Werkzeug's HTTP errors into problem documents. A 500 never leaks
internals: the detail is generic and the traceback goes to the log.
"""
from __future__ import annotations

import logging

from flask import Flask, Response, json
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

PROBLEM_MIME = "application/problem+json"
TYPE_BASE = "https://replyassist.dev/problems/"

log = logging.getLogger(__name__)


class ApiError(Exception):
    """Base of the errors a service may raise; rendered as problem+json."""

    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(ApiError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(ApiError):
    status, slug, title = 409, "conflict", "Conflict"


class Unprocessable(ApiError):
    status, slug, title = 422, "validation-error", "Invalid request"


class Unauthorized(ApiError):
    status, slug, title = 401, "unauthorized", "Authentication required"


class Forbidden(ApiError):
    status, slug, title = 403, "forbidden", "Not allowed"


def problem(status: int, slug: str, title: str, detail: str, **extra: object) -> Response:
    """Build a problem+json response."""
    body = {"type": TYPE_BASE + slug, "title": title, "status": status, "detail": detail}
    body.update(extra)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_MIME)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="replyassist"'
    return response


def _handle_api_error(error: ApiError) -> Response:
    return problem(error.status, error.slug, error.title, error.detail, **error.extra)


def _handle_validation_error(error: ValidationError) -> Response:
    return problem(
        422, "validation-error", "Invalid request",
        "The request body or query failed validation; see `errors`.",
        errors=error.messages,
    )


def _handle_http_exception(error: HTTPException) -> Response:
    slug = (error.name or "error").lower().replace(" ", "-")
    detail = error.description or error.name
    if error.code == 413:
        detail = "The request body is larger than this server accepts."
    response = problem(error.code or 500, slug, error.name, detail)
    if error.code == 405 and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def _handle_unexpected(error: Exception) -> Response:
    log.exception("unhandled error", exc_info=error)
    return problem(500, "internal-error", "Internal Server Error",
                   "The server failed to handle this request; it has been logged.")


def init_app(app: Flask) -> None:
    """Register the problem+json handlers."""
    app.register_error_handler(ApiError, _handle_api_error)
    app.register_error_handler(ValidationError, _handle_validation_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(Exception, _handle_unexpected)
