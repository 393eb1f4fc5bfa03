"""Outcomes: ``POST /v1/feedback`` stores a ticket's real outcome."""

from __future__ import annotations

from fastapi import APIRouter

from serving.api.deps import AUTH, ServiceDep
from serving.core.errors import ERROR_RESPONSES, ServiceError
from serving.schemas import FeedbackIn, FeedbackOut

router = APIRouter(prefix="/v1", tags=["feedback"], dependencies=AUTH, responses=ERROR_RESPONSES)


@router.post("/feedback", response_model=FeedbackOut, status_code=202)
def feedback(fb: FeedbackIn, service: ServiceDep) -> dict:
    """Record a ticket's real outcome (monitoring, retraining, account escalation history)."""
    if service.store is None:
        raise ServiceError(503, "not_ready", "the store is not open yet")
    service.store.record_feedback(fb.model_dump())
    return {"ticket_id": fb.ticket_id, "stored": True}
