"""Per-event ticket state: counts, latest values and wait clocks after each event, by ticket."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.arrays import to_us
from features.state import event_state, locate_rows
from features.text import attach_text_signals


def _at(minutes: float) -> pd.Timestamp:
    return pd.Timestamp("2026-01-05 09:00", tz="UTC") + pd.Timedelta(minutes=minutes)


def _us(*minutes: float) -> np.ndarray:
    return to_us(pd.Series([_at(m) for m in minutes]))


def _events(rows: list[tuple], lexical) -> pd.DataFrame:
    """Events from (ticket_id, minutes after 09:00, event_type, extra fields) tuples."""
    frame = pd.DataFrame(
        [
            {
                "ticket_id": tid,
                "ts": _at(minutes),
                "event_type": etype,
                "agent_id": None,
                "team": None,
                "tier": None,
                "status": None,
                "priority": None,
                "text": None,
                **extra,
            }
            for tid, minutes, etype, extra in rows
        ]
    )
    frame["tier"] = frame["tier"].astype("Float64")
    return attach_text_signals(frame, lexical)


@pytest.fixture
def tickets() -> pd.DataFrame:
    return pd.DataFrame(
        {"ticket_id": ["t1", "t2"], "created_at": [_at(0), _at(0)], "priority": ["P2", "P3"]}
    )


def test_waits_and_replies(lexical, tickets):
    ev = _events(
        [
            ("t1", 0, "customer_message", {"text": "It is down!"}),
            ("t1", 10, "customer_message", {"text": "Any update?"}),
            ("t1", 30, "agent_message", {"text": "On it."}),
            ("t1", 40, "customer_message", {"text": "thanks"}),
            ("t2", 5, "customer_message", {"text": "hello"}),
        ],
        lexical,
    )
    s = event_state(ev, tickets)
    c = s.cols
    assert s.ticket_id.tolist() == ["t1", "t1", "t1", "t1", "t2"]
    assert c["event_count"].tolist() == [1, 2, 3, 4, 1]
    assert c["cust_count"].tolist() == [1, 2, 2, 3, 1]
    assert c["unanswered"].tolist() == [1, 2, 0, 1, 1]
    # A wait starts at the first customer message after the last agent message.
    waits = c["wait_start_us"]
    assert waits[0] == waits[1] == _us(0)[0] and np.isnan(waits[2])
    assert waits[3] == _us(40)[0] and waits[4] == _us(5)[0]
    assert c["longest_done_us"][2] == 30 * 60 * 1e6
    assert np.isnan(c["first_agent_us"][1]) and c["first_agent_us"][3] == _us(30)[0]
    assert c["sent_last"].tolist() == pytest.approx([-0.8, 0.0, 0.0, 0.3, 0.0])
    assert c["sent_first"].tolist() == pytest.approx([-0.8, -0.8, -0.8, -0.8, 0.0])
    assert c["sent_min"][3] == pytest.approx(-0.8)
    assert c["priority_initial"].tolist() == [2, 2, 2, 2, 3]


def test_routing_counts(lexical, tickets):
    def assign(minutes, team, tier, agent):
        return ("t1", minutes, "assignment", {"team": team, "tier": tier, "agent_id": agent})

    ev = _events(
        [
            assign(0, "frontline", 1, "ag1"),
            assign(10, "engineering", 2, "ag2"),
            assign(20, "frontline", 1, "ag1"),
            ("t1", 30, "priority_change", {"priority": "P1"}),
            ("t1", 40, "status_change", {"status": "pending_customer"}),
        ],
        lexical,
    )
    c = event_state(ev, tickets).cols
    assert c["handoffs"].tolist() == [0, 1, 2, 2, 2]
    assert c["bouncebacks"].tolist() == [0, 0, 1, 1, 1]
    assert c["tier_changes"].tolist() == [0, 1, 2, 2, 2]
    assert c["tier_current"].tolist() == [1, 2, 1, 1, 1]
    assert c["tier_max"].tolist() == [1, 2, 2, 2, 2]
    assert c["agent_distinct"].tolist() == [1, 2, 2, 2, 2]
    assert c["priority_current"].tolist() == [2, 2, 2, 1, 1]
    assert c["pending_customer"].tolist() == [0, 0, 0, 0, 1]


def test_locate_finds_the_last_event_at_or_before_as_of(lexical, tickets):
    ev = _events(
        [
            ("t1", 0, "customer_message", {"text": "a"}),
            ("t1", 10, "internal_note", {}),
            ("t1", 10, "agent_message", {"text": "b"}),
            ("t2", 5, "customer_message", {"text": "c"}),
        ],
        lexical,
    )
    s = event_state(ev, tickets)
    ids = np.array(["t1", "t1", "t1", "t1", "t2", "t3"], dtype=object)
    rows = locate_rows(s, ids, _us(-1, 0, 9, 10, 60, 60))
    # Before the first event: none; two events at one instant: the state after both.
    assert rows.tolist() == [-1, 0, 0, 2, 3, -1]
    empty = event_state(ev.iloc[:0], tickets)
    assert len(empty) == 0
    assert locate_rows(empty, ids[:2], _us(0, 1)).tolist() == [-1, -1]


def test_open_demand_starts_at_the_first_one_no_agent_has_answered(lexical, tickets):
    ev = _events(
        [
            ("t1", 0, "customer_message", {"text": "our legal team is copied"}),
            ("t1", 10, "customer_message", {"text": "hello?"}),
            ("t1", 20, "internal_note", {"text": "legal again"}),  # not the customer
            ("t1", 30, "agent_message", {"text": "Looking at it."}),
            ("t1", 40, "customer_message", {"text": "fine"}),
            ("t1", 50, "customer_message", {"text": "we will churn"}),
            ("t1", 60, "customer_message", {"text": "and our executive knows"}),
            ("t2", 5, "customer_message", {"text": "hello"}),
        ],
        lexical,
    )
    opened = event_state(ev, tickets).cols["demand_open_us"]
    # Open from the legal threat until the agent's reply; then from the churn threat on (the
    # later executive demand does not move it); never on t2.
    assert opened[:3].tolist() == [_us(0)[0]] * 3
    assert np.isnan(opened[3]) and np.isnan(opened[4])
    assert opened[5:7].tolist() == [_us(50)[0]] * 2
    assert np.isnan(opened[7])
