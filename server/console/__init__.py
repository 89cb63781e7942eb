"""The managers' console at /console/: server-rendered pages over the same services as the API.

One blueprint. Views live in modules by area (``library``, ``editor``, ``verification``, ...)
and register on ``bp``; pages extend ``console/base.html``. To add a section (say analytics),
write a module that registers its views on ``bp`` and call :func:`add_nav` for its menu entry.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Flask

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
               static_folder="static", static_url_path="/static")

# No inline script or style anywhere: every script and stylesheet is a file under static/.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")


@dataclass(frozen=True)
class NavItem:
    """One entry of the console's menu, shown to ``role`` and above."""

    endpoint: str
    label: str
    role: str = "manager"


NAV: list[NavItem] = []


def add_nav(endpoint: str, label: str, role: str = "manager") -> None:
    """Add a menu entry (in call order)."""
    NAV.append(NavItem(endpoint, label, role))


@bp.after_request
def _security_headers(response):
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


# Importing the view modules registers their routes on bp (order = menu order).
from server.console import session  # noqa: E402,F401  (sign-in, CSRF, the current user)
from server.console import library, editor, verification, offers, users, packs  # noqa: E402,F401
from server.console import insights  # noqa: E402,F401  (analytics, content gaps, helpdesk import)


def init_app(app: Flask) -> None:
    """Serve the console (in every mode, not only the demo)."""
    app.register_blueprint(bp)
