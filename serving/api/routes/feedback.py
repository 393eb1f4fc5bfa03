"""Outcomes: ``POST /v1/feedback`` stores a ticket's real outcome."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from serving.api.deps import ServiceDep, require_scope
from serving.core.errors import ERROR_RESPONSES, ServiceError
from serving.core.redaction import redact
from serving.schemas import FeedbackIn, FeedbackOut

router = APIRouter(
    prefix="/v1",
    tags=["feedback"],
    dependencies=[Depends(require_scope("feedback"))],
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
