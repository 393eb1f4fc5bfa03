"""MLflow: tracking setup, run logging, plots, model registration and champion promotion.

Embedded default: a SQLite tracking store ``./mlflow.db`` and artifacts under ``./mlartifacts``
(both git-ignored). Set ``MLFLOW_TRACKING_URI`` to use a tracking server instead.
"""

from __future__ import annotations

import json
import logging
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.registry import CATEGORICAL, FEATURE_NAMES, FEATURE_SET_VERSION
from models.registry import (
    POLICY_VERSION_TAG,
    FeatureSetMismatch,
    champion_version,
    configure_tracking,
    load_registered,
)

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[1]
# What the pyfunc model needs at load time (it never needs torch).
PIP_REQUIREMENTS = [
    "lightgbm==4.7.0",
    "mlflow==3.17.2",
    "numpy==2.4.6",
    "pandas==3.1.1",
    "pyarrow==25.0.1",
    "scikit-learn==1.9.1",
]


def git_sha() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=5
        )
        sha = out.stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True, timeout=5
        ).stdout.strip()
        return (sha + ("-dirty" if dirty else "")) if sha else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _flat_metrics(evaluation: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for scorer, metrics in evaluation["scorers"].items():
        for k, v in metrics.items():
            if isinstance(v, int | float) and np.isfinite(v):
                out[f"{scorer}.{k}"] = float(v)
    # The whole policy (probability bands and triggers) and each trigger, ticket level.
    for k, v in evaluation.get("policy", {}).items():
        if isinstance(v, int | float) and np.isfinite(v):
            out[f"policy.{k}"] = float(v)
    for name, metrics in evaluation.get("triggers", {}).items():
        for k, v in metrics.items():
            if isinstance(v, int | float) and np.isfinite(v):
                out[f"trigger.{name.replace(' ', '_')}.{k}"] = float(v)
    if "ceiling" in evaluation:
        c = evaluation["ceiling"]
        for k in ("pr_auc_ratio", "log_loss_ratio"):
            out[f"ceiling.{k}"] = float(c[k])
        for k, v in c["ceiling"].items():
            out[f"ceiling.{k}"] = float(v)
    return out


def _plots(result, table_test: pd.DataFrame, folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve

    from training.evaluate import alert_metrics, reliability

    preds = result.test_predictions
    y, p = preds["label"].to_numpy(), preds["p"].to_numpy()
    files = []

    fig, ax = plt.subplots(figsize=(5, 4))
    prec, rec, _ = precision_recall_curve(y, p)
    ax.plot(rec, prec, label="model")
    r = result.evaluation["scorers"]["rules"]
    ax.scatter([r["ticket_recall"]], [r["ticket_precision"]], color="red", label="rules (ticket)")
    ax.set(xlabel="recall", ylabel="precision", title="Precision-recall (test snapshots)")
    ax.legend()
    files.append(folder / "pr_curve.png")
    fig.savefig(files[-1], dpi=110, bbox_inches="tight")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 4))
    rel = reliability(y, p)
    ax.plot([0, 1], [0, 1], "--", color="grey")
    ax.plot(rel["mean_predicted"], rel["observed"], "o-")
    ax.set(xlabel="predicted probability", ylabel="observed rate", title="Reliability (10 bins)")
    files.append(folder / "reliability.png")
    fig.savefig(files[-1], dpi=110, bbox_inches="tight")
    plt.close(fig)

    grid = np.unique(np.quantile(p, np.linspace(0.5, 0.999, 40)))
    rows = [alert_metrics(table_test, p, t) for t in grid]
    fig, ax1 = plt.subplots(figsize=(6, 4))
    ax1.plot(grid, [m["ticket_precision"] for m in rows], label="precision")
    ax1.plot(grid, [m["ticket_recall"] for m in rows], label="recall")
    ax2 = ax1.twinx()
    ax2.plot(grid, [m["alerts_per_day"] for m in rows], color="grey", ls=":", label="alerts/day")
    ax1.axvline(result.policy.escalate, color="red", lw=0.8)
    ax1.set(xlabel="threshold", title="Ticket alerts vs threshold")
    ax2.set_ylabel("alerts per day")
    ax1.legend(loc="center right")
    files.append(folder / "threshold_curves.png")
    fig.savefig(files[-1], dpi=110, bbox_inches="tight")
    plt.close(fig)

    contrib = result.model.contributions(table_test.iloc[: min(len(table_test), 5000)])
    mean_abs = pd.Series(np.abs(contrib[:, :-1]).mean(axis=0), index=FEATURE_NAMES)
    top = mean_abs.sort_values().tail(20)
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.barh(top.index, top.to_numpy())
    ax.set(xlabel="mean |TreeSHAP contribution| (log-odds)", title="Feature contributions")
    files.append(folder / "feature_contributions.png")
    fig.savefig(files[-1], dpi=110, bbox_inches="tight")
    plt.close(fig)
    mean_abs.sort_values(ascending=False).to_csv(folder / "feature_contributions.csv")
    files.append(folder / "feature_contributions.csv")
    return files


