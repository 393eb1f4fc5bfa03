"""Events in: ``POST /v1/tickets/{ticket_id}/events`` appends a ticket's new events and answers
its new score (the same answer as ``POST /v1/score``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from serving.api.deps import AUTH, ServiceDep
from serving.core.errors import ERROR_RESPONSES
from serving.schemas import ErrorOut, EventsIn, ScoreOut

router = APIRouter(
    prefix="/v1",
    tags=["events"],
    dependencies=AUTH,
    responses={**ERROR_RESPONSES, 404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
)

TicketId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f/]+$")]


@router.post("/tickets/{ticket_id}/events", response_model=ScoreOut)
def add_events(
    ticket_id: TicketId, req: EventsIn, service: ServiceDep, response: Response
) -> dict:
    """Append events (each once, by ``event_id``; in time order) and score the ticket with its
    whole log. Headers ``X-Events-Appended`` and ``X-Events-Duplicate`` count what was new."""
    served = service.served()
    body, appended = service.add_events(ticket_id, req, served)
    service.record_scores([body], served)
    response.headers["X-Events-Appended"] = str(len(appended.seqs))
    response.headers["X-Events-Duplicate"] = str(len(appended.duplicates))
    return body
