"""The batch scoring job: every open ticket scored by the registered model and its policy.

The nightly "score every open ticket" run: one snapshot per open ticket, at its latest event or
at a given instant, through the same feature code as training and serving, then the registered
version's calibrated probability and its policy's band and action (the tuned policy where the
version has one, as the service uses; else the bundled one). Locally or on a Dask cluster, with
the same rows.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.build import build_features, escalation_history
from features.context import FeatureContext
from features.engine import (
    ClusterSpec,
    PartitionedData,
    ScorerSpec,
    open_client,
    signal_cache,
)
from features.schema import DataValidationError, SupportData, read_dataset
from features.text import SignalCache, attach_text_signals
from models.classifier import CalibratedBooster
from models.policy import ThresholdPolicy

log = logging.getLogger(__name__)

# The columns of the scores file, in order (then one bool column per trigger, fired.<name>).
SCORE_COLUMNS = (
    "ticket_id",
    "account_id",
    "as_of",
    "team",
    "probability",
    "band",
    "action",
    "decision",
    "executive",
    "triggers",
)


def open_snapshots(
    events: pd.DataFrame,
    tickets: pd.DataFrame,
    outcomes: pd.DataFrame | None,
    as_of: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """One scoring moment (ticket_id, as_of) per ticket open at ``as_of``.

    Open: the ticket has an event at or before the moment, no "closed" status change at or
    before it and, where outcomes are known, no escalation at or before it (that question is
    answered). The moment is ``as_of`` (inclusive; UTC) or, when None, the ticket's latest event.
    Ordered by ticket_id.
    """
    ev = events[["ticket_id", "ts", "event_type", "status"]]
    if as_of is not None:
        ev = ev[(ev["ts"] <= as_of).to_numpy()]
    closing = (ev["event_type"] == "status_change") & (ev["status"] == "closed")
    closed = set(ev.loc[closing, "ticket_id"])
    latest = ev.groupby("ticket_id", sort=True)["ts"].max()
    snaps = pd.DataFrame({"ticket_id": latest.index.to_numpy(dtype=object), "as_of": latest})
    if as_of is not None:
        snaps["as_of"] = pd.Timestamp(as_of)
    snaps = snaps.reset_index(drop=True)
    snaps["as_of"] = snaps["as_of"].astype(events["ts"].dtype)
    keep = ~snaps["ticket_id"].isin(closed).to_numpy()
    if outcomes is not None:
        esc = snaps["ticket_id"].map(outcomes.set_index("ticket_id")["escalated_at"])
        keep &= (esc.isna() | (esc > snaps["as_of"])).to_numpy()
    known = snaps["ticket_id"].isin(tickets["ticket_id"]).to_numpy()
    return snaps[keep & known].reset_index(drop=True)


def decide(
    feats: pd.DataFrame,
    tickets: pd.DataFrame,
    model: CalibratedBooster,
    policy: ThresholdPolicy,
) -> pd.DataFrame:
    """The scores file's rows for feature rows: probability, band, action (see SCORE_COLUMNS)."""
    p = model.predict_proba(feats)
    d = policy.decide_frame(p, feats.reset_index(drop=True))
    fired = [c for c in d.columns if c.startswith("fired.")]
    names = np.array([c.removeprefix("fired.") for c in fired], dtype=object)
    hits = d[fired].to_numpy(dtype=bool) if fired else np.zeros((len(d), 0), dtype=bool)
    out = pd.DataFrame(
        {
            "ticket_id": feats["ticket_id"].to_numpy(dtype=object),
            "account_id": feats["ticket_id"]
            .map(tickets.set_index("ticket_id")["account_id"])
            .to_numpy(dtype=object),
            "as_of": feats["as_of"].to_numpy(),
            "team": feats["team"].to_numpy(dtype=object),
            "probability": p,
            "band": d["band"].to_numpy(dtype=object),
            "action": d["action"].to_numpy(dtype=object),
            "decision": d["decision"].to_numpy(dtype=object),
            "executive": d["executive"].to_numpy(dtype=bool),
            "triggers": [",".join(names[row]) for row in hits],
        }
    )
    for c in fired:
        out[c] = d[c].to_numpy(dtype=bool)
    out["as_of"] = pd.to_datetime(out["as_of"], utc=True)
    return out


