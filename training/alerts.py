"""Ticket-level alerting: one row per ticket (its peak score) and the exact threshold searches.

A ticket is alerted at threshold t when any of its snapshots scores >= t, so precision, recall and
alert volume at any t follow from each ticket's peak score alone. Every search here runs over
every distinct alerting choice (``candidate_thresholds``), never a grid: the one implementation
training, evaluation, `tune` and the notebook share.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def is_strategic(frame: pd.DataFrame) -> np.ndarray:
    """Per row: does the strategic-account segment apply? (same rule as the pyfunc model)."""
    if "account_strategic" not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return frame["account_strategic"].fillna(0).to_numpy(dtype="float64") > 0


def days_covered(frame: pd.DataFrame) -> float:
    """Days spanned by the snapshots' ``as_of`` (at least 1): the denominator of alerts/day."""
    return max((frame["as_of"].max() - frame["as_of"].min()).total_seconds() / 86400, 1.0)


def ticket_table(
    frame: pd.DataFrame,
    p: np.ndarray,
    trigger_rank: np.ndarray | None = None,
    in_scope: np.ndarray | None = None,
) -> pd.DataFrame:
    """One row per ticket: ``peak`` (highest score), ``escalated``, ``strategic`` and ``team``.

    ``team`` is present only when ``frame`` has a ``team`` column: the team holding the ticket at
    its highest-scoring snapshot (missing teams become "unassigned"). Using the peak snapshot
    rather than the first alert keeps alert counts per team monotone in the threshold.

    Args:
        trigger_rank: per row, the highest action rank its fired triggers ask for
            (``models.triggers.trigger_ranks``); adds ``trigger``, the ticket's highest.
        in_scope: per row, inside the policy's executive scope; adds ``in_scope`` (any row).
    """
    df = pd.DataFrame(
        {
            "ticket_id": frame["ticket_id"].to_numpy(),
            "peak": np.asarray(p, dtype="float64"),
            "escalated": frame["label"].to_numpy() == 1,
            "strategic": is_strategic(frame),
        }
    )
    extra = {}
    if trigger_rank is not None:
        df["trigger"] = np.asarray(trigger_rank, dtype="int8")
        extra["trigger"] = ("trigger", "max")
    if in_scope is not None:
        df["in_scope"] = np.asarray(in_scope, dtype=bool)
        extra["in_scope"] = ("in_scope", "max")
    if "team" in frame.columns:
        team = frame["team"].astype(object).to_numpy()
        df["team"] = np.where(pd.isna(team), "unassigned", team)
    g = df.groupby("ticket_id", sort=False)
    out = g.agg(
        peak=("peak", "max"),
        escalated=("escalated", "max"),
        strategic=("strategic", "max"),
        **extra,
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


def lowest_threshold_for_precision(
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


def threshold_for_recall(tickets: pd.DataFrame, recall: float) -> float:
    """The highest threshold (fewest alerts) whose ticket recall reaches ``recall``; NaN when
    no ticket escalates."""
    if not tickets["escalated"].any():
        return float("nan")
    curve = ticket_curve(tickets, 1.0)
    ok = curve["recall"] >= recall - 1e-12
    return float(curve.loc[ok, "threshold"].max())


def threshold_for_alert_budget(tickets: pd.DataFrame, per_day: float, days: float) -> float:
    """The lowest threshold (most recall) whose alerted tickets per day stay within
    ``per_day`` over ``days``; above every peak when even one alert is too many."""
    peak = tickets["peak"].to_numpy(dtype="float64")
    cands = candidate_thresholds(peak)
    top = float(peak.max()) if len(peak) else 0.0
    cands = np.append(cands, np.nextafter(top, np.inf))  # above every ticket: no alert
    curve = ticket_curve(tickets, days, cands)
    ok = curve["alerts_per_day"] <= per_day
    return float(curve.loc[ok, "threshold"].min())


def threshold_for_ticket_share(
    tickets: pd.DataFrame, share: float, forced: np.ndarray | None = None
) -> float | None:
    """The lowest threshold (most tickets) at which at most ``share`` of the tickets reach it.

    A ticket reaches threshold t when its peak is >= t, or always when ``forced`` (per ticket,
    e.g. alerted anyway or raised by a trigger). The share is over all the tickets given.

    Returns:
        The threshold; above every peak when only the forced tickets fit; None when the forced
        tickets alone exceed ``share`` (no threshold helps).
    """
    n = len(tickets)
    if n == 0:
        return None
    peak = tickets["peak"].to_numpy(dtype="float64")
    forced = np.zeros(n, dtype=bool) if forced is None else np.asarray(forced, dtype=bool)
    allowed = int(np.floor(share * n + 1e-9)) - int(forced.sum())
    if allowed < 0:
        return None
    free = np.sort(peak[~forced])
    top = float(peak.max())
    if allowed >= len(free):
        return float(free[0]) if len(free) else top
    # The allowed tickets are the highest free peaks; the threshold sits between the highest
    # excluded peak and the next one up, and must exclude every tie of the excluded peak.
    cut = free[len(free) - allowed - 1]
    above = free[free > cut]
    return float((cut + above.min()) / 2) if len(above) else float(np.nextafter(top, np.inf))
