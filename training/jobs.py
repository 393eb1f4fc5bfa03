"""The train and evaluate jobs behind the CLI: data folder in, MLflow run and tables out."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.pipeline import build_feature_table, default_cache_path
from features.schema import DataValidationError, read_dataset
from features.text import SignalCache, TextScorer
from training.config import SplitConfig, TrainConfig
from training.evaluate import compare, slice_table

log = logging.getLogger(__name__)


def _read(data_dir: Path):
    try:
        return read_dataset(data_dir)
    except DataValidationError as err:
        raise ValueError(str(err)) from None


def _truth(data_dir: Path) -> pd.DataFrame | None:
    path = Path(data_dir) / "ground_truth.parquet"
    return pd.read_parquet(path) if path.exists() else None


def run_training(
    data_dir: Path,
    cfg: TrainConfig,
    raw_config: dict[str, Any],
    model_name: str,
    scorer: TextScorer | None,
    force_promote: bool = False,
) -> dict[str, Any]:
    """Features -> train -> evaluate -> MLflow run -> registered version (and maybe champion).

    ``force_promote`` makes the new version champion without the comparison.
    """
    from training.tracking import log_and_register
    from training.train import train_model

    started = time.perf_counter()
    data = _read(data_dir)
    if data.outcomes is None:
        raise ValueError(f"{data_dir}: training needs outcomes.parquet (the labels)")
    table = build_feature_table(data, scorer, SignalCache(default_cache_path(scorer)))
    feat_s = time.perf_counter() - started
    result = train_model(table, cfg, _truth(data_dir))
    train_s = time.perf_counter() - started - feat_s
    reg = log_and_register(
        result,
        cfg,
        raw_config,
        table,
        data.digest(),
        str(Path(data_dir).resolve()),
        getattr(scorer, "version", None),
        model_name,
        force_promote=force_promote,
    )
    ev = result.evaluation
    return {
        **reg,
        "feature_seconds": round(feat_s, 1),
        "train_seconds": round(train_s, 1),
        "sizes": ev["sizes"],
        "calibration": ev["calibration_method"],
        "test": {k: ev["scorers"]["model"][k] for k in ("pr_auc", "roc_auc", "log_loss", "ece")},
        "policy_version": result.policy.version,
    }


def run_evaluation(model_uri: str, data_dir: Path, split: str) -> dict[str, Any]:
    """The evaluation table of a registered model on a data folder."""
    from models.registry import load_registered
    from training.config import RulesConfig
    from training.train import fit_logistic, predict_logistic, time_split

    reg = load_registered(model_uri)
    data = _read(data_dir)
    if data.outcomes is None:
        raise ValueError(f"{data_dir}: evaluation needs outcomes.parquet (the labels)")
    scorer = None
    if reg.metadata.get("text_model"):
        from models.text_scorer import TransformerTextScorer

        scorer = TransformerTextScorer()
        if scorer.version != reg.metadata["text_model"]:
            log.warning(
                "model trained with text model %s, scoring with %s",
                reg.metadata["text_model"],
                scorer.version,
            )
    table = build_feature_table(data, scorer, SignalCache(default_cache_path(scorer)))
    scores: dict[str, np.ndarray] = {}
    if split == "test":
        which = time_split(table, SplitConfig(**reg.metadata["split"]))
        train = table[(which == "train").to_numpy()]
        rows = table[(which == "test").to_numpy()].reset_index(drop=True)
        if train["label"].sum() > 0:
            lr = fit_logistic(train, train["label"].to_numpy(), train["weight"].to_numpy(), 0)
            scores["logistic_regression"] = predict_logistic(lr, rows)
    else:
        rows = table.reset_index(drop=True)
    if rows["label"].sum() == 0:
        raise ValueError("the evaluation rows hold no escalation; use more data")
    scores = {"model": reg.predict_proba(rows), **scores}
    truth = _truth(data_dir)
    truth_col = None
    if truth is not None:
        truth_col = rows[["ticket_id", "as_of"]].merge(
            truth, on=["ticket_id", "as_of"], how="left"
        )["p_true"]
    rules = RulesConfig(**reg.metadata["rules"])
    out = compare(rows, scores, reg.policy.escalate, rules, truth=truth_col)
    out["model"] = {"uri": model_uri, "version": reg.version, "policy_version": reg.policy.version}
    out["split"] = split
    out["slices"] = slice_table(rows, scores["model"], reg.policy.escalate).to_dict("records")
    return out


def format_table(result: dict[str, Any]) -> str:
    """A plain-text rendering of the evaluation for the terminal."""
    keys = [
        "pr_auc",
        "roc_auc",
        "log_loss",
        "brier",
        "ece",
        "workload_reduction_at_80_recall",
        "recall_at_10_alerts_per_day",
        "ticket_precision",
        "ticket_recall",
        "median_lead_time_h",
    ]
    lines = [
        f"model {result['model']['uri']} (version {result['model']['version']}, "
        f"policy {result['model']['policy_version']}), split: {result['split']}"
    ]
    names = list(result["scorers"])
    lines.append(f"{'metric':<34}" + "".join(f"{n:>22}" for n in names))
    for k in keys:
        vals = [result["scorers"][n].get(k) for n in names]
        if all(v is None for v in vals):
            continue
        lines.append(
            f"{k:<34}"
            + "".join(f"{v:>22.4f}" if isinstance(v, float) else f"{'-':>22}" for v in vals)
        )
    m = result["scorers"]["model"]
    lines.append(
        f"model at policy threshold {m['policy_threshold']:.4f}: ticket precision "
        f"{m['policy_ticket_precision']:.3f}, recall {m['policy_ticket_recall']:.3f}, "
        f"{m['policy_alerts_per_day']:.1f} alerts/day, median lead "
        f"{m['policy_median_lead_time_h']:.1f} h"
    )
    lines.append(
        f"precision at the rules' recall: {m['precision_at_rules_recall']:.3f} "
        f"({m['precision_ratio_vs_rules']:.2f}x the rules)"
    )
    if "ceiling" in result:
        c = result["ceiling"]
        lines.append(
            f"ceiling on {c['rows']} rows: PR-AUC model {c['model']['pr_auc']:.4f} vs true "
            f"{c['ceiling']['pr_auc']:.4f} (ratio {c['pr_auc_ratio']:.3f}); log-loss "
            f"{c['model']['log_loss']:.4f} vs {c['ceiling']['log_loss']:.4f} "
            f"(ratio {c['log_loss_ratio']:.3f})"
        )
    return "\n".join(lines)
