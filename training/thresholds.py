"""Threshold policies from predictions: the default one shipped with a trained model, the bands
around an escalate threshold, and alert metrics under a policy (training, `tune`, the notebook)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from models.policy import Bands, ThresholdPolicy
from training.alerts import (
    is_strategic,
    lowest_threshold_for_precision,
    threshold_for_recall,
    ticket_table,
)
from training.config import PolicyConfig
from training.evaluate import alert_metrics


def derive_bands(
    tickets: pd.DataFrame,
    escalate: float,
    watch_recall: float,
    executive_precision: float,
    min_alerts: int = 1,
) -> Bands:
    """Bands around a chosen escalate threshold, from a ``ticket_table``.

    watch: the highest threshold catching ``watch_recall`` of the escalating tickets (capped at
    escalate); executive: the lowest threshold reaching ``executive_precision`` with at least
    ``min_alerts`` alerts (1.0 when none does; never below escalate).
    """
    watch = threshold_for_recall(tickets, watch_recall) if len(tickets) else np.nan
    watch = min(watch, escalate) if np.isfinite(watch) else escalate
    executive = lowest_threshold_for_precision(tickets, executive_precision, min_alerts)
    executive = max(executive if executive is not None else 1.0, escalate)
    return Bands(watch=float(watch), escalate=float(escalate), executive=float(executive))


def default_policy(frame: pd.DataFrame, p: np.ndarray, cfg: PolicyConfig) -> ThresholdPolicy:
    """The policy shipped with a trained model, derived on the calibration slice.

    escalate: lowest threshold reaching ``target_precision`` per ticket (else the top 1% of
    scores); watch: the threshold catching ``watch_recall`` of escalating tickets; executive:
    lowest threshold reaching ``executive_precision``; strategic accounts: each band scaled by
    ``strategic_factor``.
    """
    tickets = ticket_table(frame, p)
    esc = lowest_threshold_for_precision(tickets, cfg.target_precision)
    if esc is None:
        esc = float(np.quantile(p, 0.99))
    bands = derive_bands(tickets, esc, cfg.watch_recall, cfg.executive_precision)
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
