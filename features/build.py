"""Point-in-time features for (ticket, as_of) snapshots: one code path for training and serving.

A feature of (ticket, as_of) reads only what was known at as_of (inclusive): the ticket's events
with ``ts <= as_of``, other tickets' events with ``ts <= as_of``, account facts, and escalations
of other tickets with ``escalated_at <= as_of``. Outcome labels are never read here; the only
history of outcomes is the explicit ``escalations`` input, filtered by time like everything else.

The batch path is vectorised (cumulative group operations and as-of joins, no per-event Python
loops). :func:`build_ticket_features` scores one ticket with the same functions.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from features.calendar import (
    BUSINESS_HOURS,
    SLA_BUSINESS_HOURS,
    SLA_HOURS,
    Calendar,
    map_values,
    sla_deadlines,
    to_epoch_hours,
)
from features.registry import FEATURE_NAMES
from features.text import INTENTS, RISK_INTENTS

US_PER_H = 3_600_000_000
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday = 0)
_PRIO_RANK = {"P1": 1, "P2": 2, "P3": 3}
_ARR_TIERS = np.array([10_000, 50_000, 200_000, 500_000])
_EVENT_COLUMNS = (
    "ticket_id",
    "ts",
    "event_type",
    "agent_id",
    "team",
    "tier",
    "status",
    "priority",
    "sentiment",
    "p_negative",
    "intensity",
    "length",
    *(f"intent_{i}" for i in INTENTS),
)


@lru_cache(maxsize=1)
def business_calendar() -> Calendar:
    """Business hours from 2000 to 2060 (built once, on first use)."""
    start = pd.Timestamp("2000-01-01", tz="UTC").value / 3.6e12
    end = pd.Timestamp("2060-01-01", tz="UTC").value / 3.6e12
    return Calendar(BUSINESS_HOURS, start, end)


def _us(ts: pd.Series) -> np.ndarray:
    """UTC timestamps to int64 microseconds since the epoch (NaT -> min int64)."""
    return pd.DatetimeIndex(ts).as_unit("us").asi8


# -------------------------------------------------------------------------------------------
# Ticket-local state after each event
# -------------------------------------------------------------------------------------------
class _Segments:
    """Group operations over contiguous groups (rows sorted by group), in NumPy.

    Cumulative sums, forward fills, shifts and counts are exact vectorised NumPy for any number
    of groups; running max/min use NumPy for one group (the serving path) and pandas for many.
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
    codes = _factorize(ev["ticket_id"])[0]
    etype = ev["event_type"].to_numpy(dtype=object)
    t_us = _us(ev["ts"])
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
    team_c, team_u = _factorize(ev["team"])
    agent_c, agent_u = _factorize(ev["agent_id"])
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

    rank = map_values(ev["priority"], _PRIO_RANK)
    tk_pos = _positions(
        tickets["ticket_id"].to_numpy(dtype=object), ev["ticket_id"].to_numpy(dtype=object)
    )
    tk_prio = tickets["priority"].to_numpy(dtype=object, na_value=None)
    initial = map_values(np.where(tk_pos >= 0, tk_prio[np.maximum(tk_pos, 0)], None), _PRIO_RANK)
    st["priority_initial"] = initial
    current = g.ffill(where(etype == "priority_change", rank))
    st["priority_current"] = np.where(np.isnan(current), initial, current)
    status_c, status_u = _factorize(ev["status"])
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


# -------------------------------------------------------------------------------------------
# Cross-ticket context: counts as of any instant, by as-of joins over cumulative tables
# -------------------------------------------------------------------------------------------
def _vocab(values) -> pd.Index:
    """An index of the distinct non-missing keys (object dtype, so lookups hash plain str)."""
    v = pd.Series(np.asarray(values, dtype=object)).dropna().unique()
    return pd.Index(v, dtype=object)


def _encode(vocab: pd.Index, values) -> np.ndarray:
    """Integer codes of keys in ``vocab``; -1 for unknown or missing keys."""
    values = np.asarray(values, dtype=object)
    if len(values) <= 8:  # the serving path: hash lookups beat building an indexer
        return np.array(
            [vocab.get_loc(v) if v in vocab else -1 for v in values],
            dtype=np.int64,
        )
    return vocab.get_indexer(values)


