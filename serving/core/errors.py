"""The service's errors and their one response format (``ErrorOut``), which never echoes input.

Every error answers ``{"error": code, "message": text, "details": [{"location", "problem"}]}``:
invalid input says where and what is wrong, never the offending value (it may hold customer
text).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from serving.schemas import ErrorOut

log = logging.getLogger(__name__)

# The error answers of the authenticated /v1 routes, for the OpenAPI schema.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    413: {"model": ErrorOut},
    422: {"model": ErrorOut},
    503: {"model": ErrorOut},
}


class ServiceError(Exception):
    """An error the service answers as is: HTTP status, error code, message."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


class InputError(ValueError):
    """A request that is well-formed but inconsistent (e.g. an event after as_of)."""

    def __init__(self, location: str, problem: str) -> None:
        super().__init__(f"{location}: {problem}")
        self.location, self.problem = location, problem


def error_response(
    status: int, error: str, message: str, details: list[dict[str, str]] | None = None
) -> JSONResponse:
    """The one error body, as a response."""
    body = ErrorOut(error=error, message=message, details=details or []).model_dump()
    return JSONResponse(body, status_code=status)


def location(loc: tuple[Any, ...]) -> str:
    """A pydantic error location as a path: ``("body", "events", 0)`` -> ``body.events[0]``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` in the one format (and log the unexpected ones)."""

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Only where and what: never the offending input (it may hold customer text).
        details = [
            {"location": location(e.get("loc", ())), "problem": e.get("msg", "invalid")}
            for e in exc.errors()[:20]
        ]
        return error_response(
            422, "invalid_input", "the request does not match the schema", details
        )

    @app.exception_handler(InputError)
    async def bad_input(request: Request, exc: InputError) -> JSONResponse:
        return error_response(
            422,
            "invalid_input",
            "the request is inconsistent",
            [{"location": exc.location, "problem": exc.problem}],
        )

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> JSONResponse:
        return error_response(exc.status, exc.error, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        names = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        return error_response(exc.status_code, names.get(exc.status_code, "http_error"), message)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s", request.url.path, exc_info=exc)
        return error_response(500, "internal", "internal error (logged on the server)")
