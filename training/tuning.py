"""Threshold tuning: a registered model's test-slice predictions in, a threshold policy out.

Shared by ``notebooks/threshold_tuning.ipynb`` and ``escalation-risk tune``; both only call the
functions here. The operator states one constraint:

- a precision floor: the escalate threshold is the lowest one (most recall) whose ticket-level
  precision reaches the floor, derived on the default segment (accounts that are not strategic);
  strategic accounts get their own lowest threshold meeting ``strategic_precision`` (default: the
  same floor), never higher than the default one;
- an alert budget: at most N alerted tickets per day per team, at the lowest default threshold
  that respects it, strategic alerts included. Predictions with a ``team`` column (the team
  holding the ticket) are budgeted per team, each ticket counted against the team at its
  highest-scoring snapshot; without one (test_predictions.parquet today) the budget covers the
  whole desk, and the policy's ``source`` says so. Strategic accounts run lower only when a
  ``strategic_precision`` is stated.

Then per segment: watch = the threshold catching ``watch_recall`` of escalating tickets (at most
escalate), executive = the lowest threshold reaching ``executive_precision`` (at least escalate).
All figures are ticket level (see training.evaluate.alert_metrics) on the predictions given.
"""

from __future__ import annotations

import getpass
import math
import tempfile
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from models.policy import Bands, ThresholdPolicy
from training.alerts import (
    best_ticket_precision,
    candidate_thresholds,
    days_covered,
    lowest_threshold_for_precision,
    ticket_curve,
    ticket_table,
)
from training.evaluate import SLICES
from training.thresholds import derive_bands, policy_alert_metrics

# What tuning reads from test_predictions.parquet (training.train writes these and more).
PREDICTION_COLUMNS = (
    "ticket_id",
    "as_of",
    "label",
    "hours_to_escalation",
    "p",
    "account_strategic",
)
# The columns behind training.evaluate.SLICES; the notebook and `tune` show SEGMENTS.
SLICE_COLUMNS = {
    "arr_tier": "account_arr_tier",
    "strategic": "account_strategic",
    "priority": "ticket_priority_initial",
    "channel": "ticket_channel",
}
SEGMENTS = ("arr_tier", "strategic", "priority")
MIN_ALERTS = 5


class ConstraintError(ValueError):
    """The stated constraint cannot be met on these predictions (the message names the best)."""


def check_predictions(predictions: pd.DataFrame) -> None:
    """Raise ValueError naming missing columns, or when nothing escalates."""
    missing = [c for c in PREDICTION_COLUMNS if c not in predictions.columns]
    if missing:
        raise ValueError(
            f"predictions lack column(s) {', '.join(missing)}: retrain the model with this code"
        )
    if predictions.empty or not (predictions["label"] == 1).any():
        raise ValueError("the predictions hold no escalation: cannot tune thresholds on them")


def load_predictions(model_uri: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """A registered version's test-slice predictions, from its run's ``test_predictions.parquet``.

    Args:
        model_uri: ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``.

    Returns:
        The predictions (one row per test snapshot: ticket_id, as_of UTC, label, p,
        hours_to_escalation, the slice columns) and ``{"uri", "model", "version", "run_id"}``.

    Raises:
        ValueError: unknown model, alias or version; a run without predictions; missing columns.
    """
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from models.registry import configure_tracking, parse_model_uri, resolve

    configure_tracking()
    ref = parse_model_uri(model_uri)
    name, (version, _) = ref.name, resolve(ref)
    run_id = MlflowClient().get_model_version(name, version).run_id
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path="test_predictions.parquet", dst_path=tmp
            )
            predictions = pd.read_parquet(path)
    except (MlflowException, OSError) as err:
        raise ValueError(
            f"{model_uri}: no test_predictions.parquet in run {run_id}: {err}"
        ) from None
    check_predictions(predictions)
    return predictions, {"uri": model_uri, "model": name, "version": version, "run_id": run_id}