def _input_example(table_test: pd.DataFrame) -> pd.DataFrame:
    ex = table_test[list(FEATURE_NAMES)].head(5).copy()
    for c in FEATURE_NAMES:
        # Numbers as float64 (missing values are normal), categories as plain strings.
        ex[c] = ex[c].astype(object) if c in CATEGORICAL else ex[c].astype("float64")
    return ex


def log_and_register(
    result,
    cfg,
    raw_config: dict[str, Any],
    table: pd.DataFrame,
    data_digest: str,
    data_source: str,
    text_model: str | None,
    model_name: str,
    force_promote: bool = False,
    compare: bool = True,
) -> dict[str, Any]:
    """Log one training run, register its model as @challenger, promote to @champion if better.

    ``compare=False`` stops at @challenger: the caller decides on the promotion (the retraining
    job compares with a margin, training/retrain.py).
    """
    import mlflow
    from mlflow.models import infer_signature
    from mlflow.tracking import MlflowClient

    uri = configure_tracking()
    test = table[(result.split == "test").to_numpy()].reset_index(drop=True)
    with mlflow.start_run() as run, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        mlflow.log_params(
            {
                "feature_set_version": FEATURE_SET_VERSION,
                "data_digest": data_digest,
                "git_sha": git_sha(),
                "text_model": text_model or "none",
                "calibration": result.evaluation["calibration_method"],
                "best_iteration": result.evaluation["best_iteration"],
                **{f"lgb.{k}": v for k, v in result.params.items()},
            }
        )
        mlflow.set_tags({"feature_set_version": FEATURE_SET_VERSION, "data_digest": data_digest})
        dataset = mlflow.data.from_pandas(
            table[["ticket_id", "as_of", "label"]].head(1000),
            source=data_source,
            name=f"snapshots-{data_digest}",
            targets="label",
        )
        mlflow.log_input(dataset, context="training")
        mlflow.log_dict(raw_config, "config.yaml")
        mlflow.log_metrics(_flat_metrics(result.evaluation))
        mlflow.log_dict(result.evaluation, "evaluation.json")
        result.slices.to_csv(folder / "slices.csv", index=False)
        mlflow.log_artifact(str(folder / "slices.csv"))
        triggers = pd.DataFrame.from_dict(result.evaluation.get("triggers", {}), orient="index")
        triggers.rename_axis("trigger").to_csv(folder / "triggers.csv")
        mlflow.log_artifact(str(folder / "triggers.csv"))
        pd.DataFrame(result.trials).to_csv(folder / "search_trials.csv", index=False)
        mlflow.log_artifact(str(folder / "search_trials.csv"))
        result.test_predictions.to_parquet(folder / "test_predictions.parquet", index=False)
        mlflow.log_artifact(str(folder / "test_predictions.parquet"))
        for f in _plots(result, test, folder):
            mlflow.log_artifact(str(f), "plots")

        booster, calib = folder / "booster.txt", folder / "calibrator.json"
        result.model.save(str(booster), str(calib))
        (folder / "policy.json").write_text(result.policy.to_json())
        metadata = {
            "feature_set_version": FEATURE_SET_VERSION,
            "features": list(FEATURE_NAMES),
            "text_model": text_model,
            "data_digest": data_digest,
            "split": cfg.split.model_dump(),
            "rules": cfg.evaluation.rules.model_dump(),
        }
        (folder / "metadata.json").write_text(json.dumps(metadata, indent=2))
        example = _input_example(test)
        out = result.model.predict_proba(example)
        signature = infer_signature(
            example,
            pd.DataFrame(
                {
                    "probability": out,
                    "decision": ["none"] * len(out),
                    "executive": [False] * len(out),
                }
            ),
        )
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(REPO / "models" / "pyfunc_entry.py"),
            artifacts={
                "booster": str(booster),
                "calibrator": str(calib),
                "policy": str(folder / "policy.json"),
                "metadata": str(folder / "metadata.json"),
            },
            code_paths=[str(REPO / "features"), str(REPO / "models")],
            signature=signature,
            input_example=example,
            pip_requirements=PIP_REQUIREMENTS,
            registered_model_name=model_name,
        )
        version = str(info.registered_model_version)
    client = MlflowClient()
    client.set_model_version_tag(model_name, version, POLICY_VERSION_TAG, result.policy.version)
    client.set_registered_model_alias(model_name, "challenger", version)
    promoted, reason = False, "left to the caller"
    if compare or force_promote:
        promoted, reason = promote_if_better(
            client,
            model_name,
            version,
            test,
            result.test_predictions["p"].to_numpy(),
            force=force_promote,
        )
    return {
        "tracking_uri": uri,
        "run_id": run.info.run_id,
        "model": model_name,
        "version": version,
        "aliases": ["challenger", "champion"] if promoted else ["challenger"],
        "promotion": reason,
    }


