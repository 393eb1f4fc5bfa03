"""Honest evaluation: the model, the rules a team would write, logistic regression, the ceiling.

Everything is computed on one slice of snapshots (by default the test slice of the time split),
overall and per slice (ARR tier, strategic accounts, priority, channel). Snapshot metrics treat
every scoring moment as one prediction; alert metrics work per ticket: a ticket is alerted when
any of its snapshots crosses the threshold before it escalates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    precision_recall_curve,
    roc_auc_score,
)

from features.catalogue.account import ARR_TIER_LABELS
from training.alerts import (
    days_covered,
    threshold_for_alert_budget,
    threshold_for_recall,
    ticket_table,
)
from training.config import RulesConfig

EPS = 1e-6


def reliability(y: np.ndarray, p: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """The reliability table over equal-width probability bins (scikit-learn's
    ``calibration_curve`` with its binning), one row per non-empty bin: bin, mean_predicted,
    observed, count."""
    y = np.asarray(y, dtype="float64")
    p = np.asarray(p, dtype="float64")
    observed, mean_predicted = calibration_curve(y, p, n_bins=bins, strategy="uniform")
    # The bin of each score exactly as calibration_curve assigns it, for the counts.
    ids = np.searchsorted(np.linspace(0.0, 1.0, bins + 1)[1:-1], p)
    counts = np.bincount(ids, minlength=bins)
    filled = np.flatnonzero(counts)
    return pd.DataFrame(
        {
            "bin": filled,
            "mean_predicted": mean_predicted,
            "observed": observed,
            "count": counts[filled],
        }
    )


def ece(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: the count-weighted mean gap of the reliability table."""
    r = reliability(y, p, bins)
    if r.empty:
        return float("nan")
    gap = (r["mean_predicted"] - r["observed"]).abs()
    return float((gap * r["count"]).sum() / r["count"].sum())


def precision_at_recall(y: np.ndarray, p: np.ndarray, recall: float) -> tuple[float, float]:
    """Best precision among thresholds reaching at least ``recall``; and that threshold."""
    prec, rec, thr = precision_recall_curve(y, p)
    ok = rec[:-1] >= recall
    if not ok.any():
        return float("nan"), float("nan")
    i = np.flatnonzero(ok)[np.argmax(prec[:-1][ok])]
    return float(prec[i]), float(thr[i])


def snapshot_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """PR-AUC, ROC-AUC, log-loss, Brier and ECE of probabilities ``p`` for labels ``y``."""
    y = np.asarray(y, dtype=int)
    p = np.clip(np.asarray(p, dtype="float64"), EPS, 1 - EPS)
    out = {"n": float(len(y)), "positives": float(y.sum()), "base_rate": float(y.mean())}
    if 0 < y.sum() < len(y):
        out.update(
            pr_auc=float(average_precision_score(y, p)),
            roc_auc=float(roc_auc_score(y, p)),
        )
    else:
        out.update(pr_auc=float("nan"), roc_auc=float("nan"))
    out.update(
        log_loss=float(log_loss(y, p, labels=[0, 1])),
        brier=float(brier_score_loss(y, p)),
        ece=ece(y, p),
    )
    return out


def ticket_alerts(frame: pd.DataFrame, p: np.ndarray, threshold: float) -> pd.DataFrame:
    """Per ticket: escalated?, first alert time, escalation time (from the snapshots)."""
    df = pd.DataFrame(
        {
            "ticket_id": frame["ticket_id"].to_numpy(),
            "as_of": frame["as_of"].to_numpy(),
            "alert": p >= threshold,
            "escalated": frame["label"].to_numpy() == 1,
            "escalated_at": frame["as_of"]
            + pd.to_timedelta(frame["hours_to_escalation"].fillna(0), unit="h"),
        }
    )
    g = df.groupby("ticket_id", sort=False)
    out = pd.DataFrame(
        {
            "escalated": g["escalated"].max(),
            "alerted": g["alert"].max(),
            "first_alert": df[df["alert"]].groupby("ticket_id")["as_of"].min(),
            "escalated_at": df[df["escalated"]].groupby("ticket_id")["escalated_at"].max(),
        }
    )
    out["alerted"] = out["alerted"].fillna(False)
    return out


def alert_metrics(frame: pd.DataFrame, p: np.ndarray, threshold: float) -> dict[str, float]:
    """Ticket-level precision, recall, alerts per day and median lead time at a threshold."""
    t = ticket_alerts(frame, p, threshold)
    tp = int((t["alerted"] & t["escalated"]).sum())
    n_alert = int(t["alerted"].sum())
    days = days_covered(frame)
    lead = (t["escalated_at"] - t["first_alert"]).dt.total_seconds() / 3600
    lead = lead[t["alerted"] & t["escalated"]]
    return {
        "threshold": float(threshold),
        "ticket_precision": tp / n_alert if n_alert else float("nan"),
        "ticket_recall": tp / max(int(t["escalated"].sum()), 1),
        "alerts_per_day": n_alert / days,
        "alerted_share": n_alert / len(t),
        "median_lead_time_h": float(lead.median()) if len(lead) else float("nan"),
    }


def rules_score(frame: pd.DataFrame, rules: RulesConfig) -> np.ndarray:
    """The multi-signal trigger a support team writes without ML (1 = alert)."""
    high_value_unhappy = (
        (frame["account_arr"].fillna(0) >= rules.arr_min)
        & (frame["customer_sentiment_last"].fillna(0) <= rules.sentiment_max)
        & (frame["sla_consumed_share"].fillna(0) >= rules.sla_consumed_min)
    )
    threat = (frame["customer_intent_legal"] > 0) | (frame["customer_intent_executive"] > 0)
    reopened = frame["ticket_reopen_count"] >= rules.reopens_min
    return (high_value_unhappy | threat | reopened).to_numpy(dtype="float64")


