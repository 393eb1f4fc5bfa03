"""MLflow: tracking setup, run logging, plots, model registration and champion promotion.

Embedded default: a SQLite tracking store ``./mlflow.db`` and artifacts under ``./mlartifacts``
(both git-ignored). Set ``MLFLOW_TRACKING_URI`` to use a tracking server instead.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.registry import CATEGORICAL, FEATURE_NAMES, FEATURE_SET_VERSION

log = logging.getLogger(__name__)
EXPERIMENT = "escalation-risk"
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


def configure_tracking() -> str:
    """Point MLflow at $MLFLOW_TRACKING_URI or the embedded SQLite store; return the URI."""
    import mlflow

    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    uri = os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    if mlflow.get_experiment_by_name(EXPERIMENT) is None:
        location = None
        if uri.startswith("sqlite:"):
            location = (Path.cwd() / "mlartifacts").resolve().as_uri()
        mlflow.create_experiment(EXPERIMENT, artifact_location=location)
    mlflow.set_experiment(EXPERIMENT)
    return uri


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
) -> dict[str, Any]:
    """Log one training run, register its model as @challenger, promote to @champion if better."""
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
    client.set_model_version_tag(model_name, version, "policy_version", result.policy.version)
    client.set_registered_model_alias(model_name, "challenger", version)
    promoted, reason = _maybe_promote(client, model_name, version, test, result)
    return {
        "tracking_uri": uri,
        "run_id": run.info.run_id,
        "model": model_name,
        "version": version,
        "aliases": ["challenger", "champion"] if promoted else ["challenger"],
        "promotion": reason,
    }


def _maybe_promote(
    client, name: str, version: str, test: pd.DataFrame, result
) -> tuple[bool, str]:
    """Champion only if the new version beats the current one on this test slice (PR-AUC)."""
    from sklearn.metrics import average_precision_score

    try:
        champ = client.get_model_version_by_alias(name, "champion")
    except Exception:  # no champion yet (MLflow raises RestException)
        client.set_registered_model_alias(name, "champion", version)
        return True, "no champion before: promoted"
    try:
        old = load_registered(f"models:/{name}/{champ.version}")
        p_old = old.predict_proba(test)
    except Exception as err:  # incompatible feature set, missing artifacts, ...
        client.set_registered_model_alias(name, "champion", version)
        return True, f"champion v{champ.version} cannot score this data ({err}): promoted"
    y = test["label"].to_numpy()
    new_ap = average_precision_score(y, result.test_predictions["p"].to_numpy())
    old_ap = average_precision_score(y, p_old)
    if new_ap > old_ap:
        client.set_registered_model_alias(name, "champion", version)
        return True, f"PR-AUC {new_ap:.4f} > champion v{champ.version} {old_ap:.4f}: promoted"
    return False, f"PR-AUC {new_ap:.4f} <= champion v{champ.version} {old_ap:.4f}: kept challenger"


class RegisteredModel:
    """A registered version's artifacts, loaded without the pyfunc wrapper (serving, evaluate)."""

    def __init__(self, folder: Path, uri: str, version: str | None) -> None:
        from models.classifier import CalibratedBooster
        from models.policy import ThresholdPolicy

        self.uri, self.version = uri, version
        self.model = CalibratedBooster.load(
            str(folder / "booster.txt"), str(folder / "calibrator.json")
        )
        self.policy = ThresholdPolicy.from_json((folder / "policy.json").read_text())
        self.metadata = json.loads((folder / "metadata.json").read_text())
        if self.metadata["feature_set_version"] != FEATURE_SET_VERSION:
            raise ValueError(
                f"{uri} was trained on feature set {self.metadata['feature_set_version']}; "
                f"this code builds {FEATURE_SET_VERSION}"
            )

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.model.predict_proba(X)


def load_registered(uri: str) -> RegisteredModel:
    """Download a registered model's artifacts (``models:/NAME@ALIAS`` or ``models:/NAME/V``)."""
    import mlflow
    from mlflow.tracking import MlflowClient

    configure_tracking()
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))
    folder = local / "artifacts" if (local / "artifacts").exists() else local
    version = None
    if uri.startswith("models:/"):
        ref = uri.removeprefix("models:/")
        client = MlflowClient()
        if "@" in ref:
            name, alias = ref.split("@", 1)
            version = str(client.get_model_version_by_alias(name, alias).version)
        elif "/" in ref:
            version = ref.split("/", 1)[1]
    return RegisteredModel(folder, uri, version)
