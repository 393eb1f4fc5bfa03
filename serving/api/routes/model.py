"""The served model: ``GET /v1/model`` (version, source, threshold policy)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends

from serving.api.deps import ServiceDep, require_scope
from serving.core.errors import ERROR_RESPONSES, ServiceError
from serving.schemas import ModelOut

router = APIRouter(
    prefix="/v1",
    tags=["model"],
    dependencies=[Depends(require_scope("read"))],
    responses=ERROR_RESPONSES,
)


@router.get("/model", response_model=ModelOut)
def model_info(service: ServiceDep) -> dict:
    """The served model version, where it came from, and its threshold policy."""
    served = service.manager.current
    if served is None:
        raise ServiceError(503, "not_ready", f"no model loaded: {service.status()}")
    return {
        "name": served.name,
        "version": served.version,
        "uri": served.uri,
        "source": served.source,
        "status": service.status(),
        "feature_set_version": served.metadata.get("feature_set_version", ""),
        "text_model": served.text_model,
        "policy_version": served.policy.version,
        "policy": json.loads(served.policy.to_json()),
        "loaded_at": served.loaded_at,
    }
