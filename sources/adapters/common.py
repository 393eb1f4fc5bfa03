"""What the adapters share: the result type, the error type, and rows -> support-data events.

An adapter turns a real export into one *row frame* (one row per source event, ordered within
each case) holding the state of the case after that row: status, team, tier, agent, priority,
reopen count. :func:`events_from_rows` turns state changes into the model's typed events, so both
adapters map "what changed on this row" the same way:

- a new team (the first team of the case included) -> ``assignment`` (team, tier, agent);
- a new priority -> ``priority_change``; a higher reopen count -> ``reopened``;
- a new status (the first row always) -> ``status_change``;
- a row that changes none of these (a note, an edit of an unmapped field) -> ``internal_note``
  without text, so that every source row is a scoring moment and prefix lengths count rows.

Every event carries ``source_seq``: the 1-based position of its source row in the case (an extra
column; the reader keeps it, features never read it). Prefix-length evaluation uses it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from features.schema import SupportData, validate_tables

UTC = "datetime64[us, UTC]"


class AdapterError(ValueError):
    """The input is not a readable export of the expected kind (message says what and where)."""


@dataclass(frozen=True)
class AdapterResult:
    """Validated tables plus a report of the mapping and of every quirk handled (with counts)."""

    data: SupportData
    report: dict[str, Any] = field(default_factory=dict)


def _changed(values: pd.Series, first: np.ndarray) -> np.ndarray:
    """True where a value differs from the previous row's in the same case (first row: True).

    Missing values never count as a change and never reset the previous value.
    """
    filled = values.astype(object).where(values.notna(), None)
    prev = pd.Series(filled).groupby(np.cumsum(first)).ffill().shift(1)
    prev[first] = None
    prev_v = prev.to_numpy(dtype=object)
    cur = filled.to_numpy(dtype=object)
    has = values.notna().to_numpy()
    return has & ((prev_v == None) | (cur != prev_v))  # noqa: E711 - elementwise


def events_from_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Typed events from per-row case state.

    Args:
        rows: sorted by case then source order, columns ticket_id, ts (UTC), source_seq (int,
            1-based), status (model status or NaN), team, tier (Int64), agent_id, priority
            (P1-P3), reopen_count (int), actor (agent/system).

    Returns:
        The events table (schema columns plus ``source_seq``), one or more events per row, in
        row order; events of one row share its timestamp (ties keep this order in the reader).
    """
    rows = rows.reset_index(drop=True)
    first = (rows["ticket_id"] != rows["ticket_id"].shift(1)).to_numpy()
    team_new = _changed(rows["team"], first)
    prio_new = _changed(rows["priority"], first) & ~first
    status_new = _changed(rows["status"], first)
    reopen = rows["reopen_count"].to_numpy(dtype="float64")
    prev_reopen = np.r_[np.nan, reopen[:-1]]
    reopen_new = ~first & (reopen > prev_reopen)
    note = ~(team_new | prio_new | status_new | reopen_new)

    parts = []
    # The order of parts is the order of a row's events at one instant.
    for etype, mask in (
        ("reopened", reopen_new),
        ("assignment", team_new),
        ("priority_change", prio_new),
        ("status_change", status_new),
        ("internal_note", note),
    ):
        sel = rows[mask]
        part = pd.DataFrame(
            {
                "ticket_id": sel["ticket_id"].to_numpy(dtype=object),
                "ts": sel["ts"].to_numpy(),
                "event_type": etype,
                "actor": sel["actor"].to_numpy(dtype=object),
                "agent_id": sel["agent_id"].to_numpy(dtype=object),
                "team": sel["team"].to_numpy(dtype=object) if etype == "assignment" else None,
                "tier": sel["tier"].to_numpy() if etype == "assignment" else pd.NA,
                "status": sel["status"].to_numpy(dtype=object)
                if etype == "status_change"
                else None,
                "priority": sel["priority"].to_numpy(dtype=object)
                if etype == "priority_change"
                else None,
                "csat": pd.NA,
                "text": None,
                "source_seq": sel["source_seq"].to_numpy(dtype=np.int64),
                "_row": np.flatnonzero(mask),
            }
        )
        part["_order"] = len(parts)
        parts.append(part)
    events = pd.concat(parts, ignore_index=True)
    events = events.sort_values(["_row", "_order"], kind="stable").drop(columns=["_row", "_order"])
    events["ts"] = pd.to_datetime(events["ts"], utc=True).astype(UTC)
    events["tier"] = events["tier"].astype("Int64")
    events["csat"] = events["csat"].astype("Int64")
    for col in ("agent_id", "team", "status", "priority", "text"):
        events[col] = events[col].astype(object).where(events[col].notna(), None)
    return events.reset_index(drop=True)


def unknown_accounts(tickets: pd.DataFrame) -> pd.DataFrame:
    """Accounts for logs without customer data: every column missing or neutral.

    ``strategic`` is required by the data model and set to False (no named accounts in the log);
    ARR, plan, region, industry and dates are missing, so account features are NaN, not invented.
    """
    ids = pd.unique(tickets["account_id"].to_numpy(dtype=object))
    return pd.DataFrame(
        {
            "account_id": ids,
            "arr": np.full(len(ids), np.nan),
            "plan": None,
            "strategic": np.zeros(len(ids), dtype=bool),
            "region": None,
            "industry": None,
            "created_at": pd.Series(pd.NaT, index=range(len(ids)), dtype=UTC),
            "renewal_date": pd.Series(pd.NaT, index=range(len(ids)), dtype=UTC),
        }
    )


def outcomes_frame(
    ticket_ids: pd.Series, escalated_at: pd.Series, kind: str | None, *, keep: pd.Series
) -> pd.DataFrame:
    """The outcomes table: one row per kept ticket, escalation type ``other`` when escalated.

    The logs record no reason for an escalation, so the type is ``other`` (the model's label is
    "escalates after as_of"; the type only feeds reports).
    """
    esc = pd.Series(pd.to_datetime(escalated_at, utc=True)).astype(UTC).reset_index(drop=True)
    ids = ticket_ids.to_numpy(dtype=object)
    m = keep.to_numpy(dtype=bool)
    escalated = esc.notna().to_numpy()[m]
    return pd.DataFrame(
        {
            "ticket_id": ids[m],
            "escalated_at": esc[m].reset_index(drop=True),
            "escalation_type": np.where(escalated, "other", None),
            "escalation_kind": np.where(escalated, kind, None) if kind else None,
        }
    )


def assemble(
    accounts: pd.DataFrame,
    tickets: pd.DataFrame,
    events: pd.DataFrame,
    outcomes: pd.DataFrame,
    source: str,
) -> SupportData:
    """Validate the mapped tables through the project's one validator."""
    for col in ("escalation_type", "escalation_kind"):
        outcomes[col] = outcomes[col].astype(object).where(outcomes[col].notna(), None)
    return validate_tables(
        accounts,
        tickets,
        events,
        outcomes,
        files={name: f"{source} -> {name}" for name in ("accounts", "tickets", "events")}
        | {"outcomes": f"{source} -> outcomes"},
    )


def label_summary(outcomes: pd.DataFrame) -> dict[str, Any]:
    n = len(outcomes)
    k = int(outcomes["escalated_at"].notna().sum())
    return {"tickets": n, "escalated": k, "escalated_share": round(k / n, 4) if n else None}
