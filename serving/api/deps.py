"""What the routes depend on: the service (swappable in tests) and the API-key check."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Request

from serving.core.errors import ServiceError
from serving.services.service import Service

API_KEY_HEADER = "X-API-Key"


def get_service(request: Request) -> Service:
    """The app's one :class:`Service` (set by :func:`serving.main.create_app`)."""
    return request.app.state.service


ServiceDep = Annotated[Service, Depends(get_service)]


def require_api_key(request: Request, service: ServiceDep) -> None:
    """401 without a key, 403 with a wrong one; open when no keys are configured (local use).

    The key comes in ``X-API-Key`` or as ``Authorization: Bearer <key>``.
    """
    keys = service.settings.keys
    if not keys:
        return
    given = request.headers.get(API_KEY_HEADER)
    auth = request.headers.get("Authorization", "")
    if given is None and auth.lower().startswith("bearer "):
        given = auth[7:].strip()
    if not given:
        raise ServiceError(401, "unauthorized", f"missing API key (header {API_KEY_HEADER})")
    if not any(secrets.compare_digest(given.encode(), k.encode()) for k in keys):
        raise ServiceError(403, "forbidden", "the API key is not valid")


# The /v1 routers' dependencies: every call needs a valid key.
AUTH = [Depends(require_api_key)]
