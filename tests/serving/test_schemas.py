"""The request models take their rules from the data model (features.schema): the API accepts
exactly the events that a data folder may hold."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from features.schema import (
    EVENT_TYPES,
    PRIORITIES,
    TIERS,
    DataValidationError,
    validate_tables,
)
from serving.schemas import EventIn, FeedbackIn, TicketIn

# Every optional event field, filled: each case below takes away what it tests.
FULL = {
    "agent_id": "ag1",
    "team": "frontline",
    "tier": 2,
    "status": "open",
    "priority": "P2",
    "csat": 4,
    "text": "hello",
}
OPTIONAL = tuple(FULL)


def _reader_accepts(tables: dict, event: dict) -> str | None:
    """None if the data model's reader accepts one event like ``event``; else the column."""
    events = tables["events"].iloc[:1].copy()
    for col in OPTIONAL:
        value = event.get(col)
        events[col] = pd.array([value], dtype=events[col].dtype)
    events["event_type"] = event["event_type"]
    try:
        validate_tables(tables["accounts"], tables["tickets"], events)
    except DataValidationError as err:
        return err.column
    return None


@pytest.mark.parametrize("event_type", EVENT_TYPES)
@pytest.mark.parametrize("dropped", OPTIONAL)
def test_an_event_needs_what_the_data_model_needs(tiny_tables, event_type, dropped):
    event = {"event_type": event_type, **{k: v for k, v in FULL.items() if k != dropped}}
    reader_missing = _reader_accepts(tiny_tables, event)
    body = {"ts": "2026-01-05T09:30:00Z", "actor": "system", **event}
    if reader_missing is None:
        EventIn.model_validate(body)
    else:
        assert reader_missing == dropped
        with pytest.raises(ValidationError, match=f"a {event_type} event needs {dropped}"):
            EventIn.model_validate(body)


def test_the_known_required_fields():
    """The rule as written in data/README.md, by hand."""
    with pytest.raises(ValidationError, match="a assignment event needs team, tier"):
        EventIn(ts="2026-01-05T09:30:00Z", event_type="assignment", actor="system")
    with pytest.raises(ValidationError, match="a csat event needs csat"):
        EventIn(ts="2026-01-05T09:30:00Z", event_type="csat", actor="customer")
    EventIn(ts="2026-01-05T09:30:00Z", event_type="reopened", actor="customer")


def test_values_follow_the_data_model():
    assert set(TicketIn.model_fields["priority"].annotation.__args__) == set(PRIORITIES)
    for tier in TIERS:
        EventIn(ts="2026-01-05T09:30:00Z", event_type="agent_message", actor="agent", tier=tier)
    with pytest.raises(ValidationError):
        EventIn(ts="2026-01-05T09:30:00Z", event_type="agent_message", actor="agent", tier=4)
    for bad in (0, 6):
        with pytest.raises(ValidationError):
            EventIn(ts="2026-01-05T09:30:00Z", event_type="csat", actor="customer", csat=bad)


def test_feedback_times_follow_the_outcome():
    FeedbackIn(ticket_id="t1", escalated=True, escalated_at="2026-01-05T10:00:00Z")
    FeedbackIn(ticket_id="t1", escalated=False)
    with pytest.raises(ValidationError, match="escalated_at is required"):
        FeedbackIn(ticket_id="t1", escalated=True)
    with pytest.raises(ValidationError, match="only apply when escalated"):
        FeedbackIn(ticket_id="t1", escalated=False, escalation_type="security")
