"""Scoring: one ticket (``POST /v1/score``) or a batch of them (``POST /v1/score/batch``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from serving.api.deps import ServiceDep, require_scope
from serving.core.errors import ERROR_RESPONSES, InputError
from serving.schemas import BatchIn, BatchOut, ScoreIn, ScoreOut

router = APIRouter(
    prefix="/v1",
    tags=["scoring"],
    dependencies=[Depends(require_scope("score"))],
    responses=ERROR_RESPONSES,
)


@router.post("/score", response_model=ScoreOut)
def score(req: ScoreIn, service: ServiceDep) -> dict:
    """Score one ticket snapshot: probability, decision, routing, severity, reasons, brief."""
    served = service.served()  # one model version for the whole request
    service.check_limits(req)
    body = service.score_one(req, served)
    service.record_scores([body], served)
    return body


@router.post("/score/batch", response_model=BatchOut)
def score_batch(batch: BatchIn, service: ServiceDep) -> dict:
    """Score up to ``max_batch`` tickets with one model version."""
    if len(batch.items) > service.settings.max_batch:
        raise InputError("items", f"at most {service.settings.max_batch} tickets per batch")
    served = service.served()
    for i, req in enumerate(batch.items):
        service.check_limits(req, f"items[{i}].")
    results = []
    for i, req in enumerate(batch.items):
        try:
            results.append(service.score_one(req, served))
        except InputError as err:
            raise InputError(f"items[{i}].{err.location}", err.problem) from None
    service.record_scores(results, served)
    return {"results": results, "model": served.ref()}
