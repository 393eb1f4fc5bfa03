"""Deriving threshold policies from predictions: shared by training, `tune` and the notebook."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from models.policy import Bands, ThresholdPolicy
from training.config import PolicyConfig
from training.evaluate import alert_metrics, threshold_for_ticket_recall


def _grid(p: np.ndarray, n: int = 200) -> np.ndarray:
    qs = np.unique(np.quantile(p, np.linspace(0.5, 0.9999, n)))
    return qs[qs > 0]


def lowest_threshold_for_precision(
    frame: pd.DataFrame, p: np.ndarray, precision: float
) -> float | None:
    """The lowest threshold whose ticket-level precision reaches ``precision`` (None if none)."""
    best = None
    for thr in _grid(p)[::-1]:
        m = alert_metrics(frame, p, thr)
        if m["ticket_precision"] >= precision:
            best = float(thr)
        elif best is not None:
            break
    return best


def derive_bands(
    frame: pd.DataFrame,
    p: np.ndarray,
    escalate: float,
    watch_recall: float,
    executive_precision: float,
) -> Bands:
    watch = threshold_for_ticket_recall(frame, p, watch_recall)
    watch = min(watch, escalate) if np.isfinite(watch) else escalate
    executive = lowest_threshold_for_precision(frame, p, executive_precision)
    executive = max(executive if executive is not None else 1.0, escalate)
    return Bands(watch=float(watch), escalate=float(escalate), executive=float(executive))


def default_policy(frame: pd.DataFrame, p: np.ndarray, cfg: PolicyConfig) -> ThresholdPolicy:
    """The policy shipped with a trained model, derived on the calibration slice.

    escalate: lowest threshold reaching ``target_precision`` per ticket (else the top 1% of
    scores); watch: the threshold catching ``watch_recall`` of escalating tickets; executive:
    lowest threshold reaching ``executive_precision``; strategic accounts: each band scaled by
    ``strategic_factor``.
    """
    esc = lowest_threshold_for_precision(frame, p, cfg.target_precision)
    if esc is None:
        esc = float(np.quantile(p, 0.99))
    bands = derive_bands(frame, p, esc, cfg.watch_recall, cfg.executive_precision)
    f = cfg.strategic_factor
    strategic = Bands(bands.watch * f, bands.escalate * f, min(bands.executive * f, 1.0))
    source: dict[str, Any] = {
        "kind": "default from training",
        "target_precision": cfg.target_precision,
        "watch_recall": cfg.watch_recall,
        "executive_precision": cfg.executive_precision,
        "strategic_factor": f,
    }
    return ThresholdPolicy(bands, {"strategic": strategic}, source)


# -------------------------------------------------------------------------------------------
# Ticket-level threshold search (tuning notebook and `escalation-risk tune`)
# -------------------------------------------------------------------------------------------
# Alert metrics work per ticket (see training.evaluate.ticket_alerts): a ticket is alerted at
# threshold t when any of its snapshots scores >= t, so precision, recall and alert volume at any
# t follow from each ticket's peak score alone. The searches below use that to be exact over
# every distinct threshold instead of a quantile grid.


def is_strategic(frame: pd.DataFrame) -> np.ndarray:
    """Per row: does the strategic-account segment apply? (same rule as the pyfunc model)."""
    if "account_strategic" not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return frame["account_strategic"].fillna(0).to_numpy(dtype="float64") > 0


def days_covered(frame: pd.DataFrame) -> float:
    """Days spanned by the snapshots' ``as_of`` (at least 1): the denominator of alerts/day."""
    return max((frame["as_of"].max() - frame["as_of"].min()).total_seconds() / 86400, 1.0)


def ticket_table(frame: pd.DataFrame, p: np.ndarray) -> pd.DataFrame:
    """One row per ticket: ``peak`` (highest score), ``escalated``, ``strategic`` and ``team``.

    ``team`` is present only when ``frame`` has a ``team`` column: the team holding the ticket at
    its highest-scoring snapshot (missing teams become "unassigned"). Using the peak snapshot
    rather than the first alert keeps alert counts per team monotone in the threshold.
    """
    df = pd.DataFrame(
        {
            "ticket_id": frame["ticket_id"].to_numpy(),
            "peak": np.asarray(p, dtype="float64"),
            "escalated": frame["label"].to_numpy() == 1,
            "strategic": is_strategic(frame),
        }
    )
    if "team" in frame.columns:
        team = frame["team"].astype(object).to_numpy()
        df["team"] = np.where(pd.isna(team), "unassigned", team)
    g = df.groupby("ticket_id", sort=False)
    out = g.agg(
        peak=("peak", "max"), escalated=("escalated", "max"), strategic=("strategic", "max")
    )
    if "team" in df.columns:
        out["team"] = df.loc[g["peak"].idxmax().to_numpy(), "team"].to_numpy()
    return out


