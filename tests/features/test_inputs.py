"""What formulas read: located state, the ticket's clock and SLA, the context for a snapshot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.arrays import to_us
from features.context import FeatureContext
from features.inputs import SnapshotInputs
from features.state import event_state
from features.text import attach_text_signals


def _us(*texts: str) -> np.ndarray:
    return to_us(pd.Series([pd.Timestamp(t, tz="UTC") for t in texts]))


@pytest.fixture
def tiny(tiny_tables, lexical):
    t = tiny_tables
    events = attach_text_signals(t["events"], lexical)
    ctx = FeatureContext.from_data(t["accounts"], t["tickets"], events, None)
    return t["tickets"], event_state(events, t["tickets"]), ctx


def test_state_is_located_at_as_of(tiny):
    tickets, state, ctx = tiny
    ids = np.array(["t1", "t1", "t2"], dtype=object)
    x = SnapshotInputs(
        state, tickets, ids, _us("2026-01-05 08:00", "2026-01-05 09:10", "2026-01-05 10:30"), ctx
    )
    assert x.have.tolist() == [False, True, True]
    assert np.isnan(x.state["cust_count"][0]) and x.count("cust_count").tolist() == [0, 1, 1]
    assert x.flag("agent_count").tolist() == [0, 0, 0]
    # t1 waits from its 09:00 message; t2 from 10:00.
    assert x.waiting_h.tolist() == pytest.approx([0.0, 10 / 60, 0.5])
    assert x.priority_initial.tolist() == [1, 1, 3]
    assert x.agent_current.tolist() == [None, "ag1", None]
    assert x.team_current.tolist() == [None, "frontline", None]
    assert x.agent_code[1] >= 0 and x.agent_code[0] == -1
    assert x.hours_since_epoch[1] == x.as_of_us[1] // 3_600_000_000


def test_the_sla_clock(tiny):
    tickets, state, ctx = tiny
    # t1 (P1, 30 min wall clock) was answered at 09:20; t2 (P3, business hours) is waiting.
    ids = np.array(["t1", "t2"], dtype=object)
    x = SnapshotInputs(state, tickets, ids, _us("2026-01-05 12:00", "2026-01-05 12:00"), ctx)
    assert x.sla_answered.tolist() == [True, False]
    assert x.sla_hours.tolist() == [0.5, 8.0]
    assert x.sla_used_h.tolist() == pytest.approx([20 / 60, 2.0])


def test_context_values_for_the_snapshots(tiny):
    tickets, state, ctx = tiny
    ids = np.array(["t1", "t2"], dtype=object)
    x = SnapshotInputs(state, tickets, ids, _us("2026-01-05 12:00", "2026-01-05 12:00"), ctx)
    assert x.arr.tolist() == [520_000.0, 12_000.0]
    assert x.at("created_by_account", x.account_code).tolist() == [1, 1]
    assert x.window("created_by_area", x.area_code, 1).tolist() == [0, 0]


def test_snapshots_of_unknown_tickets_are_an_error(tiny):
    tickets, state, ctx = tiny
    with pytest.raises(ValueError, match="missing from the tickets table"):
        SnapshotInputs(state, tickets, np.array(["t9"], dtype=object), _us("2026-01-05"), ctx)
