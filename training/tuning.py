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

Then the bands (``training.thresholds.choose_bands``): watch = the lowest threshold at which at
most ``watch_share`` of tickets ever reach watch (alerted and trigger-raised tickets counted,
capped at escalate); executive = the lowest threshold reaching ``executive_precision`` on the
executive scope (high-value accounts), else executive only via triggers, the reason in
``source``. The policy carries the multi-signal triggers (``training/triggers.yaml`` unless
others are given): a ticket a trigger alerts counts against the alert budget, and the expected
figures include them; under a precision floor, an alerting trigger whose own ticket precision is
below the floor is dropped (the policy's ``source`` names it) unless ``keep_triggers``. All figures are ticket level on the predictions given.
"""

from __future__ import annotations

import getpass
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from models.policy import ThresholdPolicy
from training.alerts import (
    best_ticket_precision,
    days_covered,
    lowest_threshold_for_precision,
    ticket_curve,
    ticket_table,
)
from training.config import TriggerSet, load_triggers, triggers_path
from training.evaluate import SLICES
from training.thresholds import (
    ConstraintError,
    check_trigger_columns,
    choose_bands,
    clean,
    policy_figures,
    policy_tickets,
    prune_triggers,
    strategic_threshold,
    thresholds_for_budget,
    ticket_actions,
    trigger_figures,
    trigger_source,
)

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


def tune_policy(
    predictions: pd.DataFrame,
    precision: float | None = None,
    alerts_per_day: float | None = None,
    *,
    strategic_precision: float | None = None,
    watch_share: float | None = None,
    executive_precision: float | None = None,
    triggers: TriggerSet | None = None,
    keep_triggers: bool = False,
    min_alerts: int = MIN_ALERTS,
    source: dict[str, Any] | None = None,
) -> ThresholdPolicy:
    """Derive a threshold policy under one constraint (see the module docstring).

    Args:
        predictions: one row per scored snapshot with ``PREDICTION_COLUMNS`` (``p`` is the
            calibrated probability, ``as_of`` UTC), the feature columns the triggers read;
            optionally ``team``.
        precision: the ticket-level precision floor of the default segment, in (0, 1]
            (the model's alerts; the triggers' own precision is in ``trigger_table``).
        alerts_per_day: the most alerted tickets per day per team (per desk without ``team``),
            trigger alerts included.
        strategic_precision: the strategic accounts' own floor (precision mode: default the same
            floor; budget mode: strategic runs lower only when given).
        watch_share, executive_precision: band settings; default training/config.yaml's.
        triggers: the triggers and executive scope to carry; None reads the config's file
            (training/triggers.yaml), ``TriggerSet()`` means none.
        keep_triggers: under a precision floor, keep alerting triggers whose own ticket
            precision is below it (by default they are dropped from the policy, see
            ``training.thresholds.prune_triggers``, and ``source`` lists them).
        min_alerts: a precision counts only at thresholds alerting at least this many tickets.
        source: provenance merged into the policy's ``source`` (see ``origin``).

    Returns:
        The policy: default bands and a "strategic" segment, the triggers, its ``source``
        recording the constraint, settings, how each band was chosen, timestamp (UTC), the
        predictions used, the expected figures (triggers included) and any notes.

    Raises:
        ValueError: not exactly one constraint, values out of range, unusable predictions
            (trigger feature columns missing included).
        ConstraintError: the constraint cannot be met; the message names the best achievable.
    """
    if (precision is None) == (alerts_per_day is None):
        raise ValueError("give exactly one constraint: a precision floor or an alert budget")
    for name, value in (("precision", precision), ("strategic_precision", strategic_precision)):
        if value is not None and not 0.0 < value <= 1.0:
            raise ValueError(f"{name} must be in (0, 1], got {value}")
    if alerts_per_day is not None and not alerts_per_day > 0:
        raise ValueError(f"alerts_per_day must be positive, got {alerts_per_day}")
    if watch_share is not None and not 0.0 < watch_share < 1.0:
        raise ValueError(f"watch_share must be in (0, 1), got {watch_share}")
    if min_alerts < 1:
        raise ValueError(f"min_alerts must be at least 1, got {min_alerts}")
    check_predictions(predictions)
    if watch_share is None or executive_precision is None or triggers is None:
        from training.config import load_config

        cfg = load_config()[0].policy
        watch_share = cfg.watch_share if watch_share is None else watch_share
        if executive_precision is None:
            executive_precision = cfg.executive_precision
        if triggers is None:
            triggers = load_triggers(triggers_path(cfg.triggers))
    notes: list[str] = []
    scope = triggers.executive_scope
    if scope is not None and not scope.features() <= set(predictions.columns):
        # Predictions of versions trained before the scope's columns were written: the
        # executive band falls back to every account, as policies without a scope do.
        lacking = ", ".join(sorted(scope.features() - set(predictions.columns)))
        notes.append(
            f"predictions lack {lacking}: no executive scope, the executive band is measured "
            "on and applies to every account"
        )
        triggers = replace(triggers, executive_scope=None)
    check_trigger_columns(predictions, triggers)
    dropped: list[dict[str, Any]] = []
    if precision is not None and not keep_triggers:
        triggers, dropped = prune_triggers(predictions, triggers, precision, min_alerts)
        for d in dropped:
            notes.append(
                f"trigger {d['name']} dropped: ticket precision {d['precision']:.3f} on "
                f"{d['tickets']} tickets is below the floor {precision:g} (--keep-triggers keeps it)"
            )

    p = predictions["p"].to_numpy(dtype="float64")
    tickets = policy_tickets(predictions, p, triggers)
    days = days_covered(predictions)
    strat = tickets[tickets["strategic"]]
    others = tickets[~tickets["strategic"]]
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
        esc_s = strategic_threshold(strat, floor, min_alerts, esc, notes)
        constraint = {"precision": precision}
    else:
        assert alerts_per_day is not None
        floor_t = None
        if strategic_precision is not None:
            floor_t = strategic_threshold(strat, strategic_precision, min_alerts, 1.0, notes)
        per = "team" if "team" in tickets.columns else "desk"
        if per == "desk":
            notes.append("predictions carry no team: the alert budget covers the whole desk")
        esc, esc_s = thresholds_for_budget(tickets, alerts_per_day, days, floor_t)
        constraint = {"alerts_per_day": alerts_per_day, "scope": per}

    choice = choose_bands(
        tickets,
        esc,
        esc_s,
        watch_share=watch_share,
        executive_precision=executive_precision,
        min_alerts=min_alerts,
        triggers=triggers,
    )
    notes += choice.notes
    segments = {"strategic": choice.default if strat.empty else choice.strategic}
    draft = ThresholdPolicy(
        choice.default, segments, {}, triggers.triggers, triggers.executive_scope
    )
    expected = expected_figures(predictions, draft, slices=("strategic",))
    names = {"all": "all", "other": "default", "strategic": "strategic"}
    keys = (
        "precision",
        "recall",
        "alerts_per_day",
        "median_lead_time_h",
        "executive_per_day",
        "watch_share",
        "trigger_alerts_per_day",
    )
    summary = {
        names[r["value"]]: {k: r[k] for k in keys}
        for _, r in expected.iterrows()
        if r["value"] in names
    }
    trig_table = trigger_table(predictions, draft)
    src: dict[str, Any] = {
        "kind": "tuned",
        "constraint": constraint,
        "strategic_precision": strategic_precision,
        "watch_share": watch_share,
        "executive_precision": executive_precision,
        "min_alerts": min_alerts,
        "bands": choice.info,
        "triggers": {
            **trigger_source(triggers),
            "dropped": dropped,
            "expected": {
                r["trigger"]: {
                    k: r[k] for k in ("tickets", "precision", "recall", "alerts_per_day")
                }
                for _, r in trig_table.iterrows()
            },
        },
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
    return ThresholdPolicy(
        choice.default, segments, clean(src), triggers.triggers, triggers.executive_scope
    )


def expected_figures(
    predictions: pd.DataFrame,
    policy: ThresholdPolicy,
    slices: tuple[str, ...] = SEGMENTS,
) -> pd.DataFrame:
    """What the policy does on these predictions, triggers included, overall and per slice.

    Returns:
        slice, value, tickets, escalated, alerts_per_day (model or trigger), precision, recall,
        median_lead_time_h (hours from the first alert to the escalation, alerted escalations),
        executive_per_day, watch_share (share of tickets ever at watch or above),
        trigger_alerts_per_day (alerted only by a trigger); the first row is the whole slice
        ("all"). Slices whose column the predictions lack are left out.
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
        f = policy_figures(ticket_actions(predictions[m], p[m], policy), days)
        rows.append(
            {
                "slice": name,
                "value": value,
                "tickets": int(f["tickets"]),
                "escalated": int(f["escalated"]),
                **{
                    k: f[k]
                    for k in (
                        "alerts_per_day",
                        "precision",
                        "recall",
                        "median_lead_time_h",
                        "executive_per_day",
                        "watch_share",
                        "trigger_alerts_per_day",
                    )
                },
            }
        )
    return pd.DataFrame(rows)


