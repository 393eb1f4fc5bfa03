"""Operations: liveness and readiness (open: probes carry no key) and Prometheus metrics (the
``read`` scope, see :func:`serving.api.deps.require_metrics`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from serving.api.deps import ServiceDep, require_metrics
from serving.schemas import ErrorOut

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive (says nothing about the model)."""
    return {"status": "alive"}


@router.get("/readyz", responses={503: {"model": ErrorOut}})
def readyz(service: ServiceDep) -> JSONResponse:
    """Ready when the model is loaded and warmed up and the store's context is built."""
    ready = service.ready
    served = service.manager.current
    body = {
        "ready": ready,
        "status": service.status(),
        "model_version": served.version if served else None,
    }
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", dependencies=[Depends(require_metrics())])
def metrics(service: ServiceDep) -> Response:
    """Prometheus metrics."""
    return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)