class _AsOfCounter:
    """Cumulative count (or sum) of coded, timed items, queried at any (code, instant).

    Codes are integers from a shared vocabulary (-1: unknown, counts zero).
    """

    def __init__(self, codes: np.ndarray, t_us: np.ndarray, values: np.ndarray | None = None):
        codes, t_us = np.asarray(codes), np.asarray(t_us)
        ok = (codes >= 0) & (t_us != np.iinfo(np.int64).min)
        k, t = codes[ok].astype(np.int64), t_us[ok].astype(np.int64)
        v = np.ones(len(k)) if values is None else np.asarray(values, dtype="float64")[ok]
        order = np.lexsort((t, k))  # by key, then time; stable
        k, t, v = k[order], t[order], v[order]
        first = np.concatenate(([True], k[1:] != k[:-1])) if len(k) else np.zeros(0, bool)
        starts = np.flatnonzero(first)
        # Running total within each key: per-segment cumulative sums.
        cum = np.empty(len(v))
        ends = np.append(starts[1:], len(v))[: len(starts)]
        for lo, hi in zip(starts, ends, strict=True):
            np.cumsum(v[lo:hi], out=cum[lo:hi])
        # Several items at one instant: keep the total after the last of them.
        last = np.append((k[1:] != k[:-1]) | (t[1:] != t[:-1]), True) if len(k) else first
        k, t, cum = k[last], t[last], cum[last]
        bounds = (
            np.flatnonzero(np.concatenate(([True], k[1:] != k[:-1], [True]))) if len(k) else [0]
        )
        # Per-key arrays answer a few queries (the serving path) without a join.
        self._by_key = {
            int(k[lo]): (t[lo:hi], cum[lo:hi])
            for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
        }
        self._kt = (k, t, cum)
        self._table_: pd.DataFrame | None = None

    @property
    def _table(self) -> pd.DataFrame:
        """All (key, t, cum) rows sorted by time, for as-of joins of many queries (built once)."""
        if self._table_ is None:
            k, t, cum = self._kt
            frame = pd.DataFrame({"key": k, "t": t, "cum": cum})
            self._table_ = frame.sort_values("t", kind="stable")
        return self._table_

    def at(self, codes: np.ndarray, t_us: np.ndarray) -> np.ndarray:
        """Total of items with code == codes[i] and time <= t_us[i]; 0 when none."""
        out = np.zeros(len(t_us))
        if len(t_us) <= 32:
            for i, (key, t) in enumerate(zip(codes, t_us, strict=True)):
                found = self._by_key.get(int(key))
                if found is not None:
                    j = np.searchsorted(found[0], t, side="right")
                    out[i] = found[1][j - 1] if j > 0 else 0.0
            return out
        has_key = codes >= 0
        if not has_key.any():
            return out
        q = pd.DataFrame(
            {"key": codes[has_key], "t": np.asarray(t_us)[has_key], "pos": np.flatnonzero(has_key)}
        ).sort_values("t", kind="stable")
        m = pd.merge_asof(q, self._table, on="t", by="key", direction="backward")
        out[m["pos"].to_numpy()] = m["cum"].fillna(0.0).to_numpy()
        return out

    def window(self, codes: np.ndarray, t_us: np.ndarray, hours: float) -> np.ndarray:
        """Total of items in (t - hours, t]."""
        return self.at(codes, t_us) - self.at(codes, t_us - int(hours * US_PER_H))


# Counters fed by each ticket's own rows (the serving overlay replaces a ticket's rows).
_PER_TICKET = {
    "created_by_account": "account",
    "closed_by_account": "account",
    "created_by_area": "area",
    "closed_by_area": "area",
    "sentiment_sum_by_account": "account",
    "sentiment_n_by_account": "account",
    "held_by_agent": "agent",
    "released_by_agent": "agent",
    "held_by_team": "team",
    "released_by_team": "team",
}


_NAT = np.iinfo(np.int64).min


class _Rows:
    """What tickets contribute to one counter: arrays ticket_id, key, t (us; _NAT never), v."""

    __slots__ = ("ticket_id", "key", "t", "v")

    def __init__(self, ticket_id, key, t, v=None) -> None:
        self.ticket_id = np.asarray(ticket_id, dtype=object)
        self.key = np.asarray(key, dtype=object)
        self.t = np.asarray(t, dtype=np.int64)
        self.v = np.ones(len(self.t)) if v is None else np.asarray(v, dtype="float64")

    def take(self, pos: np.ndarray) -> _Rows:
        return _Rows(self.ticket_id[pos], self.key[pos], self.t[pos], self.v[pos])


