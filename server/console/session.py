"""Console sign-in: server-side sessions, CSRF on every write, idle expiry, roles.

The cookie holds only a random session id (HttpOnly, SameSite=Lax, Secure over HTTPS); the
store keeps its hash, the user and the CSRF token. Signing in always issues a new id, so an id
planted before sign-in (session fixation) is worthless. A session idle longer than
``CONSOLE_IDLE_MINUTES`` ends. Every POST must carry the session's CSRF token (form field
``csrf_token`` or header ``X-CSRF-Token``); the sign-in form uses a double-submit cookie.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from flask import current_app, g, redirect, render_template, request, url_for

from server import people
from server.auth import _RANK
from server.console import NAV, add_nav, bp
from server.db import get_store, utcnow
from server.errors import ApiError

COOKIE = "ra_console"
LOGIN_CSRF_COOKIE = "ra_console_login"


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _cookie_args() -> dict:
    return {"httponly": True, "samesite": "Lax", "secure": request.is_secure, "path": bp.url_prefix}


def current() -> dict | None:
    """The signed-in user of this request (name, role, id), or None."""
    return g.get("console_user")


def csrf_token() -> str:
    """The token forms must send back: the session's, or the sign-in form's."""
    if current():
        return g.console_csrf
    if "login_csrf" not in g:
        g.login_csrf = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    return g.login_csrf


def _load_session() -> None:
    g.console_user = None
    session_id = request.cookies.get(COOKIE)
    if not session_id:
        return
    store = get_store()
    found = store.get_session(_hash(session_id))
    idle = timedelta(minutes=current_app.config["CONSOLE_IDLE_MINUTES"])
    now = datetime.now(timezone.utc)
    if found is None or not found["active"]:
        g.console_expired = True
        return
    if datetime.fromisoformat(found["last_seen"]) + idle < now:
        with store.transaction():
            store.delete_session(found["id_hash"])
        g.console_expired = True
        return
    store.touch_session(found["id_hash"], utcnow())
    g.console_user = {"id": found["user_id"], "name": found["name"], "role": found["role"]}
    g.console_csrf = found["csrf"]
    g.console_session = found["id_hash"]
    # Only a page load shows (and so takes) the notice. The editor's live preview is a POST
    # from the page being left: fired while a slow save was answering, it took the "Saved ..."
    # meant for the page the save redirects to.
    if found["notice"] and request.method == "GET":
        g.console_notice = found["notice"]
        store.set_notice(found["id_hash"], None)


def notify(message: str) -> None:
    """Show ``message`` on the next page this session loads (after a redirect)."""
    get_store().set_notice(g.console_session, message)


@bp.before_request
def _before():
    _load_session()
    if request.method == "POST":
        sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
        expected = g.console_csrf if current() else request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not expected or not hmac.compare_digest(sent, expected):
            return render_template("console/error.html", title="Form expired",
                                   message="This form was not sent from a current console page (its "
                                           "security token is missing or old). Go back, reload the "
                                           "page and try again."), 403


@bp.after_request
def _login_csrf_cookie(response):
    if "login_csrf" in g and request.cookies.get(LOGIN_CSRF_COOKIE) != g.login_csrf:
        response.set_cookie(LOGIN_CSRF_COOKIE, g.login_csrf, **_cookie_args())
    return response


def require(role: str = "manager") -> Callable:
    """Decorate a console view: signed in, with at least ``role`` (else sign-in page or 403)."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            user = current()
            if user is None:
                return redirect(url_for("console.login", next=request.full_path.rstrip("?"),
                                        expired=1 if g.get("console_expired") else None))
            if _RANK[user["role"]] < _RANK[role]:
                return render_template("console/error.html", title="Not for your role",
                                       message=f"This page is for {role}s; you are signed in as "
                                               f"{user['name']} ({user['role']})."), 403
            return view(*args, **kwargs)

        return wrapped

    return decorator


def _safe_next(target: str | None) -> str:
    """Only redirect inside the console after sign-in (no open redirect)."""
    if target and target.startswith(bp.url_prefix + "/") and not target.startswith("//"):
        return target
    return url_for("console.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with a name and password."""
    error, status, name = None, 200, ""
    if request.args.get("expired"):
        error = "Your session ended after a while without activity; sign in again."
    if request.method == "POST":
        name = request.form.get("name", "").strip()
        store = get_store()
        try:
            user = people.sign_in(store, name, request.form.get("password", ""), request.remote_addr or "?")
        except ApiError as exc:
            error, status = exc.detail, exc.status
        else:
            return _start_session(store, user, _safe_next(request.form.get("next")))
    return render_template("console/login.html", error=error, name=name,
                           next=request.values.get("next", "")), status


def _start_session(store, user: dict, target: str):
    session_id = secrets.token_urlsafe(32)
    with store.transaction():
        old = request.cookies.get(COOKIE)
        if old:
            store.delete_session(_hash(old))  # never carry an id across sign-in
        idle = timedelta(minutes=current_app.config["CONSOLE_IDLE_MINUTES"])
        store.delete_sessions(idle_before=(datetime.now(timezone.utc) - idle).isoformat(timespec="seconds"))
        store.create_session(_hash(session_id), user["id"], secrets.token_urlsafe(32), utcnow())
    response = redirect(target)
    response.set_cookie(COOKIE, session_id, **_cookie_args())
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=bp.url_prefix)
    return response


@bp.post("/logout")
def logout():
    """Sign out: the session ends on the server, the cookie is cleared."""
    if current():
        store = get_store()
        with store.transaction():
            store.delete_session(g.console_session)
    response = redirect(url_for("console.login"))
    response.delete_cookie(COOKIE, path=bp.url_prefix)
    return response


@bp.get("/")
@require("agent")
def home():
    """The first page after sign-in: managers go to their work, agents learn where theirs is."""
    if _RANK[current()["role"]] >= _RANK["manager"]:
        return redirect(url_for("console.library"))
    return render_template("console/agent.html")


def _nav_for(user: dict | None) -> list:
    if user is None:
        return []
    return [item for item in NAV if _RANK[user["role"]] >= _RANK[item.role]]


@bp.app_template_filter("console_time")
def console_time(value: str | None) -> str:
    """An ISO time as managers read it: 2026-11-30 10:00 UTC."""
    if not value:
        return ""
    return value[:16].replace("T", " ") + (" UTC" if "T" in value else "")


@bp.context_processor
def _globals():
    """The current user, menu and CSRF token, for every console template."""
    return {"console_user": current(), "csrf_token": csrf_token, "nav": _nav_for(current()),
            "active_endpoint": request.endpoint, "notice": g.get("console_notice")}


def _not_found_in_console(error):
    return render_template("console/error.html", title="Not found", message=str(error.description)), 404


bp.register_error_handler(404, _not_found_in_console)


@bp.errorhandler(ApiError)
def _service_error(error: ApiError):
    """A service refused: show its words on a console page, not a JSON problem."""
    return render_template("console/error.html", title=error.title, message=error.detail), error.status


__all__ = ["add_nav", "current", "csrf_token", "notify", "require"]