def promote_if_better(
    client,
    name: str,
    version: str,
    test: pd.DataFrame,
    p_new: np.ndarray,
    force: bool = False,
) -> tuple[bool, str]:
    """Make ``version`` champion only when it beats the current champion on this test slice.

    ``test`` holds the test slice's feature rows and labels, ``p_new`` the new version's
    probabilities for them; ``client`` is an ``MlflowClient``. Returns (promoted?, reason).

    Promotes when there is no champion, when the champion was built on another feature set
    (this code can neither score nor serve it), when ``force`` is set, or on a higher PR-AUC.
    Any other failure (registry unreachable, artifacts missing) keeps the challenger and says
    why: a comparison that did not run is never a reason to replace a working champion.
    """
    from sklearn.metrics import average_precision_score

    def promote(reason: str) -> tuple[bool, str]:
        client.set_registered_model_alias(name, "champion", version)
        return True, reason

    if force:
        return promote("--promote given: promoted without comparison")
    try:
        champ = champion_version(name)
    except Exception as err:
        return False, f"cannot read the champion alias ({_short(err)}): kept challenger"
    if champ is None:
        return promote("no champion before: promoted")
    try:
        p_old = load_registered(f"models:/{name}/{champ}").predict_proba(test)
    except FeatureSetMismatch as err:
        return promote(f"champion v{champ} cannot be served by this code ({err}): promoted")
    except Exception as err:
        return False, f"cannot score champion v{champ} ({_short(err)}): kept challenger"
    y = test["label"].to_numpy()
    new_ap = average_precision_score(y, p_new)
    old_ap = average_precision_score(y, p_old)
    if new_ap > old_ap:
        return promote(f"PR-AUC {new_ap:.4f} > champion v{champ} {old_ap:.4f}: promoted")
    return False, f"PR-AUC {new_ap:.4f} <= champion v{champ} {old_ap:.4f}: kept challenger"


def _short(err: BaseException) -> str:
    text = str(err).strip()
    return (text.splitlines()[0] if text else type(err).__name__)[:200]