def trigger_table(predictions: pd.DataFrame, policy: ThresholdPolicy) -> pd.DataFrame:
    """Each trigger's ticket-level precision, recall and alerts per day on these predictions
    (see ``training.thresholds.trigger_figures``); empty when the policy has no triggers."""
    actions = ticket_actions(predictions, predictions["p"].to_numpy(dtype="float64"), policy)
    return trigger_figures(actions, policy, days_covered(predictions))


def policy_table(policy: ThresholdPolicy) -> pd.DataFrame:
    """One row per segment (default, then the others): watch, escalate, executive."""
    rows = [{"segment": "default", **vars(policy.default)}]
    rows += [{"segment": k, **vars(b)} for k, b in sorted(policy.segments.items())]
    return pd.DataFrame(rows)


def format_report(
    policy: ThresholdPolicy, expected: pd.DataFrame, triggers: pd.DataFrame | None = None
) -> str:
    """The bands, expected figures and trigger figures as plain text (what `tune` prints)."""
    src = policy.source
    lines = [f"policy {policy.version}  constraint: {src.get('constraint')}"]
    table = policy_table(policy)
    lines.append(
        table.to_string(index=False, float_format=lambda x: "never" if x > 1.0 else f"{x:.4f}")
    )
    bands = src.get("bands", {})
    if "watch" in bands:
        w = bands["watch"]
        lines.append(
            f"watch: at most {w['share']:.0%} of tickets reach the watch threshold; "
            f"{w['reached_share']:.1%} do on these predictions"
        )
    if "executive" in bands:
        e = bands["executive"]
        lines.append(
            f"executive: precision {e['precision']:g} on {e['scope']} ({e['scope_tickets']} "
            f"tickets) from {e['threshold']:.4f}"
            if e["reachable"]
            else f"executive: {e['reason']}"
        )
    lines.append("")
    lines.append(expected.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    if triggers is not None and len(triggers):
        lines.append("")
        lines.append("triggers (ticket level, alerts counted against the budget):")
        lines.append(triggers.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
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
                if getattr(bands, band) <= 1.0:  # an unreachable executive band has no line
                    ax1.axvline(getattr(bands, band), color="grey", ls=ls, lw=0.7)
    ax1.set(xlabel="threshold", ylabel="ticket precision / recall", title=title or "threshold")
    ax2.set_ylabel("alerted tickets per day (dotted)")
    ax1.legend(fontsize=7, loc="upper left")
    ax3.set(xlabel="ticket recall", ylabel="ticket precision", title="precision-recall (tickets)")
    ax3.legend(fontsize=7)
    fig.tight_layout()
    return fig