def _part_scores(
    part: SupportData,
    context: FeatureContext,
    model: CalibratedBooster,
    policy: ThresholdPolicy,
    as_of: pd.Timestamp | None,
) -> pd.DataFrame | None:
    """One partition's scores (on its worker); None when it has no open ticket."""
    snaps = open_snapshots(part.events, part.tickets, part.outcomes, as_of)
    if snaps.empty:
        return None
    feats = build_features(
        part.accounts, part.tickets, part.events, snaps, context=context, n_jobs=1
    )
    return decide(feats, part.tickets, model, policy)


def score_local(
    data: SupportData,
    scorer,
    model: CalibratedBooster,
    policy: ThresholdPolicy,
    as_of: pd.Timestamp | None = None,
    cache: SignalCache | None = None,
) -> pd.DataFrame:
    """Scores of every open ticket, in one process (ordered by ticket_id)."""
    events = attach_text_signals(data.events, scorer, cache)
    snaps = open_snapshots(events, data.tickets, data.outcomes, as_of)
    if snaps.empty:
        return pd.DataFrame(columns=list(SCORE_COLUMNS))
    history = escalation_history(data.outcomes, data.tickets)
    feats = build_features(data.accounts, data.tickets, events, snaps, history)
    return decide(feats, data.tickets, model, policy)


def score_distributed(
    data: PartitionedData,
    spec: ScorerSpec | None,
    model: CalibratedBooster,
    policy: ThresholdPolicy,
    as_of: pd.Timestamp | None = None,
    cache: SignalCache | None = None,
) -> pd.DataFrame:
    """score_local on a Dask cluster: each partition scored where it lives (same rows)."""
    client = data.client
    data.attach_text(spec, cache)
    ctx = data.context()
    model_f, policy_f = client.scatter([model, policy], broadcast=True)
    parts = client.gather(data.map(_part_scores, ctx, model_f, policy_f, as_of))
    parts = [p for p in parts if p is not None]
    if not parts:
        return pd.DataFrame(columns=list(SCORE_COLUMNS))
    return pd.concat(parts, ignore_index=True).sort_values(
        "ticket_id", kind="stable", ignore_index=True
    )


def _write(scores: pd.DataFrame, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".csv":
        scores.to_csv(out, index=False)
    else:
        scores.to_parquet(out, index=False)


def run_scoring(
    data_dir: Path,
    out: Path,
    model_uri: str,
    as_of: pd.Timestamp | None = None,
    engine: str = "local",
    cluster: ClusterSpec | None = None,
) -> dict[str, Any]:
    """Score a data folder's open tickets with a registered version and write the file
    (``.csv``, else Parquet); return a summary.

    Raises:
        ValueError: bad data (naming file, row and column) or a model of another feature set.
    """
    from models.registry import load_policy, load_registered, parse_model_uri

    started = time.perf_counter()
    reg = load_registered(model_uri)
    policy = load_policy(parse_model_uri(model_uri).name, str(reg.version)) or reg.policy
    text_model = reg.metadata.get("text_model")
    installed = None
    if text_model:
        from models.text_scorer import TransformerTextScorer, artifacts_version

        installed = artifacts_version()
        if installed != text_model:
            log.warning("model trained with text model %s, scoring with %s", text_model, installed)
    cache = signal_cache(installed)  # the signals of the scorer that runs, as run_evaluation
    try:
        if engine == "dask":
            spec = ScorerSpec(TransformerTextScorer, installed) if installed else None
            with open_client(cluster or ClusterSpec()) as client:
                scores = score_distributed(
                    PartitionedData(client, data_dir), spec, reg.model, policy, as_of, cache
                )
        else:
            scorer = TransformerTextScorer() if installed else None
            scores = score_local(read_dataset(data_dir), scorer, reg.model, policy, as_of, cache)
    except DataValidationError as err:
        raise ValueError(str(err)) from None
    _write(scores, out)
    counts = scores["action"].value_counts().to_dict() if len(scores) else {}
    return {
        "out": str(out),
        "engine": engine,
        "model": {"uri": model_uri, "version": reg.version, "policy_version": policy.version},
        "as_of": None if as_of is None else as_of.isoformat(),
        "tickets_scored": len(scores),
        "actions": {k: int(v) for k, v in sorted(counts.items())},
        "seconds": round(time.perf_counter() - started, 1),
    }
