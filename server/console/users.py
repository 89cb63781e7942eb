"""Users and tokens: list, create, change role, revoke or rotate a token, deactivate."""
from __future__ import annotations

from flask import redirect, render_template, request, url_for

from server import people
from server.auth import ROLES
from server.console import add_nav, bp
from server.console.session import current, notify, require
from server.db import get_store
from server.errors import ApiError

add_nav("console.users", "Users")


def _page(*, token: dict | None = None, error: str | None = None, status: int = 200, form: dict | None = None):
    actor = current()
    roles = ROLES if actor["role"] == "admin" else ("agent",)
    return render_template("console/users.html", users=get_store().list_users(), roles=roles, all_roles=ROLES,
                           token=token, error=error, form=form or {"name": "", "role": "agent"}), status


@bp.get("/users")
@require("manager")
def users():
    """Everyone with access, their role and state."""
    return _page()


@bp.post("/users")
@require("manager")
def create_user():
    """Create a user; their API token is shown once on the page that follows."""
    name, role = request.form.get("name", "").strip(), request.form.get("role", "agent")
    password = request.form.get("password") or None
    if not name or len(name) > 100:
        return _page(error="Give the user a name (up to 100 characters).", status=422, form=request.form)
    try:
        token = people.create_person(get_store(), current(), name, role, password)
    except ApiError as exc:
        return _page(error=exc.detail, status=exc.status, form=request.form)
    return _page(token={"name": name, "value": token, "why": "created"})


@bp.post("/users/<name>/<action>")
@require("manager")
def user_action(name: str, action: str):
    """One change to one user: role, revoke, rotate, deactivate, activate, password."""
    store, actor = get_store(), current()
    try:
        if action == "role":
            people.change_role(store, actor, name, request.form.get("role", ""))
            notify(f"{name} is now {request.form.get('role')}.")
        elif action == "revoke":
            people.revoke_token(store, actor, name)
            notify(f"{name}'s API token no longer works; rotate to give them a new one.")
        elif action == "rotate":
            return _page(token={"name": name, "value": people.rotate_token(store, actor, name), "why": "rotated"})
        elif action in ("deactivate", "activate"):
            people.set_active(store, actor, name, action == "activate")
            notify(f"{name} is {'active again' if action == 'activate' else 'deactivated: token and sessions stopped'}.")
        elif action == "password":
            if name != actor["name"]:
                people.may_manage(actor, people.get_user(store, name)["role"])
            people.set_password(store, name, request.form.get("password", ""))
            notify(f"{name}'s console password was changed.")
        else:
            return _page(error=f"Unknown action {action!r}.", status=404)
    except ApiError as exc:
        return _page(error=exc.detail, status=exc.status)
    if action in ("deactivate", "role") and name == actor["name"]:
        return redirect(url_for("console.login"))
    return redirect(url_for("console.users"))
