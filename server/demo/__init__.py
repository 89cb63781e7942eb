"""The demo helpdesk: ticket pages to try the browser extension on (only when DEMO is on).

``make run`` turns it on (``REPLYASSIST_DEMO=1``); a production server never serves it. The
pages navigate between tickets without reloading (history.pushState), as real helpdesks do,
and send a strict Content-Security-Policy, as real helpdesks do, so the extension is tried
under the same conditions.
"""
from __future__ import annotations

from flask import Blueprint, Flask, abort, redirect, render_template, url_for

from server.demo.tickets import AGENT, TICKETS, ticket

bp = Blueprint("demo", __name__, url_prefix="/demo", template_folder="templates",
               static_folder="static", static_url_path="/static")

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


@bp.after_request
def _security_headers(response):
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/")
def index():
    return redirect(url_for(".show_ticket", number=1))


@bp.get("/tickets/<int:number>")
def show_ticket(number: int):
    """One ticket page of the demo helpdesk."""
    current = ticket(number)
    if current is None:
        abort(404)
    return render_template("demo/ticket.html", ticket=current, number=number,
                           tickets=list(enumerate(TICKETS, start=1)), agent=AGENT)


def init_app(app: Flask) -> None:
    """Serve the demo helpdesk when ``DEMO`` is on."""
    if app.config.get("DEMO"):
        app.register_blueprint(bp)
