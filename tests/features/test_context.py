"""The as-of context: counts inclusive of as_of and blind to later, lookups, serving overlays."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.arrays import to_us
from features.build import build_ticket_features, escalation_history
from features.context import FeatureContext
from features.text import attach_text_signals


def _us(*times: str) -> np.ndarray:
    """Instants on 2026-01-05 (UTC), e.g. "09:00", as int64 microseconds."""
    return to_us(pd.Series([pd.Timestamp(f"2026-01-05 {t}", tz="UTC") for t in times]))


@pytest.fixture
def tiny(tiny_tables, lexical):
    """The tiny data set with both tickets closed at 12:00: (tables, events, context)."""
    t = tiny_tables
    closes = pd.DataFrame(
        {
            "ticket_id": ["t1", "t2"],
            "ts": [pd.Timestamp("2026-01-05 12:00", tz="UTC")] * 2,
            "event_type": ["status_change"] * 2,
            "actor": ["agent"] * 2,
            "status": ["closed"] * 2,
        }
    )
    events = pd.concat([t["events"], closes], ignore_index=True)
    events = events.sort_values(["ticket_id", "ts"], ignore_index=True)
    events = attach_text_signals(events, lexical)
    history = escalation_history(t["outcomes"], t["tickets"])
    return t, events, FeatureContext.from_data(t["accounts"], t["tickets"], events, history)


def test_counts_include_as_of_and_nothing_later(tiny):
    _, _, ctx = tiny
    look = ctx.lookup(["t1"] * 4)
    t = _us("08:59", "09:00", "11:59", "12:00")
    created = look.counter("created_by_account").at(look.account_code, t)
    closed = look.counter("closed_by_account").at(look.account_code, t)
    assert created.tolist() == [0, 1, 1, 1]
    assert (created - closed).tolist() == [0, 1, 1, 0]


def test_agents_hold_tickets_from_assignment_to_close(tiny):
    _, _, ctx = tiny
    look = ctx.lookup(["t1"] * 4)
    agent = look.codes("agent", ["ag1"] * 4)
    t = _us("09:00", "09:01", "11:59", "12:00")
    held = look.counter("held_by_agent").at(agent, t)
    released = look.counter("released_by_agent").at(agent, t)
    assert (held - released).tolist() == [0, 1, 1, 0]


def test_windows_exclude_their_start(tiny):
    _, _, ctx = tiny
    look = ctx.lookup(["t1"] * 3)
    escalations = look.counter("escalations_by_account")
    # The escalation at 11:00 counts from 11:00 on, and leaves a 1 h window an hour later.
    t = _us("10:59", "11:00", "12:00")
    assert escalations.at(look.account_code, t).tolist() == [0, 1, 1]
    assert escalations.window(look.account_code, t, 1).tolist() == [0, 1, 0]


def test_account_sentiment_sums_customer_messages(tiny):
    _, _, ctx = tiny
    look = ctx.lookup(["t1", "t2"])
    t = _us("12:00", "12:00")
    total = look.counter("sentiment_sum_by_account").at(look.account_code, t)
    n = look.counter("sentiment_n_by_account").at(look.account_code, t)
    assert total.tolist() == pytest.approx([-0.8, 0.0])  # "Everything is down!" reads -0.8
    assert n.tolist() == [1, 1]


def test_lookups_give_missing_values_for_unknown_keys(tiny):
    _, _, ctx = tiny
    look = ctx.lookup(["t1", "nope"])
    assert look.ticket("channel", None).tolist() == ["email", None]
    arr = look.account("arr", np.nan)
    assert arr[0] == 520_000.0 and np.isnan(arr[1])
    assert look.account_code[1] == -1 and look.area_code[1] == -1
    assert look.codes("team", ["frontline", "new_team", None]).tolist()[1:] == [-1, -1]
    assert look.codes("team", ["frontline"])[0] >= 0


def test_an_overlay_replaces_the_ticket_as_indexed(tiny):
    t, events, ctx = tiny
    assert ctx.index_for_overlays() is ctx
    # The request knows t1 only up to its first message, then a new agent takes it.
    request = events[events["ticket_id"] == "t1"].iloc[:1]
    moved = request.assign(
        ts=request["ts"] + pd.Timedelta(minutes=5),
        event_type="assignment",
        agent_id="ag9",
        team="frontline",
        tier=1,
    )
    ev = attach_text_signals(pd.concat([request, moved], ignore_index=True), None)
    tickets = t["tickets"].iloc[[0]]
    over = ctx.overlay(t["accounts"].iloc[[0]], tickets, ev)
    look = over.lookup(["t1", "t1"])
    t_us = _us("09:30", "09:30")
    held = look.counter("held_by_agent").at(look.codes("agent", ["ag1", "ag9"]), t_us)
    assert held.tolist() == [0, 1]  # the store's ag1 assignment is gone, ag9 is new
    # Other tickets stay as indexed: the account count still holds t1 once.
    assert look.counter("created_by_account").at(look.account_code, t_us).tolist() == [1, 1]


def test_overlay_context_equals_batch(small, rows_equal):
    """The service's view: its store may hold a ticket's older state, or not hold it at all.

    Overlaying the ticket's events up to as_of must give the batch row either way.
    """
    base, events, snaps, history, feats = small
    rng = np.random.default_rng(1)
    picks = rng.choice(len(snaps), 60, replace=False)
    tickets = base.tickets.set_index("ticket_id")
    accounts = base.accounts.set_index("account_id")
    full = FeatureContext.from_data(base.accounts, base.tickets, events, history)
    for i in picks:
        tid, as_of = snaps.loc[i, "ticket_id"], snaps.loc[i, "as_of"]
        ticket = tickets.loc[[tid]].reset_index()
        account = accounts.loc[[ticket["account_id"].iloc[0]]].reset_index()
        ev = events[(events["ticket_id"] == tid) & (events["ts"] <= as_of)]
        # Store without the ticket (first time the service sees it).
        others = FeatureContext.from_data(
            base.accounts,
            base.tickets[base.tickets["ticket_id"] != tid],
            events[events["ticket_id"] != tid],
            history,
        )
        for ctx in (full, others):
            row = build_ticket_features(ticket, ev, as_of, ctx.overlay(account, ticket, ev))
            rows_equal(row, feats.iloc[[i]])