SLICES = {
    "arr_tier": lambda f: f["account_arr_tier"].map(ARR_TIER_LABELS),
    "strategic": lambda f: f["account_strategic"].map({1.0: "strategic", 0.0: "other"}),
    "priority": lambda f: f["ticket_priority_initial"].map({1.0: "P1", 2.0: "P2", 3.0: "P3"}),
    "channel": lambda f: f["ticket_channel"],
}


def slice_table(frame: pd.DataFrame, p: np.ndarray, threshold: float) -> pd.DataFrame:
    """Snapshot and alert metrics per slice value."""
    rows = []
    y = frame["label"].to_numpy()
    for name, fn in SLICES.items():
        values = fn(frame).fillna("unknown").astype(str).to_numpy()
        for value in sorted(set(values)):
            m = values == value
            r = {"slice": name, "value": value, **snapshot_metrics(y[m], p[m])}
            a = alert_metrics(frame[m], p[m], threshold)
            r.update(precision=a["ticket_precision"], recall=a["ticket_recall"])
            rows.append(r)
    return pd.DataFrame(rows)


def compare(
    frame: pd.DataFrame,
    scores: dict[str, np.ndarray],
    threshold: float,
    rules: RulesConfig,
    budgets: tuple[int, ...] = (5, 10, 20),
    truth: pd.Series | None = None,
) -> dict[str, Any]:
    """The comparison table: each scorer's snapshot and alert metrics on the same rows.

    Args:
        frame: labelled feature rows of the evaluation slice.
        scores: name -> probability per row ("model" must be present).
        threshold: the model's policy threshold.
        truth: the generator's true probability per row (NaN where not sampled), if known.
    """
    y = frame["label"].to_numpy()
    days = days_covered(frame)
    table: dict[str, Any] = {}
    tickets_of: dict[str, pd.DataFrame] = {}
    for name, p in scores.items():
        m = snapshot_metrics(y, p)
        tickets = tickets_of[name] = ticket_table(frame, p)
        t80 = threshold_for_recall(tickets, 0.8)
        at80 = alert_metrics(frame, p, t80)
        m["workload_reduction_at_80_recall"] = 1.0 - at80["alerted_share"]
        m["ticket_recall_at_80_threshold"] = at80["ticket_recall"]
        for b in budgets:
            at_b = alert_metrics(frame, p, threshold_for_alert_budget(tickets, b, days))
            m[f"recall_at_{b}_alerts_per_day"] = at_b["ticket_recall"]
            m[f"precision_at_{b}_alerts_per_day"] = at_b["ticket_precision"]
        table[name] = m
    policy = alert_metrics(frame, scores["model"], threshold)
    table["model"].update({f"policy_{k}": v for k, v in policy.items()})

    rule = rules_score(frame, rules)
    r_alert = alert_metrics(frame, rule, 0.5)
    table["rules"] = {
        **snapshot_metrics(y, np.clip(rule, EPS, 1 - EPS)),
        "ticket_precision": r_alert["ticket_precision"],
        "ticket_recall": r_alert["ticket_recall"],
        "alerts_per_day": r_alert["alerts_per_day"],
        "median_lead_time_h": r_alert["median_lead_time_h"],
    }
    # The model at the rules' recall: same recall, compare precision (ticket level).
    t_eq = threshold_for_recall(tickets_of["model"], r_alert["ticket_recall"])
    eq = alert_metrics(frame, scores["model"], t_eq)
    table["model"]["precision_at_rules_recall"] = eq["ticket_precision"]
    table["model"]["precision_ratio_vs_rules"] = eq["ticket_precision"] / max(
        r_alert["ticket_precision"], 1e-9
    )
    out: dict[str, Any] = {"scorers": table}
    if truth is not None:
        have = truth.notna().to_numpy()
        if have.sum() and 0 < y[have].sum() < have.sum():
            ceiling = snapshot_metrics(y[have], truth.to_numpy()[have])
            model_on = snapshot_metrics(y[have], scores["model"][have])
            out["ceiling"] = {
                "rows": int(have.sum()),
                "ceiling": ceiling,
                "model": model_on,
                "pr_auc_ratio": model_on["pr_auc"] / ceiling["pr_auc"],
                "log_loss_ratio": model_on["log_loss"] / ceiling["log_loss"],
                **ceiling_budgets(frame, have, truth.to_numpy(), scores["model"], budgets),
            }
    return out


def ceiling_budgets(
    frame: pd.DataFrame,
    have: np.ndarray,
    truth: np.ndarray,
    p: np.ndarray,
    budgets: Sequence[float],
) -> dict[str, float]:
    """Ticket precision and recall at each alert budget of the ceiling and the model, on the
    tickets with ground truth.

    Ground truth covers a sample of tickets, so a budget of N alerts per day for the desk is
    N times the sample's share of tickets on it (the same alerting rate per ticket).
    """
    sub = frame[have]
    share = sub["ticket_id"].nunique() / max(frame["ticket_id"].nunique(), 1)
    days = days_covered(sub)
    out: dict[str, float] = {"ticket_share": share}
    for name, score in (("ceiling", truth[have]), ("model", p[have])):
        tickets = ticket_table(sub, score)
        for b in budgets:
            at = alert_metrics(sub, score, threshold_for_alert_budget(tickets, b * share, days))
            out[f"{name}_precision_at_{b}_alerts_per_day"] = at["ticket_precision"]
            out[f"{name}_recall_at_{b}_alerts_per_day"] = at["ticket_recall"]
    return out
