"""Threshold policies from predictions: the default one shipped with a trained model, the bands
around the escalate thresholds, and what a policy (its triggers included) does on a slice of
predictions (training, `tune`, the notebook).

Everything is ticket level: a ticket reaches an action when any of its snapshots does, under the
probability's bands or a fired trigger, whichever is higher.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from models.policy import NEVER, Bands, ThresholdPolicy
from models.triggers import ACTION_RANK, trigger_ranks
from training.alerts import (
    best_ticket_precision,
    candidate_thresholds,
    days_covered,
    lowest_threshold_for_precision,
    threshold_for_ticket_share,
    ticket_table,
)
from training.config import PolicyConfig, TriggerSet, load_triggers, triggers_path

WATCH, ALERT, EXECUTIVE = ACTION_RANK["watch"], ACTION_RANK["escalate"], ACTION_RANK["executive"]


class ConstraintError(ValueError):
    """The stated constraint cannot be met on these predictions (the message names the best)."""


def budget_load(tickets: pd.DataFrame, thr: np.ndarray, days: float) -> float:
    """Alerted tickets per day: of the busiest team when tickets have teams, else of the desk.
    A ticket a trigger raises to escalate or above counts whatever the threshold."""
    alerted = tickets["peak"].to_numpy() >= thr
    if "trigger" in tickets.columns:
        alerted = alerted | (tickets["trigger"].to_numpy() >= ALERT)
    if "team" in tickets.columns:
        counts = pd.Series(tickets["team"].to_numpy()[alerted]).value_counts()
        return float(counts.max()) / days if len(counts) else 0.0
    return float(alerted.sum()) / days


def thresholds_for_budget(
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
        return budget_load(tickets, np.where(strategic, s, d), days)

    # The load never rises with the threshold: binary search for the first candidate within it.
    lo, hi = 0, len(cands) - 1
    if load(cands[hi]) > per_day:
        by_triggers = "trigger" in tickets.columns and (tickets["trigger"] >= ALERT).any()
        raise ConstraintError(
            f"no threshold keeps alerts within {per_day:g} per day: even the highest alerts "
            f"{load(cands[hi]):.3g} per day"
            + (
                " (tickets the triggers alert count against the budget; raise it or tune "
                "without triggers)"
                if by_triggers
                else ""
            )
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


def strategic_threshold(
    strat: pd.DataFrame, floor: float, min_alerts: int, default: float, notes: list[str]
) -> float:
    """The strategic tickets' lowest threshold reaching ``floor``, never above ``default``;
    ``default`` (and a note) when there are none or the floor is out of reach."""
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


def check_trigger_columns(frame: pd.DataFrame, triggers: TriggerSet) -> None:
    """Raise ValueError naming the feature columns the triggers and the executive scope read
    but ``frame`` lacks."""
    needed: set[str] = set().union(*(t.features() for t in triggers.triggers))
    if triggers.executive_scope is not None:
        needed |= triggers.executive_scope.features()
    missing = sorted(needed - set(frame.columns))
    if missing:
        raise ValueError(
            f"the predictions lack the column(s) {', '.join(missing)} that the triggers read: "
            "retrain the model with this code (training writes them into test_predictions), "
            "or tune without triggers (--no-triggers; use_triggers = False in the notebook)"
        )


def policy_tickets(frame: pd.DataFrame, p: np.ndarray, triggers: TriggerSet) -> pd.DataFrame:
    """``ticket_table`` with ``trigger`` (highest trigger action rank of any snapshot) and
    ``in_scope`` (inside the executive scope; every ticket when there is none)."""
    trig = trigger_ranks(triggers.triggers, frame)
    scope = (
        np.ones(len(frame), dtype=bool)
        if triggers.executive_scope is None
        else triggers.executive_scope.contains_frame(frame)
    )
    return ticket_table(frame, p, trig, scope)


@dataclass
class BandChoice:
    """Both segments' bands and how they were chosen (for the policy's ``source``)."""

    default: Bands
    strategic: Bands
    info: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def choose_bands(
    tickets: pd.DataFrame,
    escalate: float,
    escalate_strategic: float,
    *,
    watch_share: float,
    executive_precision: float,
    min_alerts: int,
    triggers: TriggerSet,
) -> BandChoice:
    """Watch and executive bands around chosen escalate thresholds, from ``policy_tickets``.

    watch: the lowest threshold at which at most ``watch_share`` of all tickets ever reach the
    watch threshold (a ticket does when any snapshot scores at or above it; the tickets alerted
    by their segment's escalate threshold count, since they pass it too), capped at each
    segment's escalate. With that share a blank ticket, scoring like most, never passes it.
    When the escalate band alone exceeds the share there is no watch band (watch = escalate) and
    a note says so. Triggers raising a ticket do not use up the watch share (they count against
    the alert budget instead).

    executive: the lowest threshold reaching ``executive_precision`` (with >= ``min_alerts``
    alerts) on the tickets inside the executive scope, at least each segment's escalate; when
    none does, ``NEVER`` (executive only via triggers) and the reason in ``info``.
    """
    notes: list[str] = []
    esc = np.where(tickets["strategic"].to_numpy(bool), escalate_strategic, escalate)
    peak = tickets["peak"].to_numpy(dtype="float64")
    forced = peak >= esc
    t_watch = threshold_for_ticket_share(tickets, watch_share, forced)
    n = max(len(tickets), 1)
    if t_watch is None:
        notes.append(
            f"the escalate band alone alerts {forced.sum() / n:.1%} of tickets, over the watch "
            f"share {watch_share:.0%}: no separate watch band"
        )
        reached = forced
        w_default, w_strategic = escalate, escalate_strategic
    else:
        reached = forced | (peak >= t_watch)
        w_default, w_strategic = min(t_watch, escalate), min(t_watch, escalate_strategic)
    watch_info = {
        "share": watch_share,
        "threshold": t_watch,
        "reached_share": float(reached.sum() / n),
        "escalate_share": float(forced.sum() / n),
    }

    scope = triggers.executive_scope
    inside = tickets[tickets["in_scope"]] if "in_scope" in tickets else tickets
    scope_name = scope.name if scope is not None else "all"
    t_exec = lowest_threshold_for_precision(inside, executive_precision, min_alerts)
    exec_info: dict[str, Any] = {
        "scope": scope_name,
        "scope_tickets": len(inside),
        "precision": executive_precision,
        "min_alerts": min_alerts,
        "threshold": t_exec,
        "reachable": t_exec is not None,
    }
    if t_exec is None:
        best, _ = best_ticket_precision(inside, min_alerts) if len(inside) else (math.nan, 0)
        via = [t.name for t in triggers.triggers if t.action == "executive"]
        exec_info["reason"] = (
            f"no threshold reaches precision {executive_precision:g} with >= {min_alerts} alerts "
            f"on the {len(inside)} {scope_name} tickets (best "
            f"{'n/a' if not math.isfinite(best) else f'{best:.3g}'}): "
            + (
                f"executive only via triggers ({', '.join(via)})"
                if via
                else "no trigger raises to executive either, so the executive path is unused"
            )
        )
        e_default = e_strategic = NEVER
    else:
        e_default, e_strategic = max(t_exec, escalate), max(t_exec, escalate_strategic)
        if t_exec < escalate:
            notes.append(
                f"the executive precision is reached from {t_exec:.4g}, below escalate "
                f"{escalate:.4g}: executive starts at escalate"
            )
    return BandChoice(
        Bands(float(w_default), float(escalate), float(e_default)),
        Bands(float(w_strategic), float(escalate_strategic), float(e_strategic)),
        {"watch": watch_info, "executive": exec_info},
        notes,
    )


def prune_triggers(
    frame: pd.DataFrame, triggers: TriggerSet, floor: float, min_alerts: int
) -> tuple[TriggerSet, list[dict[str, Any]]]:
    """Drop the alerting triggers whose own ticket precision falls below ``floor``.

    A precision floor is the desk's promise about its alerts; a trigger that alerts (escalate or
    executive) on at least ``min_alerts`` tickets of ``frame`` and whose share of them escalating
    is below the floor would break it, so it leaves the policy. Watch triggers, and triggers
    firing on fewer tickets (no measurable precision), stay.

    Returns:
        The kept triggers (same scope and path) and one record per dropped trigger: name,
        action, tickets, precision.
    """
    escalated = frame.groupby("ticket_id", sort=False)["label"].max().astype(bool)
    kept, dropped = [], []
    for t in triggers.triggers:
        if ACTION_RANK[t.action] < ALERT:
            kept.append(t)
            continue
        fired = pd.Series(t.fires_frame(frame), index=frame["ticket_id"].to_numpy())
        on = fired.groupby(level=0, sort=False).max()
        on = on[on].index
        n = len(on)
        precision = float(escalated.loc[on].mean()) if n else math.nan
        if n >= min_alerts and precision < floor:
            dropped.append(
                {"name": t.name, "action": t.action, "tickets": n, "precision": precision}
            )
        else:
            kept.append(t)
    return replace(triggers, triggers=tuple(kept)), dropped


def trigger_source(triggers: TriggerSet) -> dict[str, Any]:
    """What a policy's ``source`` records about its triggers."""
    return {
        "file": triggers.path,
        "names": [t.name for t in triggers.triggers],
        "executive_scope": (
            None if triggers.executive_scope is None else triggers.executive_scope.name
        ),
    }


