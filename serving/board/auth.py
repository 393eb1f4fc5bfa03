"""The board's access rule: the JSON API's keys and scopes, from a header or the board's cookie.

A browser signs in once with a key (the login form); the key is kept in an HttpOnly,
SameSite=Strict cookie scoped to ``/board``, so page scripts never see it and other sites'
pages never send it. Pages need the ``read`` scope, the feedback buttons ``feedback``, as the
JSON API's routes do. With no keys configured the board is open, as the API is (local use).
"""

from __future__ import annotations

from fastapi import Request

from serving.core.security import AccessDenied, KeyRing, Scope, presented_key

COOKIE = "board_key"


def given_key(request: Request) -> str | None:
    """The key the request carries: the API's header or bearer token, else the board cookie."""
    return presented_key(request.headers) or request.cookies.get(COOKIE) or None


def denied(request: Request, ring: KeyRing, scope: Scope) -> AccessDenied | None:
    """Why this request may not do ``scope`` (401/403), or None when it may."""
    if not ring:
        return None
    try:
        ring.check(given_key(request), scope)
    except AccessDenied as err:
        return err
    return None
