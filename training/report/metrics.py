"""The operational metrics of a support organisation, computed from the event log.

Two tables carry everything (:func:`ticket_table`, :func:`handoff_table`); every metric is an
aggregate over a subset of their rows (:func:`group_metrics`), so the overall figure, a month, a
team or a segment are computed the same way. Definitions (targets in ``targets.json``):

- **escalation rate**: tickets with ``outcomes.escalated_at`` set / tickets created.
- **handoff**: an ``assignment`` to another team than the one holding the ticket (the first
  assignment of a ticket is intake, not a handoff). **Handoff delay**: from the handoff to the
  new team's first work on the ticket: an ``agent_message``, a non-empty ``internal_note`` by an
  agent, or a move to a working status (open, pending_customer, solved, closed) by anyone but the
  customer, before the next handoff. Critical = the ticket's priority at the handoff is P1.
- **bounceback**: a ticket handed off at least once that later returns to a team it had
  already visited (ping-pong), over tickets handed off.
- **context loss**: see :mod:`training.report.context`; filled in by it, missing otherwise.
- **re-contact after an escalation**: an escalated ticket reopened after the escalation, or
  whose account opens another ticket within 7 days after the escalated ticket's resolution (its
  first ``solved``/``closed`` status after the escalation, else ``closed_at``) about the same
  product area.
- **first-response SLA** (``features.calendar``): the first ``agent_message``; a log without any
  agent message uses the first work event as above (a proxy, reported as such). A ticket never
  answered breaches when its deadline passed before the log ends.

Months are calendar months of the ticket's creation, UTC. Segment = the account's plan (else an
ARR band, else ``unknown``); team and agent = the ticket's first assigned team and agent.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.calendar import business_calendar, sla_deadlines, to_epoch_hours
from features.schema import SupportData

TARGETS_FILE = Path(__file__).with_name("targets.json")
WORK_STATUSES = ("open", "pending_customer", "solved", "closed")
RECONTACT_DAYS = 7
ARR_BANDS = (
    (0, "ARR <10k"),
    (10_000, "ARR 10k-50k"),
    (50_000, "ARR 50k-250k"),
    (250_000, "ARR >=250k"),
)
UNKNOWN = "unknown"


@lru_cache(maxsize=1)
def targets() -> dict[str, dict[str, Any]]:
    """The targets of the metrics (``targets.json``): label, target, direction, unit, definition."""
    return json.loads(TARGETS_FILE.read_text())


def default_month(months: pd.Series) -> str:
    """The latest month with at least half the median month's tickets (a log usually ends in
    a partial month, and starts with the stragglers of earlier ones)."""
    counts = months.value_counts().sort_index()
    full = counts[counts >= 0.5 * counts.median()]
    return str(full.index[-1])


def _month(ts: pd.Series) -> pd.Series:
    return ts.dt.tz_convert("UTC").dt.strftime("%Y-%m")


def _segment(accounts: pd.DataFrame) -> pd.Series:
    plan = accounts["plan"].astype(object)
    arr = accounts["arr"].to_numpy(dtype="float64", na_value=np.nan)
    band = np.full(len(accounts), UNKNOWN, dtype=object)
    for lower, name in ARR_BANDS:
        band[np.nan_to_num(arr, nan=-1) >= lower] = name
    seg = plan.where(plan.notna(), pd.Series(band, index=accounts.index))
    return pd.Series(seg.to_numpy(dtype=object), index=accounts["account_id"].to_numpy())


def _work_mask(events: pd.DataFrame) -> np.ndarray:
    et = events["event_type"].to_numpy(dtype=object)
    actor = events["actor"].to_numpy(dtype=object)
    status = events["status"].isin(WORK_STATUSES).to_numpy(dtype=bool, na_value=False)
    has_text = events["text"].notna().to_numpy()
    return (
        (et == "agent_message")
        | ((et == "internal_note") & (actor == "agent") & has_text)
        | ((et == "status_change") & (actor != "customer") & status)
    )


def ticket_table(data: SupportData) -> pd.DataFrame:
    """One row per ticket: ticket_id, account_id, month, priority, segment, team, agent,
    escalated (bool; missing without outcomes), escalation_type, escalated_at, sla_breached
    (bool), recontact (bool, escalated tickets only), handoffs (int), bounced (bool)."""
    t, e = data.tickets, data.events
    out = pd.DataFrame(
        {
            "ticket_id": t["ticket_id"].to_numpy(dtype=object),
            "account_id": t["account_id"].to_numpy(dtype=object),
            "created_at": t["created_at"].to_numpy(),
            "month": _month(t["created_at"]).to_numpy(dtype=object),
            "priority": t["priority"].to_numpy(dtype=object),
        }
    ).set_index("ticket_id", drop=False)
    out["segment"] = out["account_id"].map(_segment(data.accounts)).fillna(UNKNOWN)
    assign = e[e["event_type"] == "assignment"]
    first = assign.drop_duplicates("ticket_id")
    out["team"] = first.set_index("ticket_id")["team"].astype(object).reindex(out.index)
    out["agent"] = first.set_index("ticket_id")["agent_id"].astype(object).reindex(out.index)
    out[["team", "agent"]] = out[["team", "agent"]].fillna(UNKNOWN)

    if data.outcomes is not None:
        o = data.outcomes.set_index("ticket_id")
        out["escalated_at"] = o["escalated_at"].reindex(out.index)
        out["escalated"] = out["escalated_at"].notna()
        out["escalation_type"] = o["escalation_type"].astype(object).reindex(out.index)
    else:
        out["escalated_at"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[us, UTC]")
        out["escalated"] = pd.NA
        out["escalation_type"] = None

    out["sla_breached"] = _sla_breached(data, out)
    out["recontact"] = _recontact(data, out)
    hand = handoff_table(data)
    counts = hand.groupby("ticket_id").size()
    out["handoffs"] = counts.reindex(out.index).fillna(0).astype(int)
    out["bounced"] = hand.groupby("ticket_id")["bounceback"].any().reindex(out.index)
    out["bounced"] = out["bounced"].fillna(False).astype(bool)
    return out.reset_index(drop=True)


def response_source(data: SupportData) -> str:
    """What counts as the first response: agent messages, or the first work event (proxy)."""
    return "agent_message" if (data.events["event_type"] == "agent_message").any() else "work"


def _sla_breached(data: SupportData, tickets: pd.DataFrame) -> pd.Series:
    e = data.events
    if response_source(data) == "agent_message":
        resp = e[e["event_type"] == "agent_message"]
    else:
        resp = e[_work_mask(e)]
    first = resp.groupby("ticket_id")["ts"].min().reindex(tickets.index)
    created_h = to_epoch_hours(tickets["created_at"])
    deadline = sla_deadlines(created_h, tickets["priority"].to_numpy(), business_calendar())
    first_h = to_epoch_hours(first)
    log_end = float(np.nanmax(to_epoch_hours(e["ts"]))) if len(e) else np.nan
    answered = ~np.isnan(first_h)
    breached = np.where(answered, first_h > deadline, deadline < log_end)
    return pd.Series(breached, index=tickets.index, dtype=bool)


def _recontact(data: SupportData, tickets: pd.DataFrame) -> pd.Series:
    out = pd.Series(pd.NA, index=tickets.index, dtype="boolean")
    esc = tickets[tickets["escalated"].fillna(False).astype(bool)]
    if esc.empty:
        return out
    e = data.events
    e = e[e["ticket_id"].isin(esc.index)]
    esc_at = e["ticket_id"].map(esc["escalated_at"])
    after = e["ts"] > esc_at
    reopened = e[after & (e["event_type"] == "reopened")]["ticket_id"].unique()
    solved = e[
        after & (e["event_type"] == "status_change") & e["status"].isin(["solved", "closed"])
    ]
    resolved = solved.groupby("ticket_id")["ts"].min().reindex(esc.index)
    closed = data.tickets.set_index("ticket_id")["closed_at"].reindex(esc.index)
    resolved = resolved.fillna(closed)
    # A new ticket of the same account about the same product area (when the log has one).
    t = data.tickets[["ticket_id", "account_id", "created_at", "product_area"]].copy()
    t["product_area"] = t["product_area"].astype(object).fillna(UNKNOWN)
    area = t.set_index("ticket_id")["product_area"]
    pairs = esc[["account_id"]].assign(resolved=resolved, product_area=esc.index.map(area))
    pairs = pairs.reset_index(names="esc_id").merge(t, on=["account_id", "product_area"])
    window = pd.Timedelta(days=RECONTACT_DAYS)
    hit = (
        (pairs["ticket_id"] != pairs["esc_id"])
        & (pairs["created_at"] > pairs["resolved"])
        & (pairs["created_at"] <= pairs["resolved"] + window)
    )
    hits = set(pairs.loc[hit.to_numpy(dtype=bool, na_value=False), "esc_id"]) | set(reopened)
    out[esc.index] = [tid in hits for tid in esc.index]
    return out


def handoff_table(data: SupportData) -> pd.DataFrame:
    """One row per handoff: ticket_id, ts, from_team, to_team, to_agent, critical (P1 at the
    handoff), bounceback (the ticket returns to a team it had visited), delay_min (minutes until
    the new team's first work; NaN if none before the next handoff or the log's end), pos (row of
    the handoff event in ``data.events``)."""
    e = data.events.reset_index(drop=True)
    tickets = data.tickets.set_index("ticket_id")
    pos = np.arange(len(e))
    prio = e["priority"].astype(object).where(e["event_type"] == "priority_change")
    initial = e["ticket_id"].map(tickets["priority"]).astype(object)
    tid = e["ticket_id"].to_numpy(dtype=object)
    first_row = np.r_[True, tid[1:] != tid[:-1]] if len(tid) else np.zeros(0, dtype=bool)
    prio = prio.where(~(first_row & prio.isna().to_numpy()), initial)
    current_prio = prio.groupby(e["ticket_id"]).ffill()

    is_a = (e["event_type"] == "assignment").to_numpy()
    a = e[is_a].assign(pos=pos[is_a], priority_now=current_prio[is_a].to_numpy())
    a["prev_team"] = a.groupby("ticket_id")["team"].shift(1)
    handoff = a["prev_team"].notna() & (a["team"] != a["prev_team"])
    visited_before = a.duplicated(["ticket_id", "team"])
    h = a[handoff.to_numpy(dtype=bool)].copy()
    h["bounceback"] = visited_before[handoff.to_numpy(dtype=bool)].to_numpy(dtype=bool)
    h["next_pos"] = h.groupby("ticket_id")["pos"].shift(-1)

    # Events are sorted by ticket then time: the next work event after a handoff is the first
    # work row after its position, if it belongs to the same ticket.
    work_rows = np.flatnonzero(_work_mask(e))
    hpos = h["pos"].to_numpy()
    k = np.searchsorted(work_rows, hpos, side="right")
    cand = work_rows[np.minimum(k, max(len(work_rows) - 1, 0))] if len(work_rows) else hpos
    same = (k < len(work_rows)) & (tid[cand] == tid[hpos])
    work_pos = np.where(same, cand, np.nan).astype("float64")
    work_ts = e["ts"].to_numpy()[cand]
    before_next = np.isnan(h["next_pos"].to_numpy(dtype="float64")) | (
        work_pos < h["next_pos"].to_numpy(dtype="float64")
    )
    delay = (work_ts - h["ts"].to_numpy()) / np.timedelta64(1, "m")
    delay = np.where(before_next & ~np.isnan(work_pos), delay.astype("float64"), np.nan)
    return pd.DataFrame(
        {
            "ticket_id": h["ticket_id"].to_numpy(dtype=object),
            "ts": h["ts"].to_numpy(),
            "from_team": h["prev_team"].to_numpy(dtype=object),
            "to_team": h["team"].to_numpy(dtype=object),
            "to_agent": h["agent_id"].astype(object).fillna(UNKNOWN).to_numpy(),
            "critical": (h["priority_now"] == "P1").to_numpy(dtype=bool),
            "bounceback": h["bounceback"].to_numpy(dtype=bool),
            "delay_min": delay,
            "pos": h["pos"].to_numpy(dtype=np.int64),
        }
    )


def _share(mask: pd.Series | np.ndarray) -> tuple[float | None, int]:
    m = pd.Series(mask).dropna().astype(bool)
    return (round(float(m.mean()), 4) if len(m) else None), int(len(m))


def group_metrics(tickets: pd.DataFrame, handoffs: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Every metric over a subset: ``{metric: {value, n, ok, ...}}``; ``value`` None without data.

    ``tickets`` from :func:`ticket_table`, ``handoffs`` from :func:`handoff_table` (with
    ``context_lost`` when context loss was measured). ``ok`` compares against the target.
    """
    out: dict[str, dict[str, Any]] = {}
    esc = tickets["escalated"]
    if esc.notna().any():
        out["escalation_rate"] = dict(zip(("value", "n"), _share(esc), strict=True))
    else:
        out["escalation_rate"] = {"value": None, "n": 0}
    crit = handoffs.loc[handoffs["critical"], "delay_min"].dropna()
    all_delay = handoffs["delay_min"].dropna()
    out["handoff_delay_critical_min"] = {
        "value": round(float(crit.median()), 1) if len(crit) else None,
        "n": int(len(crit)),
        "p90": round(float(crit.quantile(0.9)), 1) if len(crit) else None,
        "within_30_min": round(float((crit <= 30).mean()), 4) if len(crit) else None,
        "all_median": round(float(all_delay.median()), 1) if len(all_delay) else None,
        "all_n": int(len(all_delay)),
    }
    handed = tickets[tickets["handoffs"] > 0]
    out["bounceback_rate"] = dict(zip(("value", "n"), _share(handed["bounced"]), strict=True))
    if "context_lost" in handoffs.columns:
        out["context_loss_rate"] = dict(
            zip(("value", "n"), _share(handoffs["context_lost"]), strict=True)
        )
    else:
        out["context_loss_rate"] = {"value": None, "n": 0}
    rec = tickets.loc[tickets["escalated"].fillna(False).astype(bool), "recontact"]
    out["recontact_rate"] = dict(zip(("value", "n"), _share(rec), strict=True))
    overall, n_all = _share(tickets["sla_breached"])
    esc_mask = tickets["escalated"].fillna(False).astype(bool)
    escalated, n_esc = _share(tickets.loc[esc_mask, "sla_breached"])
    gap = None if overall is None or escalated is None else round(100 * (escalated - overall), 1)
    out["sla_breach_gap_points"] = {
        "value": gap,
        "n": n_esc,
        "escalated": escalated,
        "overall": overall,
        "overall_n": n_all,
    }
    for name, m in out.items():
        target = targets()[name]["target"]
        v = m["value"]
        m["target"] = target
        if v is None:
            m["ok"] = None
        else:
            m["ok"] = bool(abs(v) <= target if name.endswith("gap_points") else v < target)
    return out