def default_policy(
    frame: pd.DataFrame,
    p: np.ndarray,
    cfg: PolicyConfig,
    triggers: TriggerSet | None = None,
) -> ThresholdPolicy:
    """The policy shipped with a trained model, derived on the calibration slice.

    escalate: lowest threshold reaching ``target_precision`` per ticket with >= ``min_alerts``
    alerts (else the top 1% of scores), strategic accounts at ``strategic_factor`` times it;
    watch and executive: ``choose_bands`` (watch share, executive precision on the executive
    scope). ``triggers`` default to ``cfg.triggers``; they go into the policy.
    """
    if triggers is None:
        triggers = load_triggers(triggers_path(cfg.triggers))
    check_trigger_columns(frame, triggers)
    tickets = policy_tickets(frame, p, triggers)
    esc = lowest_threshold_for_precision(tickets, cfg.target_precision, cfg.min_alerts)
    notes = []
    if esc is None:
        esc = float(np.quantile(p, 0.99))
        notes.append(
            f"precision {cfg.target_precision:g} out of reach: escalate at the top 1% of scores"
        )
    f = cfg.strategic_factor
    choice = choose_bands(
        tickets,
        esc,
        esc * f,
        watch_share=cfg.watch_share,
        executive_precision=cfg.executive_precision,
        min_alerts=cfg.min_alerts,
        triggers=triggers,
    )
    source: dict[str, Any] = {
        "kind": "default from training",
        "target_precision": cfg.target_precision,
        "watch_share": cfg.watch_share,
        "executive_precision": cfg.executive_precision,
        "strategic_factor": f,
        "min_alerts": cfg.min_alerts,
        "bands": choice.info,
        "triggers": trigger_source(triggers),
        "notes": notes + choice.notes,
    }
    return ThresholdPolicy(
        choice.default,
        {"strategic": choice.strategic},
        clean(source),
        triggers.triggers,
        triggers.executive_scope,
    )