def origin(by: str, info: dict[str, str] | None = None) -> dict[str, Any]:
    """Who and what derived a policy, for its ``source``: ``by`` (notebook, cli), the user and
    the model version whose predictions were used (``info`` from ``load_predictions``)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        user = "unknown"
    out: dict[str, Any] = {"by": by, "user": user}
    if info:
        out.update(
            model=info["model"],
            model_version=info["version"],
            predictions_run_id=info["run_id"],
        )
    return out


def segment_values(predictions: pd.DataFrame, by: str) -> np.ndarray:
    """Per row: the slice value (e.g. "50k-200k", "strategic", "P1"; "unknown" when missing)."""
    if by not in SLICES:
        raise ValueError(f"unknown segment {by!r}; choose from {', '.join(SLICES)}")
    if SLICE_COLUMNS[by] not in predictions.columns:
        raise ValueError(f"segment {by!r} needs column {SLICE_COLUMNS[by]!r} in the predictions")
    return SLICES[by](predictions).fillna("unknown").astype(str).to_numpy()


def _ordered(predictions: pd.DataFrame, by: str, values: np.ndarray) -> list[str]:
    """The distinct slice values in the order of their underlying column (tiers ascending)."""
    key = pd.DataFrame({"value": values, "key": predictions[SLICE_COLUMNS[by]].to_numpy()})
    return list(key.sort_values("key", kind="stable", na_position="last")["value"].unique())


def threshold_curves(predictions: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Ticket-level precision, recall and alerts per day against the threshold.

    Args:
        by: None for the whole slice, else a segment name (arr_tier, strategic, priority,
            channel): one curve per value. Alerts per day are over the whole slice's days.

    Returns:
        segment, value, threshold, alerts, true_alerts, precision, recall, alerts_per_day
        (recall against precision is the ticket-level PR curve).
    """
    check_predictions(predictions)
    p = predictions["p"].to_numpy(dtype="float64")
    days = days_covered(predictions)
    values = (
        np.full(len(predictions), "all", dtype=object)
        if by is None
        else segment_values(predictions, by)
    )
    parts = []
    for value in ["all"] if by is None else _ordered(predictions, by, values):
        m = values == value
        curve = ticket_curve(ticket_table(predictions[m], p[m]), days)
        curve.insert(0, "value", value)
        curve.insert(0, "segment", by or "all")
        parts.append(curve)
    return pd.concat(parts, ignore_index=True)


def _budget_load(tickets: pd.DataFrame, thr: np.ndarray, days: float) -> float:
    """Alerted tickets per day: of the busiest team when tickets have teams, else of the desk."""
    alerted = tickets["peak"].to_numpy() >= thr
    if "team" in tickets.columns:
        counts = pd.Series(tickets["team"].to_numpy()[alerted]).value_counts()
        return float(counts.max()) / days if len(counts) else 0.0
    return float(alerted.sum()) / days


def _thresholds_for_budget(
    tickets: pd.DataFrame, per_day: float, days: float, strategic_floor: float | None
) -> tuple[float, float]:
    """(default, strategic) escalate thresholds: the lowest default threshold whose alert load
    stays within ``per_day``; strategic tickets alert from min(strategic_floor, default)."""
    peak = tickets["peak"].to_numpy(dtype="float64")
    strategic = tickets["strategic"].to_numpy(dtype=bool)
    top = float(peak.max())
    cands = candidate_thresholds(peak)
    if top < 1.0:
        cands = np.append(cands, (top + 1.0) / 2)  # above every ticket: no alert

    def pair(t: float) -> tuple[float, float]:
        return t, t if strategic_floor is None else min(strategic_floor, t)

    def load(t: float) -> float:
        d, s = pair(t)
        return _budget_load(tickets, np.where(strategic, s, d), days)

    # The load never rises with the threshold: binary search for the first candidate within it.
    lo, hi = 0, len(cands) - 1
    if load(cands[hi]) > per_day:
        raise ConstraintError(
            f"no threshold keeps alerts within {per_day:g} per day: even the highest alerts "
            f"{load(cands[hi]):.3g} per day"
        )
    while lo < hi:
        mid = (lo + hi) // 2
        if load(cands[mid]) <= per_day:
            hi = mid
        else:
            lo = mid + 1
    if load(cands[lo]) == 0.0:
        smallest = min((x for x in (load(t) for t in cands) if x > 0), default=float("nan"))
        raise ConstraintError(
            f"a budget of {per_day:g} alerts per day allows no alert on these {days:.0f} days of "
            f"predictions; the smallest achievable volume is {smallest:.3g} per day"
        )
    return pair(float(cands[lo]))


def _strategic_threshold(
    strat: pd.DataFrame, floor: float, min_alerts: int, default: float, notes: list[str]
) -> float:
    if strat.empty:
        notes.append("no strategic tickets in the predictions: strategic uses the default bands")
        return default
    t = lowest_threshold_for_precision(strat, floor, min_alerts)
    if t is None:
        best, _ = best_ticket_precision(strat, min_alerts)
        notes.append(
            f"strategic precision {floor:g} is out of reach on {len(strat)} strategic tickets "
            f"(best {best:.3g} with >= {min_alerts} alerts): strategic uses the default threshold"
        )
        return default
    if t > default:
        notes.append(
            f"strategic accounts need {t:.4g} (> default {default:.4g}) to reach precision "
            f"{floor:g}: capped at the default"
        )
        return default
    return t


