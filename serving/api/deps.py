"""What the routes depend on: the service (swappable in tests) and the scoped API-key check.

Every route but the probes declares the scope it needs with ``Depends(require_scope(...))``
(``tests/serving/test_security_routes.py`` fails for a route that does not). Pages that carry
the key in a cookie instead of a header call :func:`check_key` with the cookie's value.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Annotated

from fastapi import Depends, Request

from serving.core.errors import ServiceError
from serving.core.security import (
    API_KEY_HEADER,
    AccessDenied,
    Caller,
    Scope,
    is_loopback,
    presented_key,
)
from serving.services.service import Service

__all__ = ["API_KEY_HEADER", "AUTH", "ServiceDep", "check_key", "get_service", "require_scope"]


def get_service(request: Request) -> Service:
    """The app's one :class:`Service` (set by :func:`serving.main.create_app`)."""
    return request.app.state.service


ServiceDep = Annotated[Service, Depends(get_service)]

_ERRORS = {401: "unauthorized", 403: "forbidden"}


def check_key(service: Service, key: str | None, scope: Scope | str) -> Caller | None:
    """The caller if ``key`` grants ``scope``; None when the service has no keys (local use).

    Without keys every scope but ``admin`` is open (the service only starts that way on a
    loopback address, see :func:`serving.core.security.check_exposure`); admin actions
    (erasure) always need an admin key.

    Raises:
        ServiceError: 401 for a missing or unknown key, 403 naming the missing scope (the
            message never holds the key).
    """
    scope = Scope(scope)
    ring = service.settings.key_ring
    if not ring:
        if scope is Scope.ADMIN:
            raise ServiceError(
                403,
                "forbidden",
                "admin actions need an API key with the 'admin' scope "
                "(ESCALATION_RISK_API_KEYS=admin:KEY); none is configured",
            )
        return None
    try:
        return ring.check(key, scope)
    except AccessDenied as err:
        raise ServiceError(err.status, _ERRORS[err.status], err.message) from None


@cache
def require_scope(scope: Scope | str) -> Callable[..., Caller | None]:
    """A dependency that lets a request through only with a key granting ``scope``.

    Use as ``dependencies=[Depends(require_scope("score"))]`` on a router or a route; the
    dependency returns the :class:`Caller` (None without configured keys).
    """
    scope = Scope(scope)

    def dependency(request: Request, service: ServiceDep) -> Caller | None:
        return check_key(service, presented_key(request.headers), scope)

    dependency.scope = scope  # type: ignore[attr-defined]  # read by the route-coverage test
    dependency.__name__ = f"require_{scope.value}_scope"
    return dependency


def _require_metrics(request: Request, service: ServiceDep) -> Caller | None:
    """``read`` scope, or a loopback client when ``metrics_loopback_open`` is set."""
    client = request.client.host if request.client else None
    if service.settings.metrics_loopback_open and is_loopback(client):
        return None
    return check_key(service, presented_key(request.headers), Scope.READ)


_require_metrics.scope = Scope.READ  # type: ignore[attr-defined]


def require_metrics() -> Callable[..., Caller | None]:
    """The ``/metrics`` dependency: the ``read`` scope, or loopback when configured so."""
    return _require_metrics


# Kept for routers written before scopes (it guarded scoring then): a router should name the
# scope it needs with require_scope(...) instead.
AUTH = [Depends(require_scope(Scope.SCORE))]
