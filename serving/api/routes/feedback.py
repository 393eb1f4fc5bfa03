"""Outcomes: ``POST /v1/feedback`` stores a ticket's real outcome."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from serving.api.deps import ServiceDep, check_key
from serving.board.auth import session_key
from serving.core.errors import ERROR_RESPONSES, ServiceError
from serving.core.redaction import redact
from serving.core.security import Caller, Scope, presented_key
from serving.schemas import FeedbackIn, FeedbackOut


def _feedback_caller(request: Request, service: ServiceDep) -> Caller | None:
    """The ``feedback`` scope from the API key header, or from the board's session cookie for
    the board's own buttons (which must then send its CSRF header, see serving.board.auth)."""
    key = presented_key(request.headers) or session_key(request)
    return check_key(service, key, Scope.FEEDBACK)


_feedback_caller.scope = Scope.FEEDBACK  # type: ignore[attr-defined]  # the route-coverage test

router = APIRouter(
    prefix="/v1",
    tags=["feedback"],
    dependencies=[Depends(_feedback_caller)],
    responses=ERROR_RESPONSES,
)


@router.post("/feedback", response_model=FeedbackOut, status_code=202)
def feedback(fb: FeedbackIn, service: ServiceDep) -> dict:
    """Record a ticket's real outcome (monitoring, retraining, account escalation history)."""
    if service.store is None:
        raise ServiceError(503, "not_ready", "the store is not open yet")
    record = fb.model_dump()
    if record.get("note") and service.settings.redact_personal_data:
        record["note"] = redact(record["note"])  # stored text: no personal data (README)
    service.store.record_feedback(record)
    return {"ticket_id": fb.ticket_id, "stored": True}
