"""API tokens and roles: ``Authorization: Bearer <token>``, tokens stored as SHA-256 hashes."""
from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Callable

from flask import g, request

from server.db import Store
from server.errors import Conflict, Forbidden, Unauthorized
from server.readcache import cached_store

ROLES = ("agent", "manager", "admin")
# What each role may do; a role has its own rights and those of the roles before it.
_RANK = {role: i for i, role in enumerate(ROLES)}
TOKEN_PREFIX = "ra_"


def hash_token(token: str) -> str:
    """The stored form of a token. Tokens are 256-bit random, so one SHA-256 pass is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh random token."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def create_user(store: Store, name: str, role: str) -> str:
    """Create a user with a new token; return the token (the only time it is seen)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    token = new_token()
    with store.transaction():
        if store.get_user(name):
            raise Conflict(f"a user named {name!r} already exists")
        store.create_user(name, role, hash_token(token))
    return token


def rotate_token(store: Store, name: str) -> str:
    """Give an existing user a new token, revoking the old one; return it."""
    token = new_token()
    with store.transaction():
        store.set_user_token(name, hash_token(token))
    return token


def current_user() -> dict:
    """The authenticated user of this request."""
    return g.user


def require(role: str) -> Callable:
    """Decorate a view: it needs a valid bearer token of at least ``role``."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized("Send your API token as 'Authorization: Bearer <token>'.")
            user = cached_store().user_by_token_hash(hash_token(token.strip()))
            if user is None:
                raise Unauthorized("This API token is not valid (revoked or mistyped).")
            if _RANK[user["role"]] < _RANK[role]:
                raise Forbidden(f"This needs the {role} role; your token has the {user['role']} role.")
            g.user = user
            return view(*args, **kwargs)

        wrapped.required_role = role
        return wrapped

    return decorator
