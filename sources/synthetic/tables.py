"""From simulator records to tables: the validated support data and the ground truth."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.schema import SupportData, validate_tables


def hours_to_ts(h: np.ndarray | pd.Series) -> pd.Series:
    """Epoch hours as UTC timestamps, rounded to the microsecond (NaN becomes NaT)."""
    us = np.round(np.asarray(h, dtype="float64") * 3.6e9)
    return pd.Series(pd.to_datetime(pd.array(us, dtype="Int64"), unit="us", utc=True))


def assemble_tables(
    accounts: pd.DataFrame,
    tickets: list[dict[str, Any]],
    events: list[tuple],
    ev_ticket: list[int],
    outcomes: list[tuple],
    truth: list[tuple],
) -> tuple[SupportData, pd.DataFrame]:
    """The simulator's records as validated support data plus the ground-truth frame.

    ``accounts`` is the accounts frame with its hidden ``_temper`` column; ``tickets`` are
    dicts of ticket columns (times in epoch hours); ``events`` are the process's event tuples
    (ts, event_type, actor, agent_id, team, tier, status, priority, csat, text) and
    ``ev_ticket`` the position of each one's ticket in ``tickets``; ``outcomes`` are
    (ticket_id, escalated_at, escalation_type, escalation_kind) and ``truth`` rows
    (ticket_id, as_of, p_true, frustration, escalation_source). The ground truth never joins the support data.
    """
    tdf = pd.DataFrame(tickets)
    tdf["created_at"] = hours_to_ts(tdf["created_at"])
    tdf["closed_at"] = hours_to_ts(tdf["closed_at"])
    tdf = tdf[
        [
            "ticket_id",
            "account_id",
            "created_at",
            "channel",
            "product_area",
            "priority",
            "subject",
            "closed_at",
        ]
    ]
    cols = [
        "ts",
        "event_type",
        "actor",
        "agent_id",
        "team",
        "tier",
        "status",
        "priority",
        "csat",
        "text",
    ]
    edf = pd.DataFrame.from_records(events, columns=cols)
    edf.insert(0, "ticket_id", tdf["ticket_id"].to_numpy()[np.asarray(ev_ticket)])
    edf["ts"] = hours_to_ts(edf["ts"])
    edf["tier"] = edf["tier"].astype("Int64")
    edf["csat"] = edf["csat"].astype("Int64")
    odf = pd.DataFrame.from_records(
        outcomes, columns=["ticket_id", "escalated_at", "escalation_type", "escalation_kind"]
    )
    odf["escalated_at"] = hours_to_ts(odf["escalated_at"].astype("float64"))
    adf = accounts.drop(columns=["_temper"])
    data = validate_tables(adf, tdf, edf, odf, files={"events": "generated events"})
    gt = pd.DataFrame.from_records(
        truth, columns=["ticket_id", "as_of", "p_true", "frustration", "escalation_source"]
    )
    gt["as_of"] = hours_to_ts(gt["as_of"])
    return data, gt
