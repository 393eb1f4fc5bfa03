"""Similar escalations from the store: the open and recent escalations and at-risk tickets it
holds, grouped by :mod:`models.grouping` (what ``GET /v1/groups`` and the board's groups panel
answer).

The store keeps message text only in its event log (tickets sent through ``POST
/v1/tickets/{id}/events``); tickets it only knows from ``/v1/score`` have no text to compare and
are counted in ``without_text``, never grouped. Texts in the answer (the label, the central
message, the keywords) are redacted like every answer when ``redact_personal_data`` is on.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from models.grouping import Embedder, GroupingConfig, group_tickets, select_tickets, ticket_texts
from serving.core.errors import ServiceError
from serving.core.redaction import redact
from serving.services.service import Service
from serving.services.store import TABLES, Store

LOOKBACK_HOURS = 168.0  # a week of escalations
NO_TEXT_MODEL = "grouping needs the text model, not loaded yet"


def loaded_embedder(service: Service) -> Embedder | None:
    """The MiniLM sentence embedder of the service's text model; None while it is not loaded."""
    return getattr(service.scorer.text_scorer, "sentiment", None)


def text_embedder(service: Service) -> Embedder:
    """The MiniLM sentence embedder of the service's text model.

    Raises:
        ServiceError: 503 ``not_ready`` while the text model is not loaded.
    """
    embedder = loaded_embedder(service)
    if embedder is None:
        raise ServiceError(503, "not_ready", NO_TEXT_MODEL)
    return embedder


def open_store(service: Service) -> Store:
    """The service's store.

    Raises:
        ServiceError: 503 ``not_ready`` before the store is open.
    """
    if service.store is None:
        raise ServiceError(503, "not_ready", "the store is not open yet")
    return service.store


def _logged_texts(store: Store) -> tuple[pd.DataFrame, pd.Series]:
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


def similar_groups(
    service: Service,
    embedder: Embedder,
    as_of: datetime | None = None,
    lookback_hours: float = LOOKBACK_HOURS,
    window_hours: float = GroupingConfig.window_hours,
    min_size: int = GroupingConfig.min_size,
    limit: int = 50,
) -> dict[str, Any]:
    """Groups of similar open and recent escalations and at-risk tickets in the store.

    Args:
        service: the service whose store is read.
        embedder: turns the tickets' texts into embeddings.
        as_of: the instant to group at, timezone-aware (the caller checks it); None: the
            store's latest event (now when it has none). Only what was known then counts.
        lookback_hours: how far back before ``as_of`` escalations count.
        window_hours: most hours between the first-seen times of a group's tickets.
        min_size: smallest group listed.
        limit: most groups listed (largest ARR at stake first).

    Returns:
        The ``GroupsOut`` fields: ``as_of`` and ``since`` (UTC datetimes), ``candidates``,
        ``without_text``, ``grouped`` (tickets in any group, also beyond ``limit``) and
        ``groups`` (dicts of ``GroupOut``'s fields, texts redacted when the settings say so).

    Raises:
        ServiceError: 503 ``not_ready`` before the store is open.
    """
    store = open_store(service)
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
