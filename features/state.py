"""Per-event ticket state: what a ticket's own events say right after each one.

One row per event, as plain NumPy arrays (cumulative counts, the latest values and the
timestamps time features need at any later as_of), and the lookup of the row that holds a
snapshot's state. Vectorised over any number of tickets; the serving path runs it on one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.arrays import factorize, positions, to_us
from features.calendar import map_values
from features.text import INTENTS

PRIO_RANK = {"P1": 1, "P2": 2, "P3": 3}
# Intents that are a demand on the desk (asking for escalation, executives, leaving, lawyers),
# as opposed to a topic (security, billing, outage) or a chaser.
DEMAND_INTENTS = tuple(
    i
    for i in ("escalation_request", "executive", "churn", "competitor", "renewal", "legal")
    if i in INTENTS
)


class _Segments:
    """Group operations over contiguous groups (rows sorted by group), in NumPy.

    Cumulative sums, forward fills, shifts and counts are vectorised NumPy for any number of
    groups (a float sum runs over the groups before it too, so it can differ from a per-group sum
    in the last bits; counts are exact); running max/min use NumPy for one group (the serving
    path) and pandas for many.
    """

    def __init__(self, groups: np.ndarray, breaks: np.ndarray | None = None) -> None:
        n = len(groups)
        self.n = n
        starts = np.ones(n, dtype=bool)
        if n:
            starts[1:] = groups[1:] != groups[:-1]
        if breaks is not None:
            starts |= breaks
        self.starts = starts
        self.first = np.maximum.accumulate(np.where(starts, np.arange(n), 0)) if n else starts
        self.single = n == 0 or not starts[1:].any()
        self.groups = np.cumsum(starts)

    def cumsum(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype="float64")
        cs = np.cumsum(x)
        return cs - (cs - x)[self.first]

    def cumcount(self) -> np.ndarray:
        return np.arange(self.n) - self.first

    def ffill(self, x: np.ndarray) -> np.ndarray:
        """Last non-NaN value so far within the group (NaN before the first)."""
        x = np.asarray(x, dtype="float64")
        last = np.maximum.accumulate(np.where(np.isnan(x), -1, np.arange(self.n)))
        ok = last >= self.first
        return np.where(ok, x[np.maximum(last, 0)], np.nan)

    def shift1(self, x: np.ndarray) -> np.ndarray:
        out = np.empty(self.n)
        if self.n:
            out[0] = np.nan
            out[1:] = x[:-1]
        out[self.starts] = np.nan
        return out

    def running(self, x: np.ndarray, how: str) -> np.ndarray:
        """Running max or min ignoring NaN within the group (NaN before the first value)."""
        x = np.asarray(x, dtype="float64")
        if self.single:
            return (np.fmax if how == "max" else np.fmin).accumulate(x) if self.n else x
        s = pd.Series(x).groupby(self.groups, sort=False)
        return self.ffill((s.cummax() if how == "max" else s.cummin()).to_numpy())

    def first_flag(self, mask: np.ndarray) -> np.ndarray:
        """True on the first row of each group where ``mask`` holds."""
        return mask & (self.cumsum(mask) == 1)


@dataclass
class EventState:
    """Per-event ticket state as plain arrays (row i: the state right after event i)."""

    ticket_id: np.ndarray  # object
    ts_us: np.ndarray  # int64 microseconds
    cols: dict[str, np.ndarray]  # float64; NaN where undefined
    team_names: np.ndarray
    agent_names: np.ndarray

    def __len__(self) -> int:
        return len(self.ts_us)


def event_state(events: pd.DataFrame, tickets: pd.DataFrame) -> EventState:
    """The state of each ticket right after each of its events (one row per event).

    Args:
        events: events sorted by (ticket_id, ts), with text-signal columns attached
            (see :func:`features.text.attach_text_signals`).
        tickets: ticket_id, created_at, priority (initial).

    Returns:
        State aligned with ``events``: cumulative counts, the latest values and the timestamps
        (``*_us``) needed to derive time features at any later as_of.
    """
    ev = events
    codes = factorize(ev["ticket_id"])[0]
    etype = ev["event_type"].to_numpy(dtype=object)
    t_us = to_us(ev["ts"])
    tf = t_us.astype("float64")
    is_cust = etype == "customer_message"
    is_agent = etype == "agent_message"
    is_assign = etype == "assignment"
    g = _Segments(codes)
    csum = g.cumsum

    def where(mask: np.ndarray, x: np.ndarray) -> np.ndarray:
        return np.where(mask, x, np.nan)

    # Columns gather in a dict and become one frame at the end (inserting columns one by one
    # into a DataFrame dominates the cost of a single-ticket call).
    st: dict[str, np.ndarray] = {"ticket_id": ev["ticket_id"].to_numpy(), "ts_us": t_us}
    st["event_count"] = g.cumcount() + 1.0
    st["cust_count"] = csum(is_cust)
    st["agent_count"] = csum(is_agent)
    st["note_count"] = csum(etype == "internal_note")
    st["reopen_count"] = csum(etype == "reopened")
    st["status_changes"] = csum(etype == "status_change")
    st["priority_changes"] = csum(etype == "priority_change")
    st["handoffs"] = np.maximum(csum(is_assign) - 1, 0)

    # Teams and agents as integer codes (-1: none); strings come back only for snapshots.
    team_c, team_u = factorize(ev["team"])
    agent_c, agent_u = factorize(ev["agent_id"])
    team_c = np.where(is_assign, team_c, -1)
    tier = where(is_assign, ev["tier"].to_numpy(dtype="float64", na_value=np.nan))
    # Bounceback: an assignment to a team the ticket already visited.
    visit_key = pd.Series(codes.astype(np.int64) * (len(team_u) + 1) + team_c + 1)
    st["bouncebacks"] = csum((team_c >= 0) & visit_key.duplicated().to_numpy())
    assign_tier = tier[is_assign]
    prev_tier = _Segments(codes[is_assign]).shift1(assign_tier)
    changed = np.zeros(len(ev), dtype=bool)
    changed[np.flatnonzero(is_assign)] = ~np.isnan(prev_tier) & (assign_tier != prev_tier)
    st["tier_changes"] = csum(changed)
    st["tier_current"] = g.ffill(tier)
    st["tier_max"] = g.running(tier, "max")
    st["team_code"] = g.ffill(where(team_c >= 0, team_c))
    st["agent_code"] = g.ffill(where(is_assign & (agent_c >= 0), agent_c))
    agent_key = pd.Series(codes.astype(np.int64) * (len(agent_u) + 1) + agent_c + 1)
    st["agent_distinct"] = csum((agent_c >= 0) & ~agent_key.duplicated().to_numpy())

    rank = map_values(ev["priority"], PRIO_RANK)
    tk_pos = positions(
        tickets["ticket_id"].to_numpy(dtype=object), ev["ticket_id"].to_numpy(dtype=object)
    )
    tk_prio = tickets["priority"].to_numpy(dtype=object, na_value=None)
    initial = map_values(np.where(tk_pos >= 0, tk_prio[np.maximum(tk_pos, 0)], None), PRIO_RANK)
    st["priority_initial"] = initial
    current = g.ffill(where(etype == "priority_change", rank))
    st["priority_current"] = np.where(np.isnan(current), initial, current)
    status_c, status_u = factorize(ev["status"])
    status_now = g.ffill(where((etype == "status_change") & (status_c >= 0), status_c))
    pending = (
        list(status_u).index("pending_customer") if "pending_customer" in list(status_u) else -2
    )
    st["pending_customer"] = (status_now == pending).astype("float64")

    # Text signals (customer messages only).
    sent = where(is_cust, ev["sentiment"].to_numpy(dtype="float64", na_value=np.nan))
    scored = ~np.isnan(sent)
    n_scored = csum(scored)
    st["sent_last"] = g.ffill(sent)
    st["sent_mean"] = np.where(
        n_scored > 0, csum(np.nan_to_num(sent)) / np.maximum(n_scored, 1), np.nan
    )
    st["sent_min"] = g.running(sent, "min")
    st["sent_first"] = g.ffill(where(g.first_flag(scored), sent))
    p_neg = ev["p_negative"].to_numpy(dtype="float64", na_value=np.nan)
    negative = scored & (p_neg > 0.5)
    st["neg_share"] = np.where(n_scored > 0, csum(negative) / np.maximum(n_scored, 1), np.nan)
    # Trend: latest minus the mean of up to three scored messages before it.
    idx = np.flatnonzero(scored)
    s_sc = sent[idx]
    sg = _Segments(codes[idx])
    cs = sg.cumsum(s_sc)
    k = sg.cumcount()
    before = np.where(k >= 1, np.concatenate(([np.nan], cs))[: len(cs)], np.nan)
    before4 = np.where(k >= 4, np.concatenate((np.full(4, np.nan), cs))[: len(cs)], 0.0)
    trend_sc = np.where(k > 0, s_sc - (before - before4) / np.maximum(np.minimum(k, 3), 1), np.nan)
    trend = np.full(len(ev), np.nan)
    trend[idx] = trend_sc
    st["sent_trend3"] = g.ffill(trend)
    for intent in INTENTS:
        flag = ev[f"intent_{intent}"].to_numpy(dtype="float64", na_value=np.nan) > 0.5
        st[f"intent_{intent}"] = csum(flag & is_cust)
    intensity = where(is_cust, ev["intensity"].to_numpy(dtype="float64", na_value=np.nan))
    st["intensity_last"] = g.ffill(intensity)
    st["intensity_max"] = g.running(intensity, "max")
    st["length_last"] = g.ffill(
        where(is_cust, ev["length"].to_numpy(dtype="float64", na_value=np.nan))
    )

    # Waiting: a spell starts at the first customer message after the last agent message.
    spells = _Segments(codes, breaks=is_agent)  # (ticket, since-last-agent-message) groups
    wait_start = spells.ffill(where(spells.first_flag(is_cust), tf))
    st["wait_start_us"] = wait_start
    spell = where(is_agent, tf - g.shift1(wait_start))
    st["longest_done_us"] = g.running(spell, "max")
    st["unanswered"] = spells.cumsum(is_cust)
    # Demands (escalation, executive, churn or legal) no agent has answered yet: the first such
    # customer message since the last agent message.
    demand = np.zeros(len(ev), dtype=bool)
    for intent in DEMAND_INTENTS:
        demand |= ev[f"intent_{intent}"].to_numpy(dtype="float64", na_value=np.nan) > 0.5
    st["demand_open_us"] = spells.ffill(where(spells.first_flag(is_cust & demand), tf))
    st["last_agent_us"] = g.ffill(where(is_agent, tf))
    st["first_agent_us"] = g.ffill(where(g.first_flag(is_agent), tf))
    ticket_id, ts = st.pop("ticket_id"), st.pop("ts_us")
    return EventState(
        np.asarray(ticket_id, dtype=object),
        ts,
        {k: np.asarray(v, dtype="float64") for k, v in st.items()},
        np.asarray(team_u, dtype=object),
        np.asarray(agent_u, dtype=object),
    )


def locate_rows(state: EventState, ticket_ids: np.ndarray, as_of_us: np.ndarray) -> np.ndarray:
    """Row of ``state`` holding each snapshot's ticket state: its last event at or before as_of
    (-1 if none). Events of one ticket at the same instant: the state after the last of them."""
    if len(state) == 0:
        return np.full(len(as_of_us), -1, dtype=np.int64)
    s_code, vocab = factorize(state.ticket_id)
    s_code = s_code.astype(np.int64)
    q_code = positions(vocab, np.asarray(ticket_ids, dtype=object))
    # One sortable key per (ticket, instant): ticket code, then the instant's dense rank.
    times, inverse = np.unique(np.concatenate((state.ts_us, as_of_us)), return_inverse=True)
    n_t = np.int64(len(times))
    s_key = s_code * n_t + inverse[: len(state)]
    q_key = q_code * n_t + inverse[len(state) :]
    order = np.argsort(s_key, kind="stable")
    pos = np.searchsorted(s_key[order], q_key, side="right") - 1
    rows = np.where(pos >= 0, order[np.maximum(pos, 0)], -1)
    same = (pos >= 0) & (q_code >= 0) & (s_code[np.maximum(rows, 0)] == q_code)
    return np.where(same, rows, -1).astype(np.int64)