def clean(value: Any) -> Any:
    """JSON-safe: NaN -> None, NumPy scalars -> Python numbers (in dicts and lists)."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# -------------------------------------------------------------------------------------------
# What a policy does on predictions (its triggers included)
# -------------------------------------------------------------------------------------------
def ticket_actions(frame: pd.DataFrame, p: np.ndarray, policy: ThresholdPolicy) -> pd.DataFrame:
    """One row per ticket: what the policy did to it over its snapshots.

    Args:
        frame: snapshot rows: ticket_id, as_of (UTC), label, hours_to_escalation and the
            features of ``policy.feature_names()`` (missing values never fire a trigger).
        p: calibrated probability per row.

    Returns:
        Indexed by ticket_id: escalated, model (highest model action rank), trigger (highest
        trigger action rank), rank (highest final rank), first_alert (first snapshot at
        escalate or above), escalated_at, and per trigger ``fired.<name>`` (bool) and
        ``first.<name>`` (first snapshot it fired).
    """
    decided = policy.decide_frame(np.asarray(p, dtype="float64"), frame)
    df = pd.DataFrame(
        {
            "ticket_id": frame["ticket_id"].to_numpy(),
            "as_of": frame["as_of"].array,
            "escalated": frame["label"].to_numpy() == 1,
            "model": decided["model_rank"].to_numpy(),
            "trigger": decided["trigger_rank"].to_numpy(),
            "rank": decided["rank"].to_numpy(),
        }
    )
    df["alert_at"] = df["as_of"].where(df["rank"] >= ALERT)
    hours = frame["hours_to_escalation"].fillna(0).to_numpy(dtype="float64")
    df["escalated_at"] = (df["as_of"] + pd.to_timedelta(hours, unit="h")).where(df["escalated"])
    agg: dict[str, tuple[str, str]] = {
        "escalated": ("escalated", "max"),
        "model": ("model", "max"),
        "trigger": ("trigger", "max"),
        "rank": ("rank", "max"),
        "first_alert": ("alert_at", "min"),
        "escalated_at": ("escalated_at", "max"),
    }
    for t in policy.triggers:
        fired = decided[f"fired.{t.name}"].to_numpy()
        df[f"fired.{t.name}"] = fired
        df[f"first.{t.name}"] = df["as_of"].where(fired)
        agg[f"fired.{t.name}"] = (f"fired.{t.name}", "max")
        agg[f"first.{t.name}"] = (f"first.{t.name}", "min")
    return df.groupby("ticket_id", sort=False).agg(**agg)


def _lead_h(first: pd.Series, escalated_at: pd.Series, mask: np.ndarray) -> float:
    lead = (escalated_at - first).dt.total_seconds() / 3600
    lead = lead[mask]
    return float(lead.median()) if len(lead) else float("nan")


def policy_figures(actions: pd.DataFrame, days: float) -> dict[str, float]:
    """Ticket-level figures of a policy from ``ticket_actions``, triggers included.

    Returns:
        tickets, escalated, alerts_per_day (tickets at escalate or above: model or trigger),
        precision, recall, median_lead_time_h (first alert to escalation, alerted
        escalations), executive_per_day, executive_precision, watch_share (share of tickets
        whose probability ever reaches their watch threshold: what ``watch_share`` budgets),
        attention_share (share ever at watch or above, triggers included),
        model_alerts_per_day (the probability alone), trigger_alerts_per_day (alerted only
        because of a trigger).
    """
    y = actions["escalated"].to_numpy(dtype=bool)
    rank = actions["rank"].to_numpy()
    alert, exe = rank >= ALERT, rank >= EXECUTIVE
    model_alert = actions["model"].to_numpy() >= ALERT
    n_pos = max(int(y.sum()), 1)
    return {
        "tickets": float(len(actions)),
        "escalated": float(y.sum()),
        "alerts_per_day": float(alert.sum()) / days,
        "precision": float((alert & y).sum() / alert.sum()) if alert.any() else float("nan"),
        "recall": float((alert & y).sum()) / n_pos,
        "median_lead_time_h": _lead_h(actions["first_alert"], actions["escalated_at"], alert & y),
        "executive_per_day": float(exe.sum()) / days,
        "executive_precision": float((exe & y).sum() / exe.sum()) if exe.any() else float("nan"),
        "watch_share": float((actions["model"].to_numpy() >= WATCH).sum() / max(len(y), 1)),
        "attention_share": float((rank >= WATCH).sum() / max(len(y), 1)),
        "model_alerts_per_day": float(model_alert.sum()) / days,
        "trigger_alerts_per_day": float((alert & ~model_alert).sum()) / days,
    }


def trigger_figures(actions: pd.DataFrame, policy: ThresholdPolicy, days: float) -> pd.DataFrame:
    """Each trigger's ticket-level figures from ``ticket_actions``.

    Returns:
        One row per trigger (then "any trigger" when there are several): trigger, action,
        tickets (fired on any snapshot), alerts_per_day (those tickets per day), precision
        (share of them escalating), recall (share of escalating tickets it fires on),
        raised_per_day (tickets whose final action it set above the probability's),
        median_lead_time_h (first firing to escalation).
    """
    y = actions["escalated"].to_numpy(dtype=bool)
    model = actions["model"].to_numpy()
    n_pos = max(int(y.sum()), 1)
    rows = []
    for t in policy.triggers:
        fired = actions[f"fired.{t.name}"].to_numpy(dtype=bool)
        rows.append(
            {
                "trigger": t.name,
                "action": t.action,
                "tickets": int(fired.sum()),
                "alerts_per_day": float(fired.sum()) / days,
                "precision": float((fired & y).sum() / fired.sum()) if fired.any() else np.nan,
                "recall": float((fired & y).sum()) / n_pos,
                "raised_per_day": float((fired & (model < ACTION_RANK[t.action])).sum()) / days,
                "median_lead_time_h": _lead_h(
                    actions[f"first.{t.name}"], actions["escalated_at"], fired & y
                ),
            }
        )
    if len(policy.triggers) > 1:
        fired = actions["trigger"].to_numpy() > 0
        first = actions[[f"first.{t.name}" for t in policy.triggers]].min(axis=1)
        rows.append(
            {
                "trigger": "any trigger",
                "action": "",
                "tickets": int(fired.sum()),
                "alerts_per_day": float(fired.sum()) / days,
                "precision": float((fired & y).sum() / fired.sum()) if fired.any() else np.nan,
                "recall": float((fired & y).sum()) / n_pos,
                "raised_per_day": float((fired & (actions["trigger"].to_numpy() > model)).sum())
                / days,
                "median_lead_time_h": _lead_h(first, actions["escalated_at"], fired & y),
            }
        )
    cols = [
        "trigger",
        "action",
        "tickets",
        "alerts_per_day",
        "precision",
        "recall",
        "raised_per_day",
        "median_lead_time_h",
    ]
    return pd.DataFrame(rows, columns=cols)


def policy_evaluation(frame: pd.DataFrame, p: np.ndarray, policy: ThresholdPolicy) -> dict:
    """The policy's and each trigger's figures on a slice (what training logs): ``{"policy":
    policy_figures, "triggers": {name: figures}}``; days from ``frame``'s as_of."""
    days = days_covered(frame)
    actions = ticket_actions(frame, p, policy)
    table = trigger_figures(actions, policy, days)
    return {
        "policy": policy_figures(actions, days),
        "triggers": {
            r["trigger"]: {k: r[k] for k in table.columns if k not in ("trigger", "action")}
            for _, r in table.iterrows()
        },
    }
