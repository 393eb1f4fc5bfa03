"""Similar escalations: ``GET /v1/groups`` groups the store's open and recent escalations and
at-risk tickets (see :mod:`serving.services.groups` and :mod:`models.grouping`).

The store keeps message text only in its event log (tickets sent through ``POST
/v1/tickets/{id}/events``); tickets it only knows from ``/v1/score`` have no text to compare and
are counted in ``without_text``, never grouped. Texts in the answer (the central message, the
keywords) are redacted like every answer when ``redact_personal_data`` is on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from models.grouping import Embedder, GroupingConfig
from serving.api.deps import ServiceDep, require_scope
from serving.core.errors import ERROR_RESPONSES, InputError
from serving.schemas import GroupsOut
from serving.services.groups import LOOKBACK_HOURS, open_store, similar_groups, text_embedder

router = APIRouter(
    prefix="/v1",
    tags=["groups"],
    dependencies=[Depends(require_scope("read"))],
    responses=ERROR_RESPONSES,
)


def get_embedder(service: ServiceDep) -> Embedder:
    """The MiniLM sentence embedder of the service's text model (tests swap it)."""
    return text_embedder(service)


EmbedderDep = Annotated[Embedder, Depends(get_embedder)]


@router.get("/groups", response_model=GroupsOut)
def groups(
    service: ServiceDep,
    embedder: EmbedderDep,
    as_of: Annotated[
        datetime | None,
        Query(description="the instant to group at, ISO with a zone (default: latest event)"),
    ] = None,
    lookback_hours: Annotated[
        float, Query(gt=0, le=24 * 90, description="how far back escalations count")
    ] = LOOKBACK_HOURS,
    window_hours: Annotated[
        float, Query(gt=0, le=24 * 30, description="most hours between a group's tickets")
    ] = GroupingConfig.window_hours,
    min_size: Annotated[int, Query(ge=2, le=1000, description="smallest group listed")] = (
        GroupingConfig.min_size
    ),
    limit: Annotated[int, Query(ge=1, le=500, description="most groups returned")] = 50,
) -> dict:
    """Groups of similar open and recent escalations and at-risk tickets."""
    open_store(service)  # a store not open is a 503 before any check of the arguments
    if as_of is not None and as_of.tzinfo is None:
        raise InputError("as_of", "needs a time zone, e.g. 2026-03-01T09:00:00Z")
    if as_of is not None and not 2000 <= as_of.astimezone(UTC).year < 2100:
        raise InputError("as_of", "must be between 2000-01-01 and 2100-01-01")
    return similar_groups(
        service,
        embedder,
        as_of,
        lookback_hours=lookback_hours,
        window_hours=window_hours,
        min_size=min_size,
        limit=limit,
    )
