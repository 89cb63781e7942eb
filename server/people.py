"""People who sign in to the console: passwords, sign-in throttle, roles, tokens, deactivation.

The rules live here so the CLI and the console apply the same ones. Passwords are hashed with
Werkzeug's scrypt; a failed sign-in is counted per name and per address, and too many in a
window refuse further tries for a while (whether or not the password is right).
"""
from __future__ import annotations

import functools
import secrets
from datetime import datetime, timedelta, timezone

from werkzeug.security import check_password_hash, generate_password_hash

from server import auth
from server.db import Store, utcnow
from server.errors import ApiError, Conflict, Forbidden, NotFound, Unprocessable

MIN_PASSWORD = 10
MAX_PASSWORD = 200
# Failures allowed per name (and, higher, per address) in the window before sign-in pauses.
MAX_FAILURES_PER_NAME = 5
MAX_FAILURES_PER_IP = 20
FAILURE_WINDOW = timedelta(minutes=15)


# Hashed when the name is unknown, so a wrong name takes as long as a wrong password.
@functools.cache
def _dummy_hash() -> str:
    """A hash to check unknown names against, so they take as long as known ones (made once, lazily)."""
    return generate_password_hash("not-a-password", method="scrypt")


class SignInRefused(ApiError):
    """Wrong name or password, or an inactive account (one message: names are not revealed)."""

    status, slug, title = 401, "sign-in-refused", "Sign-in refused"


class SignInThrottled(ApiError):
    """Too many failed sign-ins lately."""

    status, slug, title = 429, "sign-in-throttled", "Too many failed sign-ins"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def check_password_rules(password: str) -> None:
    """Unprocessable unless the password is long enough to resist guessing."""
    if len(password) < MIN_PASSWORD:
        raise Unprocessable(f"Use a password of at least {MIN_PASSWORD} characters.",
                            errors={"password": [f"At least {MIN_PASSWORD} characters."]})
    if len(password) > MAX_PASSWORD:
        raise Unprocessable(f"Use a password of at most {MAX_PASSWORD} characters.",
                            errors={"password": [f"At most {MAX_PASSWORD} characters."]})


def get_user(store: Store, name: str) -> dict:
    """A user by name, or NotFound."""
    user = store.get_user(name)
    if user is None:
        raise NotFound(f"No user is named {name!r}.")
    return user


def set_password(store: Store, name: str, password: str) -> None:
    """Give a user a new password (scrypt-hashed)."""
    check_password_rules(password)
    get_user(store, name)
    with store.transaction():
        store.update_user(name, password_hash=generate_password_hash(password, method="scrypt"))


def new_password() -> str:
    """A random password good enough for a demo account."""
    return secrets.token_urlsafe(12)


def sign_in(store: Store, name: str, password: str, ip: str) -> dict:
    """The user if name and password match an active account; throttled after repeated failures."""
    now = _now()
    since = (now - FAILURE_WINDOW).isoformat(timespec="seconds")
    by_name, by_ip, oldest = store.sign_in_failures(name, ip, since)
    if by_name >= MAX_FAILURES_PER_NAME or by_ip >= MAX_FAILURES_PER_IP:
        wait = FAILURE_WINDOW - (now - datetime.fromisoformat(oldest))
        minutes = max(1, int(wait.total_seconds() // 60) + 1)
        raise SignInThrottled(f"Too many failed sign-ins; try again in {minutes} minute{'s' * (minutes > 1)}.",
                              retry_after=minutes * 60)
    user = store.get_user(name)
    ok = check_password_hash(user["password_hash"] if user and user["password_hash"] else _dummy_hash(), password)
    if not (user and user["password_hash"] and ok and user["active"]):
        with store.transaction():
            store.add_sign_in_failure(name, ip, utcnow())
            store.clear_sign_in_failures(name, before=since)  # keep the table small
        raise SignInRefused("That name and password do not match an active account.")
    with store.transaction():
        store.clear_sign_in_failures(name)
        store.update_user(name, last_sign_in_at=utcnow())
    return user


def may_manage(actor: dict, target_role: str) -> None:
    """Managers look after agents; admins after everyone."""
    if actor["role"] == "admin":
        return
    if actor["role"] == "manager" and target_role == "agent":
        return
    raise Forbidden(f"Only an admin can manage {target_role}s.")


def _keep_an_admin(store: Store, user: dict) -> None:
    if user["role"] == "admin" and user["active"] and store.count_active("admin") <= 1:
        raise Conflict(f"{user['name']} is the last active admin; make another admin first, "
                       "or nobody could manage people any more.")


def create_person(store: Store, actor: dict, name: str, role: str, password: str | None) -> str:
    """Create a user (optionally with a console password); return their API token (shown once)."""
    may_manage(actor, role)
    if password:
        check_password_rules(password)
    token = auth.create_user(store, name, role)
    if password:
        set_password(store, name, password)
    return token


def change_role(store: Store, actor: dict, name: str, role: str) -> dict:
    """Give a user another role; the last admin cannot be demoted."""
    if role not in auth.ROLES:
        raise Unprocessable(f"Choose a role among {', '.join(auth.ROLES)}.", errors={"role": ["Unknown role."]})
    user = get_user(store, name)
    may_manage(actor, user["role"])
    may_manage(actor, role)
    if role != "admin":
        _keep_an_admin(store, user)
    with store.transaction():
        store.update_user(name, role=role)
        store.delete_sessions(user_id=user["id"])  # rights change: sign in again
    return get_user(store, name)


def set_active(store: Store, actor: dict, name: str, active: bool) -> dict:
    """Deactivate (token and sessions stop working) or reactivate a user."""
    user = get_user(store, name)
    may_manage(actor, user["role"])
    if not active:
        _keep_an_admin(store, user)
    with store.transaction():
        store.update_user(name, active=int(active))
        if not active:
            store.delete_sessions(user_id=user["id"])
    return get_user(store, name)


def revoke_token(store: Store, actor: dict, name: str) -> None:
    """Make a user's API token stop working (a fresh unknown hash replaces it)."""
    user = get_user(store, name)
    may_manage(actor, user["role"])
    with store.transaction():
        store.update_user(name, token_hash="revoked:" + secrets.token_hex(16))


def rotate_token(store: Store, actor: dict, name: str) -> str:
    """Give a user a new API token (the old one stops working); return it (shown once)."""
    user = get_user(store, name)
    may_manage(actor, user["role"])
    return auth.rotate_token(store, name)
