"""Retraining from feedback: what the service saw and what the desk fed back, plus optional
exports, into a training set with a label cut-off; train; promote only on a real improvement.

The job never reads the service's store itself (training does not import serving): the caller
(``cli/retrain.py``) passes the store's tables as frames (:class:`StoreTables`).

Labels at the cut-off (``cutoff``, UTC; everything after it is ignored):

- a ticket escalated when an export's outcome or the latest feedback says so, at or before
  the cut-off;
- it did not escalate when the latest feedback says so, when it was closed by the cut-off, or
  when it was created at least ``horizon`` before the cut-off without an escalation;
- any other ticket is still open: its outcome is unknown, so it is no negative. Its snapshots
  leave the training rows, but the ticket stays in the tables, so that the other tickets'
  context features (open tickets of the account, team backlog) see it as they did live.

Promotion: the challenger and the current champion are scored on the same newest out-of-time
window (the test slice of the time split: the latest tickets by first snapshot); the challenger
becomes champion only when that window holds at least ``min_positives`` escalating snapshots
and its PR-AUC beats the champion's by at least ``min_gain``. The decision, the margin, the
window and both scores go into the run in MLflow. The service follows the champion alias by
itself (``serving/services/model.py``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from features.pipeline import build_feature_table, default_cache_path
from features.schema import TABLES, SupportData, validate_tables
from features.text import SignalCache, TextScorer
from training.config import TrainConfig

log = logging.getLogger(__name__)

# The event type -> actor the data model implies, for logged events that do not name one.
_ACTOR = {"customer_message": "customer", "csat": "customer", "agent_message": "agent"}


@dataclass(frozen=True)
class StoreTables:
    """The service's store as frames (``Store.table(name)``), times as UTC datetimes.

    Attributes:
        accounts: the data model's account columns.
        tickets: ticket_id, account_id, created_at, channel, product_area, priority.
        feedback: ticket_id, escalated, escalated_at, escalation_type, escalation_kind,
            closed_at, received_at (one row per ``POST /v1/feedback``; the latest counts).
        events: full events in the data model's columns (text, tier, ...) for tickets whose
            every event the store kept as sent; None when it keeps none. The store's
            context-only rows (no text, no tier) cannot rebuild the features and are not
            passed here.
    """

    accounts: pd.DataFrame
    tickets: pd.DataFrame
    feedback: pd.DataFrame
    events: pd.DataFrame | None = None


@dataclass(frozen=True)
class RetrainSettings:
    """The label cut-off and the promotion rule.

    Attributes:
        horizon_days: a ticket this old at the cut-off without an escalation counts as one that
            did not escalate.
        min_gain: PR-AUC the challenger must gain over the champion on the window.
        min_positives: escalating snapshots the window needs for a comparison to count.
        cutoff: label cut-off (default: the latest event of the assembled data).
    """

    horizon_days: float = 14.0
    min_gain: float = 0.01
    min_positives: int = 20
    cutoff: pd.Timestamp | None = None


def logged_events(bodies: pd.DataFrame) -> pd.DataFrame:
    """Events stored as sent (``ticket_id`` and ``body``, the event's JSON) in the data model's
    event columns; an event without an actor gets the one its type implies."""
    cols = [c.name for c in TABLES["events"]]
    rows = []
    for tid, body in zip(bodies["ticket_id"], bodies["body"], strict=True):
        ev = json.loads(body)
        rows.append({c: ev.get(c) for c in cols} | {"ticket_id": tid})
    out = pd.DataFrame(rows, columns=cols)
    out["ts"] = pd.to_datetime(out["ts"], utc=True, format="ISO8601").astype("datetime64[us, UTC]")
    out["actor"] = out["actor"].fillna(out["event_type"].map(_ACTOR)).fillna("system")
    for c in ("tier", "csat"):
        out[c] = out[c].astype("Int64")
    for c in cols:
        if c not in ("ts", "tier", "csat"):
            out[c] = out[c].astype(object)
    return out


def _latest_feedback(feedback: pd.DataFrame) -> pd.DataFrame:
    if feedback is None or feedback.empty:
        return pd.DataFrame(columns=["ticket_id", "escalated", "escalated_at", "closed_at"])
    order = ["received_at"] + (["id"] if "id" in feedback.columns else [])
    fb = feedback.sort_values(order, kind="stable").drop_duplicates("ticket_id", keep="last")
    return fb.set_index("ticket_id", drop=False)


def _as_utc(col: pd.Series) -> pd.Series:
    return pd.to_datetime(col, utc=True).astype("datetime64[us, UTC]")


@dataclass(frozen=True)
class TrainingSet:
    """The assembled support data, the tickets whose outcome is known at the cut-off, and how
    the set was made (counts per source and label state)."""

    data: SupportData
    labelled: frozenset[str]
    cutoff: pd.Timestamp
    summary: dict[str, Any]


def assemble_training_set(
    store: StoreTables | None,
    exports: SupportData | None,
    settings: RetrainSettings,
) -> TrainingSet:
    """The store's tickets and feedback, plus the exports, cut at the label cut-off.

    A ticket's events come from the exports when they have it, else from the store's full
    events; a store ticket with neither is left out (counted). The store's feedback overrides an
    export's outcome (it is the desk's later word). Raises ValueError when nothing is left.
    """
    parts_acc, parts_tk, parts_ev, parts_out = [], [], [], []
    summary: dict[str, Any] = {}
    if exports is not None:
        parts_acc.append(exports.accounts)
        parts_tk.append(exports.tickets)
        parts_ev.append(exports.events)
        if exports.outcomes is not None:
            parts_out.append(exports.outcomes)
        summary["export_tickets"] = len(exports.tickets)
    known = set(exports.tickets["ticket_id"]) if exports is not None else set()
    feedback = _latest_feedback(store.feedback if store is not None else None)
    if store is not None:
        full = set() if store.events is None else set(store.events["ticket_id"])
        tk = store.tickets[~store.tickets["ticket_id"].isin(known)]
        usable = tk[tk["ticket_id"].isin(full)]
        summary["store_tickets"] = len(store.tickets)
        summary["store_tickets_used"] = len(usable)
        summary["store_tickets_without_events"] = len(tk) - len(usable)
        if len(usable):
            no_close = pd.Series(pd.NaT, index=usable.index, dtype="datetime64[us, UTC]")
            parts_tk.append(usable.assign(subject=None, closed_at=no_close))
            parts_ev.append(store.events[store.events["ticket_id"].isin(set(usable["ticket_id"]))])
            acc = store.accounts[
                store.accounts["account_id"].isin(set(usable["account_id"]))
                & ~store.accounts["account_id"].isin(
                    set().union(*(set(a["account_id"]) for a in parts_acc))
                )
            ]
            parts_acc.append(acc)
        summary["feedback_tickets"] = len(feedback)
    if not parts_tk:
        raise ValueError("nothing to train on: the store holds no usable ticket and no export")

    acc_cols = [c.name for c in TABLES["accounts"]]
    tk_cols = [c.name for c in TABLES["tickets"]]
    ev_cols = [c.name for c in TABLES["events"]]
    accounts = pd.concat([a[acc_cols] for a in parts_acc], ignore_index=True)
    tickets = pd.concat([t[tk_cols] for t in parts_tk], ignore_index=True)
    events = pd.concat([e[ev_cols] for e in parts_ev], ignore_index=True)
    for c in ("tier", "csat"):
        events[c] = events[c].astype("Int64")
    for frame, cols in (
        (accounts, ("created_at", "renewal_date")),
        (tickets, ("created_at", "closed_at")),
        (events, ("ts",)),
    ):
        for c in cols:
            frame[c] = _as_utc(frame[c])
    cutoff = settings.cutoff if settings.cutoff is not None else events["ts"].max()
    cutoff = pd.Timestamp(cutoff)
    cutoff = cutoff.tz_localize("UTC") if cutoff.tzinfo is None else cutoff.tz_convert("UTC")

    # Point in time: only what was known at the cut-off.
    tickets = tickets[tickets["created_at"] <= cutoff].copy()
    tickets["closed_at"] = tickets["closed_at"].where(tickets["closed_at"] <= cutoff)
    events = events[(events["ts"] <= cutoff) & events["ticket_id"].isin(set(tickets["ticket_id"]))]
    ids = tickets["ticket_id"]

    outcomes = pd.DataFrame({"ticket_id": ids.to_numpy()})
    out_src = (
        pd.concat(parts_out, ignore_index=True).drop_duplicates("ticket_id", keep="last")
        if parts_out
        else pd.DataFrame(columns=[c.name for c in TABLES["outcomes"]])
    )
    src = out_src.set_index("ticket_id")
    esc_at = ids.map(src["escalated_at"]) if len(src) else pd.Series(pd.NaT, index=ids.index)
    esc_type = ids.map(src["escalation_type"]) if len(src) else pd.Series(None, index=ids.index)
    esc_kind = ids.map(src["escalation_kind"]) if len(src) else pd.Series(None, index=ids.index)
    esc_at = _as_utc(esc_at)
    fb_negative = pd.Series(False, index=ids.index)
    fb_closed = pd.Series(pd.NaT, index=ids.index, dtype="datetime64[us, UTC]")
    if len(feedback):
        has = ids.isin(feedback.index).to_numpy()
        f = feedback.reindex(ids[has].to_numpy())
        f_esc = f["escalated"].astype(bool).to_numpy()
        f_at = _as_utc(f["escalated_at"]).where(f_esc)
        esc_at = esc_at.copy()
        esc_at.iloc[np.flatnonzero(has)] = f_at.to_numpy()
        f_type = f["escalation_type"].astype(object).where(~f["escalation_type"].isna(), "other")
        esc_type = esc_type.astype(object).copy()
        esc_kind = esc_kind.astype(object).copy()
        esc_type.iloc[np.flatnonzero(has)] = np.where(f_esc, f_type.to_numpy(), None)
        esc_kind.iloc[np.flatnonzero(has)] = np.where(
            f_esc, f["escalation_kind"].astype(object).to_numpy(), None
        )
        fb_negative.iloc[np.flatnonzero(has)] = ~f_esc
        fb_closed.iloc[np.flatnonzero(has)] = _as_utc(f["closed_at"]).to_numpy()
    late = esc_at > cutoff
    esc_at = esc_at.where(~late)
    esc_type = esc_type.where(esc_at.notna(), None)
    esc_kind = esc_kind.where(esc_at.notna(), None)
    outcomes["escalated_at"] = esc_at.array
    outcomes["escalation_type"] = esc_type.astype(object).to_numpy()
    outcomes["escalation_kind"] = esc_kind.astype(object).to_numpy()

    closing = events[(events["event_type"] == "status_change") & (events["status"] == "closed")]
    closed = (
        ids.isin(set(closing["ticket_id"]))
        | tickets["closed_at"].notna()
        | (fb_closed <= cutoff).fillna(False)
    )
    old = tickets["created_at"] <= cutoff - pd.Timedelta(days=settings.horizon_days)
    positive = esc_at.notna()
    negative = ~positive & (fb_negative | closed | old)
    labelled = frozenset(ids[(positive | negative).to_numpy()])
    data = validate_tables(accounts, tickets, events, outcomes)
    summary |= {
        "cutoff": cutoff.isoformat(),
        "horizon_days": settings.horizon_days,
        "tickets": len(tickets),
        "escalated": int(positive.sum()),
        "not_escalated": int(negative.sum()),
        "still_open": int((~(positive | negative)).sum()),
        "escalations_after_cutoff": int(late.sum()),
    }
    return TrainingSet(data, labelled, cutoff, summary)


def promotion_decision(
    y: np.ndarray, p_new: np.ndarray, p_old: np.ndarray | None, settings: RetrainSettings
) -> tuple[bool, str, dict[str, float]]:
    """Promote or keep, with the figures behind it (PR-AUC of both, gain, positives)."""
    from sklearn.metrics import average_precision_score

    positives = int(np.asarray(y).sum())
    new_ap = float(average_precision_score(y, p_new)) if positives else float("nan")
    figures = {
        "challenger_pr_auc": new_ap,
        "window_positives": float(positives),
        "min_gain": settings.min_gain,
        "min_positives": float(settings.min_positives),
    }
    if p_old is None:
        return True, "no champion to compare with: promoted", figures
    old_ap = float(average_precision_score(y, p_old)) if positives else float("nan")
    figures |= {"champion_pr_auc": old_ap, "gain": new_ap - old_ap}
    if positives < settings.min_positives:
        return (
            False,
            f"the window holds {positives} escalating snapshots, fewer than "
            f"{settings.min_positives}: kept challenger",
            figures,
        )
    gain = new_ap - old_ap
    if gain >= settings.min_gain:
        return (
            True,
            f"PR-AUC {new_ap:.4f} vs champion {old_ap:.4f}: gain {gain:+.4f} >= "
            f"{settings.min_gain}: promoted",
            figures,
        )
    return (
        False,
        f"PR-AUC {new_ap:.4f} vs champion {old_ap:.4f}: gain {gain:+.4f} < "
        f"{settings.min_gain}: kept challenger",
        figures,
    )


def retrain(
    training_set: TrainingSet,
    cfg: TrainConfig,
    raw_config: dict[str, Any],
    model_name: str,
    scorer: TextScorer | None,
    settings: RetrainSettings,
    data_source: str = "store",
) -> dict[str, Any]:
    """Features -> train -> register @challenger -> compare with @champion on the newest window.

    Returns the registration (run id, version, aliases), the decision and its figures, the
    window (first and last snapshot, tickets, snapshots) and the training-set summary.
    """
    from mlflow.tracking import MlflowClient

    from models.registry import FeatureSetMismatch, champion_version, load_registered
    from training.tracking import log_and_register
    from training.train import train_model

    table = build_feature_table(training_set.data, scorer, SignalCache(default_cache_path(scorer)))
    table = table[table["ticket_id"].isin(training_set.labelled)].reset_index(drop=True)
    if table.empty:
        raise ValueError("no ticket has a known outcome at the cut-off: nothing to train on")
    result = train_model(table, cfg)
    client = MlflowClient()
    champ = champion_version(model_name)  # before registering: the one to beat
    reg = log_and_register(
        result,
        cfg,
        raw_config,
        table,
        training_set.data.digest(),
        data_source,
        getattr(scorer, "version", None),
        model_name,
        compare=False,
    )
    test = table[(result.split == "test").to_numpy()].reset_index(drop=True)
    y = test["label"].to_numpy()
    p_new = result.test_predictions["p"].to_numpy()
    p_old = None
    note = None
    if champ is not None:
        try:
            p_old = load_registered(f"models:/{model_name}/{champ}").predict_proba(test)
        except FeatureSetMismatch as err:
            note = f"champion v{champ} cannot be served by this code ({err})"
    promote, reason, figures = promotion_decision(y, p_new, p_old, settings)
    if note:
        reason = f"{note}: {reason}"
    if promote:
        client.set_registered_model_alias(model_name, "champion", reg["version"])
    window = {
        "start": test["as_of"].min().isoformat(),
        "end": test["as_of"].max().isoformat(),
        "tickets": int(test["ticket_id"].nunique()),
        "snapshots": len(test),
    }
    run = reg["run_id"]
    for k, v in figures.items():
        if np.isfinite(v):
            client.log_metric(run, f"retrain.{k}", v)
    client.log_metric(run, "retrain.promoted", float(promote))
    client.log_metric(run, "retrain.window_tickets", window["tickets"])
    client.log_metric(run, "retrain.window_snapshots", window["snapshots"])
    tags = {
        "retrain.decision": reason,
        "retrain.window_start": window["start"],
        "retrain.window_end": window["end"],
        "retrain.cutoff": training_set.cutoff.isoformat(),
        "retrain.horizon_days": str(settings.horizon_days),
        "retrain.champion_before": champ or "none",
    }
    for k, v in tags.items():
        client.set_tag(run, k, v)
    client.log_dict(run, training_set.summary, "retrain_summary.json")
    aliases = ["challenger", "champion"] if promote else ["challenger"]
    log.info("retrained v%s: %s", reg["version"], reason)
    return {
        **reg,
        "aliases": aliases,
        "promoted": promote,
        "promotion": reason,
        "champion_before": champ,
        "figures": {k: (round(v, 4) if np.isfinite(v) else None) for k, v in figures.items()},
        "window": window,
        "training_set": training_set.summary,
        "sizes": result.evaluation["sizes"],
    }
