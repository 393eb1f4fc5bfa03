"""Monitoring from the service's store: what was answered, against the outcomes fed back.

Per model version and policy version: tickets scored, tickets alerted (an ``escalate``
decision at least once) and alerts per day; among tickets whose outcome came back through
``POST /v1/feedback``: the precision and recall of the alerts (an alert counts when the ticket's
first alert came before its escalation; later ones are reported as late) and the median lead
time from the first alert to the escalation. This is the false-positive rate a team sees, measured on its own tickets.
"""

from __future__ import annotations

import collections
import logging
import sqlite3
import threading
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.drift import SCORE, DriftReference, drift_table, load_reference, overall_status

log = logging.getLogger(__name__)


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


# -- drift -------------------------------------------------------------------------------------
# The reference distribution comes with the served model version (``models.drift``: the
# training-window bins stored by ``escalation-risk drift-reference``); nothing here recomputes
# it. Recent traffic: the feature rows of the last ``window`` scored snapshots, kept in memory,
# and the probabilities of the last ``days`` days of the store's scores table.


class DriftMonitor:
    """PSI of the served model's features and score over recent traffic, and alert precision
    over time from feedback, published as Prometheus gauges.

    Args:
        reference: the served version's drift reference (None: drift is not measured and the
            status gauge reads -1).
        window: how many recent scored snapshots to keep for the feature PSI.
        min_rows: fewer recent rows than this publish no PSI (too noisy).
    """

    def __init__(
        self, reference: DriftReference | None = None, window: int = 5000, min_rows: int = 200
    ) -> None:
        self.reference = reference
        self.window = window
        self.min_rows = min_rows
        self._rows: collections.deque = collections.deque(maxlen=window)
        self._lock = threading.Lock()

    def set_reference(self, reference: DriftReference | None) -> None:
        """A new served version brings its own reference; the old window no longer applies."""
        with self._lock:
            self.reference = reference
            self._rows.clear()

    def observe(self, row: dict[str, Any], probability: float) -> None:
        """Keep one scored snapshot's feature row (name -> value) and probability."""
        with self._lock:
            self._rows.append({**row, SCORE: probability})

    def recent(self) -> pd.DataFrame:
        with self._lock:
            return pd.DataFrame(list(self._rows))

    def snapshot(self) -> dict[str, Any]:
        """``{"status", "rows", "columns": [{column, psi, status, rows}]}``; status None when
        there is no reference or too little traffic."""
        frame = self.recent()
        if self.reference is None or len(frame) < self.min_rows:
            return {"status": None, "rows": len(frame), "columns": []}
        table = drift_table(self.reference, frame)
        return {"status": overall_status(table), "rows": len(frame), "columns": table}

    def publish(self, metrics, store_path: str | Path | None = None) -> dict[str, Any]:
        """Set the drift and precision gauges of ``metrics`` (serving.core.metrics.Metrics)."""
        snap = self.snapshot()
        metrics.drift_psi.clear()
        for r in snap["columns"]:
            if r["psi"] is not None:
                metrics.drift_psi.labels(r["column"]).set(r["psi"])
        code = {None: -1, "ok": 0, "look": 1, "retrain": 2}[snap["status"]]
        metrics.drift_status.set(code)
        metrics.drift_rows.set(snap["rows"])
        if store_path is not None and Path(store_path).exists():
            for days, row in alert_precision_windows(store_path).items():
                value = row["alert_precision"]
                metrics.alert_precision.labels(f"{days}d").set(
                    float("nan") if value is None else value
                )
        return snap


def alert_precision_windows(
    store_path: str | Path, days: tuple[int, ...] = (7, 30), now_us: int | None = None
) -> dict[int, dict[str, Any]]:
    """Alert precision over the tickets whose first alert came in the last ``days`` days,
    among those with an outcome fed back (the latest word counts): ``{days: {alerts,
    with_outcome, right, alert_precision}}``. An alert is right when the ticket escalated
    after it."""
    path = Path(store_path)
    scores = _read(path, "SELECT ticket_id, as_of, action FROM scores WHERE action = 'escalate'")
    feedback = _read(
        path, "SELECT ticket_id, escalated, escalated_at FROM feedback ORDER BY received_at"
    )
    outcome = feedback.drop_duplicates("ticket_id", keep="last").set_index("ticket_id")
    first = scores.groupby("ticket_id")["as_of"].min()
    now = now_us if now_us is not None else int(pd.Timestamp.now(tz="UTC").value // 1000)
    out = {}
    for d in days:
        recent = first[first >= now - d * 86_400_000_000]
        known = recent.index.intersection(outcome.index)
        esc = outcome.loc[known, "escalated"].astype(bool)
        right = esc & (outcome.loc[known, "escalated_at"] > recent.loc[known])
        out[d] = {
            "alerts": int(len(recent)),
            "with_outcome": int(len(known)),
            "right": int(right.sum()),
            "alert_precision": _ratio(right.sum(), len(known)),
        }
    return out


def served_reference(name: str, version: str) -> DriftReference | None:
    """The drift reference stored with a registered version; None (logged) when it has none
    or it cannot be read: drift is then reported as unknown, never invented."""
    try:
        reference = load_reference(name, version)
    except Exception as err:  # registry down or a bad artifact: serve on, drift unknown
        log.warning("cannot read the drift reference of %s v%s: %s", name, version, err)
        return None
    if reference is None:
        log.info("%s v%s has no drift reference (escalation-risk drift-reference)", name, version)
    return reference