def _clean(value: Any) -> Any:
    """JSON-safe: NaN -> None, NumPy scalars -> Python numbers."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def tune_policy(
    predictions: pd.DataFrame,
    precision: float | None = None,
    alerts_per_day: float | None = None,
    *,
    strategic_precision: float | None = None,
    watch_recall: float | None = None,
    executive_precision: float | None = None,
    min_alerts: int = MIN_ALERTS,
    source: dict[str, Any] | None = None,
) -> ThresholdPolicy:
    """Derive a threshold policy under one constraint (see the module docstring).

    Args:
        predictions: one row per scored snapshot with ``PREDICTION_COLUMNS`` (``p`` is the
            calibrated probability, ``as_of`` UTC); optionally ``team``.
        precision: the ticket-level precision floor of the default segment, in (0, 1].
        alerts_per_day: the most alerted tickets per day per team (per desk without ``team``).
        strategic_precision: the strategic accounts' own floor (precision mode: default the same
            floor; budget mode: strategic runs lower only when given).
        watch_recall, executive_precision: band settings; default training/config.yaml's.
        min_alerts: a precision counts only at thresholds alerting at least this many tickets.
        source: provenance merged into the policy's ``source`` (see ``origin``).

    Returns:
        The policy: default bands and a "strategic" segment, its ``source`` recording the
        constraint, settings, timestamp (UTC), the predictions used, the expected figures and
        any notes (e.g. a strategic floor out of reach).

    Raises:
        ValueError: not exactly one constraint, values out of range, unusable predictions.
        ConstraintError: the constraint cannot be met; the message names the best achievable.
    """
    if (precision is None) == (alerts_per_day is None):
        raise ValueError("give exactly one constraint: a precision floor or an alert budget")
    for name, value in (("precision", precision), ("strategic_precision", strategic_precision)):
        if value is not None and not 0.0 < value <= 1.0:
            raise ValueError(f"{name} must be in (0, 1], got {value}")
    if alerts_per_day is not None and not alerts_per_day > 0:
        raise ValueError(f"alerts_per_day must be positive, got {alerts_per_day}")
    if min_alerts < 1:
        raise ValueError(f"min_alerts must be at least 1, got {min_alerts}")
    check_predictions(predictions)
    if watch_recall is None or executive_precision is None:
        from training.config import load_config

        cfg = load_config()[0].policy
        watch_recall = cfg.watch_recall if watch_recall is None else watch_recall
        if executive_precision is None:
            executive_precision = cfg.executive_precision

    p = predictions["p"].to_numpy(dtype="float64")
    tickets = ticket_table(predictions, p)
    days = days_covered(predictions)
    strat = tickets[tickets["strategic"]]
    others = tickets[~tickets["strategic"]]
    notes: list[str] = []
    constraint: dict[str, Any]

    if precision is not None:
        base = others if len(others) else tickets
        esc = lowest_threshold_for_precision(base, precision, min_alerts)
        if esc is None:
            best, at = best_ticket_precision(base, min_alerts)
            raise ConstraintError(
                f"no threshold reaches ticket precision {precision:g} with at least {min_alerts} "
                f"alerts on the {len(base)} default-segment tickets; the best achievable is "
                f"{best:.3g} (threshold {at:.4g})"
            )
        floor = precision if strategic_precision is None else strategic_precision
        esc_s = _strategic_threshold(strat, floor, min_alerts, esc, notes)
        constraint = {"precision": precision}
    else:
        assert alerts_per_day is not None
        floor_t = None
        if strategic_precision is not None:
            floor_t = _strategic_threshold(strat, strategic_precision, min_alerts, 1.0, notes)
        scope = "team" if "team" in tickets.columns else "desk"
        if scope == "desk":
            notes.append("predictions carry no team: the alert budget covers the whole desk")
        esc, esc_s = _thresholds_for_budget(tickets, alerts_per_day, days, floor_t)
        constraint = {"alerts_per_day": alerts_per_day, "scope": scope}

    default = derive_bands(
        others if len(others) else tickets,
        esc,
        watch_recall,
        executive_precision,
        min_alerts,
    )
    if strat.empty:
        strategic = default
    else:
        own = derive_bands(
            strat,
            esc_s,
            watch_recall,
            executive_precision,
            min_alerts,
        )
        # Strategic accounts may run lower, never higher, than the default segment.
        strategic = Bands(
            watch=min(own.watch, default.watch),
            escalate=own.escalate,
            executive=min(own.executive, default.executive),
        )
    draft = ThresholdPolicy(default, {"strategic": strategic})
    expected = expected_figures(predictions, draft, slices=("strategic",))
    names = {"all": "all", "other": "default", "strategic": "strategic"}
    summary = {
        names[r["value"]]: {
            k: r[k] for k in ("precision", "recall", "alerts_per_day", "median_lead_time_h")
        }
        for _, r in expected.iterrows()
        if r["value"] in names
    }
    src: dict[str, Any] = {
        "kind": "tuned",
        "constraint": constraint,
        "strategic_precision": strategic_precision,
        "watch_recall": watch_recall,
        "executive_precision": executive_precision,
        "min_alerts": min_alerts,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "predictions": {
            "tickets": len(tickets),
            "snapshots": len(predictions),
            "days": round(days, 2),
            "from": predictions["as_of"].min().isoformat(),
            "to": predictions["as_of"].max().isoformat(),
        },
        "expected": summary,
        "notes": notes,
        **(source or {}),
    }
    return ThresholdPolicy(default, {"strategic": strategic}, _clean(src))


def expected_figures(
    predictions: pd.DataFrame,
    policy: ThresholdPolicy,
    slices: tuple[str, ...] = SEGMENTS,
) -> pd.DataFrame:
    """What the policy does on these predictions, overall and per slice value.

    Returns:
        slice, value, tickets, escalated, alerts_per_day, precision, recall,
        median_lead_time_h (hours from the first alert to the escalation, alerted escalations),
        executive_per_day; the first row is the whole slice ("all"). Slices whose column the
        predictions lack are left out.
    """
    p = predictions["p"].to_numpy(dtype="float64")
    days = days_covered(predictions)
    parts = [("all", "all", np.ones(len(predictions), dtype=bool))]
    for name in slices:
        if SLICE_COLUMNS.get(name) in predictions.columns:
            values = segment_values(predictions, name)
            parts += [(name, v, values == v) for v in _ordered(predictions, name, values)]
    rows = []
    for name, value, m in parts:
        frame = predictions[m]
        a = policy_alert_metrics(frame, p[m], policy, days)
        ex = policy_alert_metrics(frame, p[m], policy, days, band="executive")
        rows.append(
            {
                "slice": name,
                "value": value,
                "tickets": int(frame["ticket_id"].nunique()),
                "escalated": int(frame.loc[frame["label"] == 1, "ticket_id"].nunique()),
                "alerts_per_day": a["alerts_per_day"],
                "precision": a["ticket_precision"],
                "recall": a["ticket_recall"],
                "median_lead_time_h": a["median_lead_time_h"],
                "executive_per_day": ex["alerts_per_day"],
            }
        )
    return pd.DataFrame(rows)


def policy_table(policy: ThresholdPolicy) -> pd.DataFrame:
    """One row per segment (default, then the others): watch, escalate, executive."""
    rows = [{"segment": "default", **vars(policy.default)}]
    rows += [{"segment": k, **vars(b)} for k, b in sorted(policy.segments.items())]
    return pd.DataFrame(rows)


def format_report(policy: ThresholdPolicy, expected: pd.DataFrame) -> str:
    """The bands and expected figures as plain text (what `tune` prints)."""
    src = policy.source
    lines = [f"policy {policy.version}  constraint: {src.get('constraint')}"]
    lines.append(policy_table(policy).to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    lines.append("")
    lines.append(expected.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    for note in src.get("notes", []):
        lines.append(f"note: {note}")
    return "\n".join(lines)


def plot_curves(curves: pd.DataFrame, policy: ThresholdPolicy | None = None, title: str = ""):
    """Threshold curves (precision and recall, alerts per day on the right axis) and the
    ticket-level PR curve, one colour per segment value; the policy's bands as vertical lines.
    Returns the matplotlib Figure."""
    import matplotlib.pyplot as plt

    fig, (ax1, ax3) = plt.subplots(1, 2, figsize=(12, 4))
    ax2 = ax1.twinx()
    for i, (value, c) in enumerate(curves.groupby("value", sort=False)):
        color = f"C{i}"
        ax1.plot(c["threshold"], c["precision"], color=color, label=f"{value}: precision")
        ax1.plot(c["threshold"], c["recall"], color=color, ls="--", label=f"{value}: recall")
        ax2.plot(c["threshold"], c["alerts_per_day"], color=color, ls=":", lw=1)
        ax3.plot(c["recall"], c["precision"], color=color, label=str(value))
    if policy is not None:
        for name, bands in [("default", policy.default), *sorted(policy.segments.items())]:
            ls = "-" if name == "default" else "-."
            for band in ("watch", "escalate", "executive"):
                ax1.axvline(getattr(bands, band), color="grey", ls=ls, lw=0.7)
    ax1.set(xlabel="threshold", ylabel="ticket precision / recall", title=title or "threshold")
    ax2.set_ylabel("alerted tickets per day (dotted)")
    ax1.legend(fontsize=7, loc="upper left")
    ax3.set(xlabel="ticket recall", ylabel="ticket precision", title="precision-recall (tickets)")
    ax3.legend(fontsize=7)
    fig.tight_layout()
    return fig
