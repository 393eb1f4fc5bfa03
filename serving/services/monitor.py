"""Monitoring from the service's store: what was answered, against the outcomes fed back.

Per model version and policy version: tickets scored, tickets alerted (an ``escalate``
decision at least once) and alerts per day; among tickets whose outcome came back through
``POST /v1/feedback``: the precision and recall of the alerts (an alert counts when the ticket's
first alert came before its escalation; later ones are reported as late) and the median lead
time from the first alert to the escalation. This is the false-positive rate a team sees, measured on its own tickets.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def _read(path: Path, query: str) -> pd.DataFrame:
    with closing(sqlite3.connect(path)) as db:
        return pd.read_sql_query(query, db)


def monitoring_report(store_path: str | Path) -> list[dict[str, Any]]:
    """One row per (model_version, policy_version) that answered, newest first.

    Raises:
        FileNotFoundError: when the store does not exist.
    """
    path = Path(store_path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such store (the service creates it at start)")
    scores = _read(
        path,
        "SELECT ticket_id, as_of, action, model_version, policy_version, scored_at FROM scores",
    )
    feedback = _read(
        path,
        "SELECT ticket_id, escalated, escalated_at, received_at FROM feedback "
        "ORDER BY received_at",
    )
    # The latest word on each ticket's outcome counts.
    outcome = feedback.drop_duplicates("ticket_id", keep="last").set_index("ticket_id")
    rows = []
    for (model, policy), g in scores.groupby(["model_version", "policy_version"], sort=False):
        alerts = g[g["action"] == "escalate"]
        first_alert = alerts.groupby("ticket_id")["as_of"].min()
        tickets = pd.Index(g["ticket_id"].unique())
        known = tickets.intersection(outcome.index)
        escalated = outcome.loc[known, "escalated"].astype(bool)
        alerted = pd.Series(known.isin(first_alert.index), index=known)
        lead_us = outcome.loc[known, "escalated_at"] - first_alert.reindex(known)
        # A hit: the first alert came before the escalation; an alert after it is late.
        hit = alerted & escalated & (lead_us > 0)
        late = alerted & escalated & ~hit
        lead_h = lead_us[hit] / 3.6e9
        span_days = max((g["as_of"].max() - g["as_of"].min()) / 8.64e10, 1.0)
        rows.append(
            {
                "model_version": str(model),
                "policy_version": str(policy),
                "first_scored_at": _iso(g["scored_at"].min()),
                "last_scored_at": _iso(g["scored_at"].max()),
                "scores": len(g),
                "tickets": len(tickets),
                "tickets_alerted": int(first_alert.size),
                "alerts_per_day": round(first_alert.size / span_days, 3),
                "tickets_with_outcome": len(known),
                "escalated": int(escalated.sum()),
                "alerts_in_time": int(hit.sum()),
                "alerts_late": int(late.sum()),
                "alert_precision": _ratio(hit.sum(), alerted.sum()),
                "alert_recall": _ratio(hit.sum(), escalated.sum()),
                "median_lead_time_h": (
                    round(float(np.median(lead_h)), 2) if len(lead_h) else None
                ),
            }
        )
    rows.sort(key=lambda r: r["last_scored_at"] or "", reverse=True)
    return rows


def _ratio(a, b) -> float | None:
    return round(float(a) / float(b), 4) if b else None


def _iso(us) -> str | None:
    if us is None or pd.isna(us):
        return None
    return pd.Timestamp(int(us), unit="us", tz="UTC").isoformat()
