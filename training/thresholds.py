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