def candidate_thresholds(peak: np.ndarray) -> np.ndarray:
    """Every distinct alerting choice, ascending: midpoints between consecutive peak scores.

    A midpoint alerts exactly the tickets at or above the upper peak and stays clear of float
    noise on both sides; the first candidate (the lowest peak) alerts every ticket.
    """
    v = np.unique(np.asarray(peak, dtype="float64"))
    if len(v) == 0:
        return v
    return np.concatenate([v[:1], (v[:-1] + v[1:]) / 2])


def ticket_curve(
    tickets: pd.DataFrame, days: float, thresholds: np.ndarray | None = None
) -> pd.DataFrame:
    """Ticket-level precision, recall and alerts per day at each threshold.

    Args:
        tickets: from ``ticket_table`` (a segment of it is fine).
        days: the period the tickets cover (``days_covered`` of the whole slice).
        thresholds: ascending or not; default ``candidate_thresholds`` of the tickets' peaks.

    Returns:
        threshold, alerts (tickets), true_alerts, precision (NaN without alerts), recall,
        alerts_per_day; one row per threshold, ascending.
    """
    peak = tickets["peak"].to_numpy(dtype="float64")
    y = tickets["escalated"].to_numpy(dtype=bool)
    t = np.sort(candidate_thresholds(peak) if thresholds is None else np.asarray(thresholds))
    order = np.argsort(peak, kind="stable")
    sp, sy = peak[order], y[order]
    tp_from = np.concatenate([np.cumsum(sy[::-1])[::-1], [0]])  # positives at index >= i
    i = np.searchsorted(sp, t, side="left")
    alerts = len(sp) - i
    tp = tp_from[i]
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(alerts > 0, tp / np.maximum(alerts, 1), np.nan)
    return pd.DataFrame(
        {
            "threshold": t,
            "alerts": alerts,
            "true_alerts": tp,
            "precision": precision,
            "recall": tp / max(int(y.sum()), 1),
            "alerts_per_day": alerts / days,
        }
    )


def lowest_threshold_for_ticket_precision(
    tickets: pd.DataFrame, precision: float, min_alerts: int = 1
) -> float | None:
    """The lowest threshold (most recall) whose ticket precision reaches ``precision``.

    Only thresholds alerting at least ``min_alerts`` tickets count: a precision measured on
    two alerts says little. None when no threshold qualifies.
    """
    curve = ticket_curve(tickets, 1.0)
    ok = (curve["alerts"] >= min_alerts) & (curve["precision"] >= precision)
    return float(curve.loc[ok, "threshold"].min()) if ok.any() else None


def best_ticket_precision(tickets: pd.DataFrame, min_alerts: int = 1) -> tuple[float, float]:
    """The highest ticket precision over thresholds alerting >= ``min_alerts`` tickets, and the
    lowest threshold reaching it; (nan, nan) when no threshold alerts that many."""
    curve = ticket_curve(tickets, 1.0)
    curve = curve[curve["alerts"] >= min_alerts]
    if curve.empty or curve["precision"].isna().all():
        return float("nan"), float("nan")
    best = float(curve["precision"].max())
    return best, float(curve.loc[curve["precision"] == best, "threshold"].min())


def row_thresholds(
    frame: pd.DataFrame, policy: ThresholdPolicy, band: str = "escalate"
) -> np.ndarray:
    """Per snapshot row: the policy's ``band`` threshold (watch, escalate or executive) for its
    segment (strategic accounts use the "strategic" bands when the policy has them)."""
    default = getattr(policy.default, band)
    strategic = getattr(policy.bands_for(True), band)
    return np.where(is_strategic(frame), strategic, default)


def policy_alert_metrics(
    frame: pd.DataFrame,
    p: np.ndarray,
    policy: ThresholdPolicy,
    days: float | None = None,
    band: str = "escalate",
) -> dict[str, float]:
    """``alert_metrics`` under the policy's per-segment thresholds.

    ``days`` sets the alerts-per-day denominator (pass the whole slice's when ``frame`` is one
    segment of it); the "threshold" entry is dropped since it differs by segment.
    """
    # p >= threshold per row is exactly (p - threshold) >= 0, so the scalar-threshold metric code
    # applies unchanged to per-row thresholds.
    margin = np.asarray(p, dtype="float64") - row_thresholds(frame, policy, band)
    m = alert_metrics(frame, margin, 0.0)
    m.pop("threshold")
    if days is not None:
        n_tickets = frame["ticket_id"].nunique()
        m["alerts_per_day"] = m["alerted_share"] * n_tickets / days
    return m