def _context_rows(tickets: pd.DataFrame, events: pd.DataFrame) -> dict[str, _Rows]:
    """What each ticket contributes to each per-ticket counter (NumPy; events in any order)."""
    ids = tickets["ticket_id"].to_numpy(dtype=object)

    acc = tickets["account_id"].to_numpy(dtype=object, na_value=None)
    area = tickets["product_area"].to_numpy(dtype=object, na_value=None)
    created_us = _us(tickets["created_at"])

    ev_code = _positions(ids, events["ticket_id"].to_numpy(dtype=object))
    ev_us = _us(events["ts"])
    order = np.lexsort((ev_us, ev_code))  # by ticket, then time (stable: no-op when sorted)
    ev_code, ev_us = ev_code[order], ev_us[order]
    etype = events["event_type"].to_numpy(dtype=object)[order]
    status = events["status"].to_numpy(dtype=object, na_value=None)[order]
    sentiment = events["sentiment"].to_numpy(dtype="float64", na_value=np.nan)[order]
    ev_ids = np.where(ev_code >= 0, ids[np.maximum(ev_code, 0)] if len(ids) else None, None)

    # A ticket's close: its first "closed" status (never: _NAT).
    closing = (etype == "status_change") & (status == "closed") & (ev_code >= 0)
    close_us = np.full(len(ids), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(close_us, ev_code[closing], ev_us[closing])
    close_us[close_us == np.iinfo(np.int64).max] = _NAT

    cust = (etype == "customer_message") & ~np.isnan(sentiment) & (ev_code >= 0)
    cust_acc = acc[ev_code[cust]] if len(ids) else np.array([], dtype=object)

    # Who holds the ticket: from each assignment until the next one or the first close at or
    # after it (an assignment after a close is a reopen); a later event never moves a release.
    is_asg = (etype == "assignment") & (ev_code >= 0)
    a_code, a_us = ev_code[is_asg], ev_us[is_asg]
    same_next = np.append(a_code[1:] == a_code[:-1], False) if len(a_code) else a_code.astype(bool)
    nxt_us = np.where(same_next, np.append(a_us[1:], _NAT)[: len(a_us)], _NAT)
    c_code, c_us = ev_code[closing], ev_us[closing]
    times, inverse = np.unique(np.concatenate((a_us, c_us)), return_inverse=True)
    n_t = np.int64(len(times) + 1)
    a_key = a_code.astype(np.int64) * n_t + inverse[: len(a_us)]
    c_key = c_code.astype(np.int64) * n_t + inverse[len(a_us) :]
    c_order = np.argsort(c_key, kind="stable")
    j = np.searchsorted(c_key[c_order], a_key, side="left")
    hit = j < len(c_key)
    jj = c_order[np.minimum(j, max(len(c_key) - 1, 0))] if len(c_key) else j
    hit &= (c_code[jj] == a_code) if len(c_key) else hit
    close_of = np.where(hit, c_us[jj] if len(c_key) else _NAT, _NAT)
    end_us = np.where(
        nxt_us == _NAT,
        close_of,
        np.where(close_of == _NAT, nxt_us, np.minimum(nxt_us, close_of)),
    )
    a_ids = ev_ids[is_asg]
    agents = events["agent_id"].to_numpy(dtype=object, na_value=None)[order][is_asg]
    teams = events["team"].to_numpy(dtype=object, na_value=None)[order][is_asg]
    c_ids = ev_ids[cust]
    return {
        "created_by_account": _Rows(ids, acc, created_us),
        "closed_by_account": _Rows(ids, acc, close_us),
        "created_by_area": _Rows(ids, area, created_us),
        "closed_by_area": _Rows(ids, area, close_us),
        "sentiment_sum_by_account": _Rows(c_ids, cust_acc, ev_us[cust], sentiment[cust]),
        "sentiment_n_by_account": _Rows(c_ids, cust_acc, ev_us[cust]),
        "held_by_agent": _Rows(a_ids, agents, a_us),
        "released_by_agent": _Rows(a_ids, agents, end_us),
        "held_by_team": _Rows(a_ids, teams, a_us),
        "released_by_team": _Rows(a_ids, teams, end_us),
    }


def _column_arrays(
    accounts: pd.DataFrame, tickets: pd.DataFrame, vocab: dict[str, pd.Index]
) -> dict[str, np.ndarray | pd.Index]:
    """The ticket and account columns features read, as arrays with their id indexes."""
    account_id = tickets["account_id"].to_numpy(dtype=object, na_value=None)
    area = tickets["product_area"].to_numpy(dtype=object, na_value=None)
    return {
        "ticket_index": pd.Index(tickets["ticket_id"].to_numpy(dtype=object), dtype=object),
        "acc_code": _encode(vocab["account"], account_id),
        "area_code": _encode(vocab["area"], area),
        "account_id": account_id,
        "channel": tickets["channel"].to_numpy(dtype=object, na_value=None),
        "product_area": area,
        "account_index": pd.Index(accounts["account_id"].to_numpy(dtype=object), dtype=object),
        "arr": accounts["arr"].to_numpy(dtype="float64", na_value=np.nan),
        "strategic": accounts["strategic"].to_numpy(dtype="float64", na_value=np.nan),
        "plan": accounts["plan"].to_numpy(dtype=object, na_value=None),
        "renewal_h": to_epoch_hours(accounts["renewal_date"]),
        "created_h": to_epoch_hours(accounts["created_at"]),
    }


class _SumCounter:
    """A base counter plus a signed correction (the serving overlay of one ticket)."""

    def __init__(self, base: _AsOfCounter, delta: _AsOfCounter) -> None:
        self.base, self.delta = base, delta

    def at(self, codes: np.ndarray, t_us: np.ndarray) -> np.ndarray:
        return self.base.at(codes, t_us) + self.delta.at(codes, t_us)

    def window(self, codes: np.ndarray, t_us: np.ndarray, hours: float) -> np.ndarray:
        return self.at(codes, t_us) - self.at(codes, t_us - int(hours * US_PER_H))


def _positions(keys, values) -> np.ndarray:
    """Position of each value among unique ``keys`` (-1 if absent). A dict for small inputs
    (the serving path: building a pandas Index costs more than the lookups)."""
    keys = np.asarray(keys, dtype=object)
    values = np.asarray(values, dtype=object)
    if len(keys) <= 64 and len(values) <= 4096:
        lookup = {k: i for i, k in enumerate(keys.tolist())}
        return np.fromiter((lookup.get(v, -1) for v in values.tolist()), np.int64, len(values))
    return pd.Index(keys, dtype=object).get_indexer(values).astype(np.int64)


def _factorize(values) -> tuple[np.ndarray, np.ndarray]:
    """(codes, uniques) in order of appearance, -1 for missing: pandas.factorize on a NumPy
    object array (no Index is built for the uniques)."""
    if isinstance(values, pd.Series | pd.Index):
        values = values.to_numpy(dtype=object, na_value=None)
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    return codes, np.asarray(uniques, dtype=object)


def _extend(vocab: pd.Index, keys) -> pd.Index:
    """``vocab`` with unseen keys appended (existing codes unchanged); for a few keys."""
    new = [
        k
        for k in dict.fromkeys(np.asarray(keys, dtype=object).tolist())
        if k is not None and k == k and k is not pd.NA and k not in vocab
    ]
    return vocab.append(pd.Index(new, dtype=object)) if new else vocab


@dataclass
class FeatureContext:
    """Everything beyond one ticket's own events that its features read, indexed for as-of use.

    Built once from a data set (the batch job) or from the service's store; queried with
    snapshots. All queries are inclusive of as_of and blind to anything later.
    """

    accounts: pd.DataFrame
    tickets: pd.DataFrame
    vocab: dict[str, pd.Index]  # account, area, agent, team
    counters: dict[str, _AsOfCounter | _SumCounter]
    rows: dict[str, _Rows]  # per-ticket counter rows (for overlays)

    @classmethod
    def from_data(
        cls,
        accounts: pd.DataFrame,
        tickets: pd.DataFrame,
        events: pd.DataFrame,
        escalations: pd.DataFrame | None = None,
    ) -> FeatureContext:
        """Index a data set.

        Args:
            accounts, tickets: validated tables.
            events: sorted events with text signals attached.
            escalations: account_id, escalated_at of past escalations (any time: queries only
                count those at or before as_of). None when outcomes are unknown.
        """
        rows = _context_rows(tickets, events)
        vocab = {
            "account": _vocab(accounts["account_id"]),
            "area": _vocab(tickets["product_area"]),
            "agent": _vocab(rows["held_by_agent"].key),
            "team": _vocab(rows["held_by_team"].key),
        }
        counters: dict[str, _AsOfCounter | _SumCounter] = {
            name: _AsOfCounter(_encode(vocab[kind], rows[name].key), rows[name].t, rows[name].v)
            for name, kind in _PER_TICKET.items()
        }
        if escalations is None:
            esc_acc, esc_us = np.array([], dtype=object), np.array([], dtype=np.int64)
        else:
            esc_acc, esc_us = escalations["account_id"], _us(escalations["escalated_at"])
        counters["escalations_by_account"] = _AsOfCounter(
            _encode(vocab["account"], esc_acc), esc_us
        )
        return cls(
            accounts=accounts.set_index("account_id"),
            tickets=tickets.set_index("ticket_id"),
            vocab=vocab,
            counters=counters,
            rows=rows,
        )

    def index_for_overlays(self) -> FeatureContext:
        """Index every ticket's rows now (the service does this before swapping a context in,
        so no request pays for it); returns self."""
        for name in _PER_TICKET:
            self._rows_of(name)
        return self

    def _rows_of(self, name: str) -> dict[object, np.ndarray]:
        """ticket_id -> positions of its rows in ``rows[name]`` (indexed on first overlay: the
        batch job never needs it)."""
        cache = self.__dict__.setdefault("_rows_of_", {})
        if name not in cache:
            r = self.rows[name]
            groups = pd.Series(np.arange(len(r.t))).groupby(r.ticket_id).indices
            cache[name] = {tid: np.asarray(pos) for tid, pos in groups.items()}
        return cache[name]

    def overlay(
        self, accounts: pd.DataFrame, tickets: pd.DataFrame, events: pd.DataFrame
    ) -> FeatureContext:
        """This context with ``tickets`` as given (their events so far) instead of as indexed.

        The serving path: a request carries the ticket's latest state, which replaces whatever
        the store held for it; every other ticket stays as indexed. The result answers queries
        for ``tickets`` only (it holds only their ticket and account rows).

        Args:
            accounts: the accounts of ``tickets``.
            tickets, events: as for :meth:`from_data` (events with text signals attached).
        """
        new_rows = _context_rows(tickets, events)
        ids = tickets["ticket_id"].to_numpy(dtype=object)
        vocab = {
            "account": _extend(self.vocab["account"], accounts["account_id"]),
            "area": _extend(self.vocab["area"], tickets["product_area"]),
            "agent": _extend(self.vocab["agent"], new_rows["held_by_agent"].key),
            "team": _extend(self.vocab["team"], new_rows["held_by_team"].key),
        }
        counters: dict[str, _AsOfCounter | _SumCounter] = dict(self.counters)
        for name, kind in _PER_TICKET.items():
            found = [self._rows_of(name).get(tid) for tid in ids]
            pos = [p for p in found if p is not None]
            new = new_rows[name]
            old = self.rows[name].take(np.concatenate(pos)) if pos else None
            if old is None and not len(new.t):
                continue
            keys, t, v = new.key, new.t, new.v
            if old is not None:
                keys = np.concatenate([keys, old.key])
                t = np.concatenate([t, old.t])
                v = np.concatenate([v, -old.v])
            delta = _AsOfCounter(_encode(vocab[kind], keys), t, v)
            counters[name] = _SumCounter(self.counters[name], delta)
        ctx = FeatureContext(
            accounts=accounts,
            tickets=tickets,
            vocab=vocab,
            counters=counters,
            rows=new_rows,
        )
        ctx.__dict__["_arrays_"] = _column_arrays(accounts, tickets, vocab)
        return ctx

    def _arrays(self) -> dict[str, np.ndarray | pd.Index]:
        """Ticket and account columns as arrays with their indexes (built on first use)."""
        a = self.__dict__.get("_arrays_")
        if a is None:
            a = _column_arrays(self.accounts.reset_index(), self.tickets.reset_index(), self.vocab)
            self.__dict__["_arrays_"] = a
        return a

    def features(self, snap) -> dict[str, np.ndarray]:
        """Account and context features (name -> array) for snapshots: a mapping of arrays
        ticket_id, as_of_us, agent_current, team_current."""
        a = self._arrays()
        t = np.asarray(snap["as_of_us"])
        pos = a["ticket_index"].get_indexer(np.asarray(snap["ticket_id"], dtype=object))
        found = pos >= 0
        p = np.maximum(pos, 0)

        def ticket_col(name: str, missing):
            col = a[name]
            if len(col) == 0:
                return np.full(len(pos), missing, dtype=object if missing is None else None)
            return np.where(found, col[p], missing)

        acc_c = ticket_col("acc_code", -1).astype(np.int64)
        area_c = ticket_col("area_code", -1).astype(np.int64)
        apos = a["account_index"].get_indexer(ticket_col("account_id", None))
        afound = apos >= 0
        ap = np.maximum(apos, 0)

        def account_col(name: str, missing):
            col = a[name]
            if len(col) == 0:
                return np.full(len(apos), missing, dtype=object if missing is None else "float64")
            return np.where(afound, col[ap], missing)

        out: dict[str, np.ndarray] = {}
        arr = account_col("arr", np.nan).astype("float64")
        out["account_arr"] = arr
        out["account_arr_tier"] = np.where(
            np.isnan(arr), np.nan, np.searchsorted(_ARR_TIERS, arr, side="right")
        )
        out["account_strategic"] = account_col("strategic", np.nan).astype("float64")
        out["account_plan"] = account_col("plan", None)
        as_of_h = t / US_PER_H
        out["account_days_to_renewal"] = (account_col("renewal_h", np.nan) - as_of_h) / 24.0
        out["account_age_days"] = (as_of_h - account_col("created_h", np.nan)) / 24.0
        c = self.counters
        created, closed = c["created_by_account"], c["closed_by_account"]
        out["account_open_tickets"] = created.at(acc_c, t) - closed.at(acc_c, t)
        out["account_tickets_30d"] = created.window(acc_c, t, 24 * 30)
        out["account_tickets_90d"] = created.window(acc_c, t, 24 * 90)
        out["account_escalations_365d"] = c["escalations_by_account"].window(acc_c, t, 24 * 365)
        n = c["sentiment_n_by_account"].window(acc_c, t, 24 * 30)
        ssum = c["sentiment_sum_by_account"].window(acc_c, t, 24 * 30)
        out["account_sentiment_30d"] = np.where(n > 0, ssum / np.maximum(n, 1), np.nan)
        out["area_tickets_24h"] = c["created_by_area"].window(area_c, t, 24)
        out["area_open_tickets"] = c["created_by_area"].at(area_c, t) - c["closed_by_area"].at(
            area_c, t
        )
        agent = np.asarray(snap["agent_current"], dtype=object)
        team = np.asarray(snap["team_current"], dtype=object)
        agent_c, team_c = _encode(self.vocab["agent"], agent), _encode(self.vocab["team"], team)
        held = c["held_by_agent"].at(agent_c, t) - c["released_by_agent"].at(agent_c, t)
        out["agent_backlog"] = np.where(pd.isna(agent), np.nan, held)
        held = c["held_by_team"].at(team_c, t) - c["released_by_team"].at(team_c, t)
        out["team_backlog"] = np.where(pd.isna(team), np.nan, held)
        out["ticket_channel"] = ticket_col("channel", None)
        out["ticket_product_area"] = ticket_col("product_area", None)
        return out


# -------------------------------------------------------------------------------------------
# Snapshot features
# -------------------------------------------------------------------------------------------
def _names(codes: np.ndarray, names: np.ndarray) -> np.ndarray:
    """Integer codes (float, NaN for none) back to their names (None for none)."""
    c = np.asarray(codes, dtype="float64")
    out = np.full(len(c), None, dtype=object)
    ok = ~np.isnan(c)
    out[ok] = names[c[ok].astype(np.int64)]
    return out


def _locate(state: EventState, ticket_ids: np.ndarray, as_of_us: np.ndarray) -> np.ndarray:
    """Row of ``state`` holding each snapshot's ticket state: its last event at or before as_of
    (-1 if none). Events of one ticket at the same instant: the state after the last of them."""
    if len(state) == 0:
        return np.full(len(as_of_us), -1, dtype=np.int64)
    s_code, vocab = _factorize(state.ticket_id)
    s_code = s_code.astype(np.int64)
    q_code = _positions(vocab, np.asarray(ticket_ids, dtype=object))
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


def snapshot_features(
    state: EventState,
    tickets: pd.DataFrame,
    snapshots: pd.DataFrame,
    context: FeatureContext,
    frame: bool = True,
) -> pd.DataFrame | dict[str, np.ndarray]:
    """Feature rows for snapshots (ticket_id, as_of) from per-event state and the context.

    Returns a frame with ticket_id, as_of, team (holding the ticket at as_of; a key, not a
    feature) and every registered feature, in registry order, in the order of ``snapshots``;
    with ``frame=False`` the features as a dict of arrays (the
    serving path, which has no use for a one-row frame).
    """
    snap_ids = np.asarray(snapshots["ticket_id"], dtype=object)
    as_of_us = _us(snapshots["as_of"])
    rows = _locate(state, snap_ids, as_of_us)
    have = rows >= 0
    take = np.where(have, rows, 0)
    # As_of before the ticket's first event: no state yet (NaN).
    s = {
        k: np.where(have, v[take], np.nan) if len(v) else np.full(len(rows), np.nan)
        for k, v in state.cols.items()
    }

    tk_pos = _positions(tickets["ticket_id"].to_numpy(dtype=object), snap_ids)
    if (tk_pos < 0).any():
        raise ValueError("snapshots name tickets missing from the tickets table")
    created_us = _us(tickets["created_at"])[tk_pos].astype("float64")
    t = as_of_us.astype("float64")
    H = float(US_PER_H)
    f: dict[str, np.ndarray] = {}

    def count(col: str) -> np.ndarray:
        return np.nan_to_num(s[col], nan=0.0)

    f["customer_sentiment_last"] = s["sent_last"]
    f["customer_sentiment_mean"] = s["sent_mean"]
    f["customer_sentiment_min"] = s["sent_min"]
    f["customer_sentiment_first"] = s["sent_first"]
    f["customer_sentiment_drop"] = f["customer_sentiment_first"] - f["customer_sentiment_last"]
    f["customer_sentiment_trend_last3"] = s["sent_trend3"]
    f["customer_negative_share"] = s["neg_share"]
    for intent in RISK_INTENTS:
        f[f"customer_intent_{intent}"] = (count(f"intent_{intent}") > 0).astype("float64")
    f["customer_intent_followup_count"] = count("intent_follow_up")
    f["customer_intensity_last"] = s["intensity_last"]
    f["customer_intensity_max"] = s["intensity_max"]
    f["customer_message_length_last"] = s["length_last"]
    f["customer_message_count"] = count("cust_count")

    f["ticket_age_h"] = (t - created_us) / H
    first_agent = s["first_agent_us"]
    f["ticket_first_response_h"] = (first_agent - created_us) / H
    wait_start = s["wait_start_us"]
    waiting = np.where(np.isnan(wait_start), 0.0, (t - wait_start) / H)
    f["ticket_waiting_h"] = waiting
    f["ticket_longest_wait_h"] = np.fmax(s["longest_done_us"] / H, waiting)
    last_agent = s["last_agent_us"]
    f["ticket_since_agent_h"] = (t - np.where(np.isnan(last_agent), created_us, last_agent)) / H

    # First-response SLA on the initial priority (features/calendar.py holds the policy).
    prio = tickets["priority"].to_numpy(dtype=object)[tk_pos]
    sla_h = map_values(prio, SLA_HOURS)
    business = map_values(prio, SLA_BUSINESS_HOURS, default=0.0) > 0
    cal = business_calendar()
    created_h, t_h = created_us / H, t / H
    answered = ~np.isnan(first_agent) & (first_agent <= t)
    until_h = np.where(answered, first_agent / H, t_h)
    used = np.where(
        business,
        cal.cumulative(until_h) - cal.cumulative(created_h),
        until_h - created_h,
    )
    f["sla_consumed_share"] = used / sla_h
    f["sla_breached"] = (used > sla_h).astype("float64")
    deadline_h = sla_deadlines(created_h, prio, cal)
    f["sla_hours_to_breach"] = np.where(answered, np.nan, deadline_h - t_h)
    f["ticket_in_business_hours"] = (cal.cumulative(t_h + 1e-9) - cal.cumulative(t_h) > 0).astype(
        "float64"
    )

    f["ticket_reopen_count"] = count("reopen_count")
    f["ticket_handoff_count"] = count("handoffs")
    f["ticket_tier_current"] = s["tier_current"]
    f["ticket_tier_max"] = s["tier_max"]
    f["ticket_tier_changes"] = count("tier_changes")
    f["ticket_bounceback_count"] = count("bouncebacks")
    f["ticket_agent_count"] = count("agent_distinct")
    f["ticket_unanswered_count"] = count("unanswered")
    initial = map_values(prio, _PRIO_RANK)
    f["ticket_priority_current"] = np.where(have, s["priority_current"], initial)
    f["ticket_priority_initial"] = initial
    f["ticket_priority_changes"] = count("priority_changes")
    f["ticket_status_changes"] = count("status_changes")
    f["ticket_pending_customer"] = s["pending_customer"]
    f["ticket_customer_agent_ratio"] = count("cust_count") / (count("agent_count") + 1.0)
    f["ticket_internal_note_count"] = count("note_count")
    f["ticket_event_count"] = count("event_count")

    ctx_in = {
        "ticket_id": snap_ids,
        "as_of_us": as_of_us,
        "agent_current": _names(s["agent_code"], state.agent_names),
        "team_current": _names(s["team_code"], state.team_names),
    }
    f.update(context.features(ctx_in))
    hours = as_of_us // US_PER_H  # floor: right for any UTC instant
    f["ticket_hour_utc"] = (hours % 24).astype("float64")
    f["ticket_weekday"] = ((hours // 24 + _EPOCH_WEEKDAY) % 7).astype("float64")
    if not frame:
        return f
    keys = snapshots[["ticket_id", "as_of"]].reset_index(drop=True)
    # The team holding the ticket at as_of: a key for per-team alert budgets, not a feature.
    keys["team"] = pd.Series(ctx_in["team_current"], dtype=object)
    values = pd.DataFrame({name: f[name] for name in FEATURE_NAMES}, index=keys.index)
    return pd.concat([keys, values], axis=1)


# -------------------------------------------------------------------------------------------
# Entry points
# -------------------------------------------------------------------------------------------
def escalation_history(
    outcomes: pd.DataFrame | None, tickets: pd.DataFrame
) -> pd.DataFrame | None:
    """Past escalations as (account_id, escalated_at), the only outcome data features may use."""
    if outcomes is None:
        return None
    esc = outcomes.dropna(subset=["escalated_at"])
    return pd.DataFrame(
        {
            "account_id": esc["ticket_id"]
            .map(tickets.set_index("ticket_id")["account_id"])
            .to_numpy(),
            "escalated_at": esc["escalated_at"].to_numpy(),
        }
    )


def build_features(
    accounts: pd.DataFrame,
    tickets: pd.DataFrame,
    events: pd.DataFrame,
    snapshots: pd.DataFrame,
    escalations: pd.DataFrame | None = None,
    context: FeatureContext | None = None,
    n_jobs: int | None = None,
) -> pd.DataFrame:
    """Features for many snapshots at once (the batch path).

    Args:
        events: sorted by (ticket_id, ts) with text signals attached.
        snapshots: ticket_id, as_of (UTC timestamps; inclusive).
        escalations: see :func:`escalation_history`.
        context: a prebuilt context (else built from the tables given).
        n_jobs: worker processes (default: 2 on large inputs where 2 CPUs are free, else 1);
            the result is identical for any value.
    """
    context = context or FeatureContext.from_data(accounts, tickets, events, escalations)
    n_jobs = _jobs(n_jobs, len(events))
    if n_jobs == 1:
        state = event_state(events[list(_EVENT_COLUMNS)], tickets)
        return snapshot_features(state, tickets, snapshots, context)
    # Tickets are independent given the shared context: split them across processes. Forked
    # workers read the inputs from this module (no copying in), and return their rows.
    global _WORK
    ids = pd.Index(pd.unique(snapshots["ticket_id"].to_numpy(dtype=object)))
    part_of = pd.Series(np.arange(len(ids)) % n_jobs, index=ids)
    _WORK = (
        events[list(_EVENT_COLUMNS)],
        tickets,
        snapshots.reset_index(drop=True),
        context,
        part_of,
    )
    try:
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(n_jobs, mp_context=ctx) as pool:
            parts = list(pool.map(_build_part, range(n_jobs)))
    finally:
        _WORK = None
    out = pd.concat([df for df, _ in parts], ignore_index=True)
    order = np.concatenate([pos for _, pos in parts])
    return out.iloc[np.argsort(order, kind="stable")].reset_index(drop=True)


_WORK: tuple | None = None


def _jobs(n_jobs: int | None, n_events: int) -> int:
    """Processes for the batch path: one for small inputs, else up to the CPUs available."""
    if n_jobs is not None:
        return max(1, n_jobs)
    if n_events < 200_000:
        return 1
    return max(1, min(2, len(os.sched_getaffinity(0))))


def _build_part(k: int) -> tuple[pd.DataFrame, np.ndarray]:
    events, tickets, snapshots, context, part_of = _WORK  # type: ignore[misc]
    ev = events[events["ticket_id"].map(part_of).to_numpy() == k]
    mask = snapshots["ticket_id"].map(part_of).to_numpy() == k
    state = event_state(ev.reset_index(drop=True), tickets)
    rows = snapshot_features(state, tickets, snapshots[mask], context)
    return rows, np.flatnonzero(mask)


def build_ticket_features(
    ticket: pd.DataFrame,
    events: pd.DataFrame,
    as_of: pd.Timestamp,
    context: FeatureContext,
    frame: bool = True,
) -> pd.DataFrame | dict[str, np.ndarray]:
    """Features of one ticket at one instant (the serving path): exactly the batch code.

    Args:
        ticket: a one-row tickets frame.
        events: that ticket's events (any order), text signals attached.
        as_of: the scoring instant (UTC); must not be before the ticket was created.
        context: account and cross-ticket context (the service's store, or a batch context).
        frame: False returns the features as a dict of one-element arrays.
    """
    created = ticket["created_at"].iloc[0]
    if as_of < created:
        raise ValueError(f"as_of {as_of} is before the ticket was created ({created})")
    ts = _us(events["ts"])
    if len(ts) > 1 and (np.diff(ts) < 0).any():  # requests may list events in any order
        events = events.iloc[np.argsort(ts, kind="stable")]
    state = event_state(events.reset_index(drop=True), ticket)
    as_of_col = pd.DatetimeIndex([as_of]).as_unit("us")
    ids = ticket["ticket_id"].to_numpy(dtype=object)[:1]
    if frame:
        snap = pd.DataFrame({"ticket_id": ids, "as_of": as_of_col})
        return snapshot_features(state, ticket, snap, context)
    return snapshot_features(state, ticket, {"ticket_id": ids, "as_of": as_of_col}, context, False)


def make_snapshots(events: pd.DataFrame, outcomes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Scoring moments: every event on an open ticket, one per (ticket, instant).

    A moment is dropped once the ticket is closed (its close event included) and, when outcomes
    are given, from the escalation on (the question is already answered). ``weight`` is
    1 / (moments of the ticket), scaled to mean 1, so long tickets do not dominate training.
    Adds ``label`` (escalates after as_of) and ``hours_to_escalation`` when outcomes are given.
    """
    ev = events[["ticket_id", "ts", "event_type", "status"]]
    closing = (ev["event_type"] == "status_change") & (ev["status"] == "closed")
    closed_at = ev.loc[closing].groupby("ticket_id")["ts"].min()
    snaps = ev[["ticket_id", "ts"]].drop_duplicates(keep="last").rename(columns={"ts": "as_of"})
    close = snaps["ticket_id"].map(closed_at)
    snaps = snaps[close.isna() | (snaps["as_of"] < close)]
    if outcomes is not None:
        esc = snaps["ticket_id"].map(outcomes.set_index("ticket_id")["escalated_at"])
        keep = esc.isna() | (snaps["as_of"] < esc)
        snaps = snaps[keep]
        esc = esc[keep]
        snaps = snaps.assign(
            label=esc.notna().astype("int8"),
            hours_to_escalation=(esc - snaps["as_of"]).dt.total_seconds() / 3600.0,
        )
    n = snaps.groupby("ticket_id")["as_of"].transform("size").to_numpy()
    w = 1.0 / n
    snaps = snaps.assign(weight=w / w.mean())
    return snaps.reset_index(drop=True)
