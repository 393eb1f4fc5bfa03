"""Operator actions (the ``admin`` scope): ``DELETE /v1/admin/accounts/{account_id}`` erases
an account's data from the service's store and says what it removed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from serving.api.deps import ServiceDep, require_scope
from serving.core.errors import ERROR_RESPONSES, ServiceError
from serving.core.security import Caller
from serving.services.purge import erase_account

router = APIRouter(
    prefix="/v1/admin",
    tags=["admin"],
    dependencies=[Depends(require_scope("admin"))],
    responses=ERROR_RESPONSES,
)

# The router's own check, returned to the route (FastAPI runs it once per request).
AdminCaller = Annotated[Caller | None, Depends(require_scope("admin"))]
AccountId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f/]+$")]


class ErasureOut(BaseModel):
    """What an erasure removed (the account id is not echoed: it may be personal data)."""

    removed: dict[str, int] = Field(description="rows deleted per store table")
    total: int = Field(description="rows deleted in all; 0 when the store held nothing of it")


@router.delete("/accounts/{account_id}", response_model=ErasureOut)
def erase(account_id: AccountId, service: ServiceDep, caller: AdminCaller) -> dict:
    """Erase an account: its tickets, events, scores, feedback, escalations and alerts."""
    if service.store is None:
        raise ServiceError(503, "not_ready", "the store is not open yet")
    removed = erase_account(service, account_id, by=caller.key_id if caller else "none")
    return {"removed": removed, "total": sum(removed.values())}
