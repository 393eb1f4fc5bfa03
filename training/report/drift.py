"""Drift of a registered model's inputs and score, and its alert precision over time.

The reference is the model's training window (the ``train`` slice of its own split): stored with
the model version by :func:`attach_reference` (``escalation-risk drift-reference``), which the
service reads; the report uses the stored one and, for a version without one, recomputes it from
the same window of the data it is given (and says so). Recent traffic = the snapshots of one
month. PSI per feature and of the score: ``models.drift``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.pipeline import build_feature_table, default_cache_path
from features.registry import CATEGORICAL, FEATURE_NAMES
from features.schema import read_dataset
from features.text import SignalCache
from models.drift import (
    PSI_LOOK,
    PSI_RETRAIN,
    REFERENCE_ARTIFACT,
    REFERENCE_TAG,
    SCORE,
    DriftReference,
    build_reference,
    drift_table,
    load_reference,
    overall_status,
)
from training.report.metrics import default_month

log = logging.getLogger(__name__)


def _month(ts: pd.Series) -> pd.Series:
    return pd.to_datetime(ts, utc=True).dt.strftime("%Y-%m")


def ticket_weights(table: pd.DataFrame) -> np.ndarray:
    """1 / (the ticket's snapshots in ``table``): each ticket counts once in a distribution.

    Snapshots of one ticket are strongly alike; counted one by one, a few long tickets would
    move the shares (and the PSI) as much as a real shift does.
    """
    n = table.groupby("ticket_id")["ticket_id"].transform("size")
    return 1.0 / n.to_numpy(dtype="float64")


def reference_from_table(table: pd.DataFrame, p: np.ndarray, source: str) -> DriftReference:
    """The reference of feature rows ``table`` (with ticket_id, ``as_of``) and their scores
    ``p``; each ticket weighs 1."""
    return build_reference(
        table,
        FEATURE_NAMES,
        CATEGORICAL,
        score=p,
        weights=ticket_weights(table),
        window={
            "start": str(table["as_of"].min()),
            "end": str(table["as_of"].max()),
            "rows": int(len(table)),
            "tickets": int(table["ticket_id"].nunique()),
            "source": source,
        },
    )


def compare_windows(
    reference: DriftReference, recent: pd.DataFrame, p_recent: np.ndarray, label: str
) -> dict[str, Any]:
    """PSI of every feature and of the score, ``recent`` against ``reference`` (each ticket
    weighs 1)."""
    frame = recent.assign(**{SCORE: p_recent})
    table = drift_table(reference, frame, ticket_weights(recent))
    score = next((r for r in table if r["column"] == SCORE), None)
    return {
        "reference": reference.window,
        "recent": {
            "label": label,
            "rows": int(len(recent)),
            "tickets": int(recent["ticket_id"].nunique()),
        },
        "thresholds": {"look": PSI_LOOK, "retrain": PSI_RETRAIN},
        "status": overall_status(table),
        "score_psi": score["psi"] if score else None,
        "retrain": [r["column"] for r in table if r["status"] == "retrain"],
        "look": [r["column"] for r in table if r["status"] == "look"],
        "columns": table,
    }


def alert_precision_by_month(
    table: pd.DataFrame, p: np.ndarray, threshold: float
) -> list[dict[str, Any]]:
    """Ticket-level alert precision per month of the first alert.

    A ticket is alerted at its first snapshot with ``p >= threshold``; the alert is right when
    the ticket escalates after that snapshot (``label`` of that row is 1). ``table`` needs
    ticket_id, as_of and label.
    """
    rows = table[["ticket_id", "as_of", "label"]].assign(p=p)
    first = rows[rows["p"] >= threshold].sort_values("as_of").drop_duplicates("ticket_id")
    out = []
    for month, g in first.groupby(_month(first["as_of"]), sort=True):
        hits = int(g["label"].sum())
        out.append(
            {
                "month": month,
                "alerts": int(len(g)),
                "right": hits,
                "precision": round(hits / len(g), 4) if len(g) else None,
            }
        )
    return out


def drift_section(
    model_uri: str, data_dir: str | Path, month: str | None = None
) -> dict[str, Any]:
    """The report's drift section for a registered model on a data folder.

    Raises:
        ValueError: bad data, an unknown model, or a month without snapshots.
    """
    from models.registry import load_registered, parse_model_uri
    from training.config import SplitConfig
    from training.train import time_split

    reg = load_registered(model_uri)
    data = read_dataset(data_dir)
    scorer = None
    if reg.metadata.get("text_model"):
        from models.text_scorer import TransformerTextScorer

        scorer = TransformerTextScorer()
    table = build_feature_table(data, scorer, SignalCache(default_cache_path(scorer)))
    p = reg.predict_proba(table)
    name = parse_model_uri(model_uri).name
    reference = load_reference(name, str(reg.version))
    if reference is None:
        which = time_split(table, SplitConfig(**reg.metadata["split"]))
        train = (which == "train").to_numpy()
        reference = reference_from_table(
            table[train],
            p[train],
            f"recomputed from the training window of {data_dir} (v{reg.version} stores none)",
        )
    months = _month(table["as_of"])
    month = month or default_month(months)
    recent = (months == month).to_numpy()
    if not recent.any():
        raise ValueError(f"no snapshot in {month}")
    out = compare_windows(reference, table[recent], p[recent], f"snapshots of {month}")
    out["model"] = {"uri": model_uri, "version": reg.version}
    out["alert_precision"] = (
        alert_precision_by_month(table, p, reg.policy.escalate) if "label" in table else []
    )
    return out


def attach_reference(model_uri: str, data_dir: str | Path) -> dict[str, Any]:
    """Compute the training-window reference of a registered version on the data it was
    trained on and store it with the version (artifact ``drift/reference.json`` of its run,
    tag ``drift_reference``), where the service reads it."""
    from mlflow.tracking import MlflowClient

    from models.registry import configure_tracking, load_registered, parse_model_uri
    from training.config import SplitConfig
    from training.train import time_split

    configure_tracking()
    reg = load_registered(model_uri)
    data = read_dataset(data_dir)
    scorer = None
    if reg.metadata.get("text_model"):
        from models.text_scorer import TransformerTextScorer

        scorer = TransformerTextScorer()
    table = build_feature_table(data, scorer, SignalCache(default_cache_path(scorer)))
    if data.digest() != reg.metadata.get("data_digest"):
        log.warning("%s is not the data %s was trained on", data_dir, model_uri)
    which = time_split(table, SplitConfig(**reg.metadata["split"]))
    train = (which == "train").to_numpy()
    p = reg.predict_proba(table[train])
    reference = reference_from_table(table[train], p, f"training window of {model_uri}")
    name = parse_model_uri(model_uri).name
    client = MlflowClient()
    mv = client.get_model_version(name, str(reg.version))
    client.log_text(mv.run_id, reference.to_json(), REFERENCE_ARTIFACT)
    client.set_model_version_tag(name, str(reg.version), REFERENCE_TAG, REFERENCE_ARTIFACT)
    return {"model": name, "version": reg.version, **reference.window}
