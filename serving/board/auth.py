"""The board's access rule: the JSON API's keys and scopes, from a header or the board's cookie.

A browser signs in once with a key (the login form); the key is kept in an HttpOnly,
SameSite=Strict cookie, set for two paths only: ``/board`` (the pages and their feeds) and
``/v1/feedback`` (what the feedback buttons call). Page scripts never see the key (HttpOnly: a
script injected into a page could not read and send it elsewhere, which it could if the page
held the key for its script to send) and other sites' pages never send it (SameSite=Strict).
Pages need the ``read`` scope, the feedback buttons ``feedback``, as the JSON API's routes do.
With no keys configured the board is open, as the API is (local use).

A cookie is sent by the browser on its own, so a write authorised by it also needs the
board script's :data:`BOARD_HEADER` (cross-site request forgery): a cross-site form cannot set
a header, and a cross-site script cannot without a CORS preflight this service never grants.
"""

from __future__ import annotations

from fastapi import Request

from serving.core.errors import ServiceError
from serving.core.security import AccessDenied, KeyRing, Scope, presented_key

COOKIE = "board_key"
COOKIE_PATHS = ("/board", "/v1/feedback")
BOARD_HEADER = "X-Board"


def given_key(request: Request) -> str | None:
    """The key the request carries: the API's header or bearer token, else the board cookie."""
    return presented_key(request.headers) or request.cookies.get(COOKIE) or None


def session_key(request: Request) -> str | None:
    """The board session's key for a write the board's own script sent (None: no session).

    Raises:
        ServiceError: 403 when the session cookie comes without :data:`BOARD_HEADER`.
    """
    key = request.cookies.get(COOKIE) or None
    if key is not None and request.headers.get(BOARD_HEADER) != "1":
        raise ServiceError(
            403, "forbidden", f"a request signed in by the board's cookie needs {BOARD_HEADER}: 1"
        )
    return key


def denied(request: Request, ring: KeyRing, scope: Scope) -> AccessDenied | None:
    """Why this request may not do ``scope`` (401/403), or None when it may."""
    if not ring:
        return None
    try:
        ring.check(given_key(request), scope)
    except AccessDenied as err:
        return err
    return None
