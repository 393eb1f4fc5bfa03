"""Similar escalations: ``GET /v1/groups`` groups the store's open and recent escalations and
at-risk tickets (see :mod:`models.grouping`).

The store keeps message text only in its event log (tickets sent through ``POST
/v1/tickets/{id}/events``); tickets it only knows from ``/v1/score`` have no text to compare and
are counted in ``without_text``, never grouped. Texts in the answer (the central message, the
keywords) are redacted like every answer when ``redact_personal_data`` is on.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, Query

from models.grouping import Embedder, GroupingConfig, group_tickets, select_tickets, ticket_texts
from serving.api.deps import ServiceDep, require_scope
from serving.core.errors import ERROR_RESPONSES, InputError, ServiceError
from serving.core.redaction import redact
from serving.schemas import GroupsOut
from serving.services.store import TABLES

router = APIRouter(
    prefix="/v1",
    tags=["groups"],
    dependencies=[Depends(require_scope("read"))],
    responses=ERROR_RESPONSES,
)


def get_embedder(service: ServiceDep) -> Embedder:
    """The MiniLM sentence embedder of the service's text model (tests swap it)."""
    embedder = getattr(service.scorer.text_scorer, "sentiment", None)
    if embedder is None:
        raise ServiceError(503, "not_ready", "grouping needs the text model, not loaded yet")
    return embedder


EmbedderDep = Annotated[Embedder, Depends(get_embedder)]


def _logged_texts(store: Any) -> tuple[pd.DataFrame, pd.Series]:
    """Events as sent (ticket_id, ts, event_type, text) and subjects, from the event log."""
    events = pd.DataFrame(columns=["ticket_id", "ts", "event_type", "text"])
    subjects = pd.Series(dtype=object)
    if "ticket_events" in TABLES and store.count("ticket_events"):
        log = store.table("ticket_events")
        bodies = [json.loads(b) for b in log["body"]]
        events = pd.DataFrame(
            {
                "ticket_id": log["ticket_id"].to_numpy(),
                "ts": log["ts"].to_numpy(),
                "event_type": log["event_type"].to_numpy(),
                "text": [b.get("text") for b in bodies],
            }
        )
    if "ticket_bodies" in TABLES and store.count("ticket_bodies"):
        heads = store.table("ticket_bodies")
        found = {}
        for tid, body in zip(heads["ticket_id"], heads["body"], strict=True):
            ticket = json.loads(body)
            ticket = ticket.get("ticket", ticket) if isinstance(ticket, dict) else {}
            if isinstance(ticket, dict) and isinstance(ticket.get("subject"), str):
                found[tid] = ticket["subject"]
        subjects = pd.Series(found, dtype=object)
    return events, subjects


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
    ] = 168.0,
    window_hours: Annotated[
        float, Query(gt=0, le=24 * 30, description="most hours between a group's tickets")
    ] = GroupingConfig.window_hours,
    min_size: Annotated[int, Query(ge=2, le=1000, description="smallest group listed")] = (
        GroupingConfig.min_size
    ),
    limit: Annotated[int, Query(ge=1, le=500, description="most groups returned")] = 50,
) -> dict:
    """Groups of similar open and recent escalations and at-risk tickets."""
    store = service.store
    if store is None:
        raise ServiceError(503, "not_ready", "the store is not open yet")
    if as_of is not None and as_of.tzinfo is None:
        raise InputError("as_of", "needs a time zone, e.g. 2026-03-01T09:00:00Z")
    if as_of is not None and not 2000 <= as_of.astimezone(UTC).year < 2100:
        raise InputError("as_of", "must be between 2000-01-01 and 2100-01-01")
    tickets = store.table("tickets")
    events = store.table("events")
    logged, subjects = _logged_texts(store)
    if as_of is None:
        latest = events["ts"].max() if len(events) else pd.NaT
        at = pd.Timestamp(latest) if pd.notna(latest) else pd.Timestamp(datetime.now(UTC))
    else:
        at = pd.Timestamp(as_of).tz_convert("UTC")
    texts = ticket_texts(
        pd.DataFrame(
            {"ticket_id": tickets["ticket_id"], "subject": tickets["ticket_id"].map(subjects)}
        ),
        logged[logged["ts"] <= at] if len(logged) else logged,
    )
    frame = select_tickets(
        tickets,
        events,
        store.table("accounts"),
        at,
        lookback_hours,
        escalations=store.table("escalations"),
        scores=store.table("scores"),
        texts=texts,
    )
    cfg = GroupingConfig(window_hours=window_hours, min_size=min_size)
    found = group_tickets(frame, embedder, cfg)
    clean = redact if service.settings.redact_personal_data else (lambda t: t)
    out = []
    for g in found.groups[:limit]:
        out.append(
            g
            | {
                "label": clean(g["label"]),
                "keywords": [clean(k) for k in g["keywords"]],
                "central_message": clean(g["central_message"]),
            }
        )
    return {
        "as_of": at.to_pydatetime(),
        "since": (at - pd.Timedelta(hours=lookback_hours)).to_pydatetime(),
        "candidates": len(frame),
        "without_text": found.without_text,
        "grouped": sum(g["size"] for g in found.groups),
        "groups": out,
    }
