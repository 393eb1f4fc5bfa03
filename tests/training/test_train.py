"""Training: time split, determinism, calibration export, policy, MLflow registry round trip."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.main import app
from features.pipeline import build_feature_table
from features.registry import FEATURE_NAMES, FEATURES, MONOTONE_CONSTRAINTS
from models.policy import Bands, ThresholdPolicy
from sources.synthetic.generate import GeneratorConfig, generate_dataset
from training.config import load_config
from training.train import _lgb_params, time_split, train_model

# Training runs register into an MLflow store on SQLite.
pytestmark = pytest.mark.mlflow

OVERRIDES = ["search.n_trials=2", "lightgbm.num_threads=1", "lightgbm.n_estimators=300"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, lexical_scorer):
    out = tmp_path_factory.mktemp("train-data")
    generate_dataset(
        GeneratorConfig(n_tickets=2500, seed=13, truth_fraction=0.3), out, progress=False
    )
    from features.schema import read_dataset

    data = read_dataset(out)
    table = build_feature_table(data, lexical_scorer)
    truth = pd.read_parquet(out / "ground_truth.parquet")
    cfg, raw = load_config(overrides=OVERRIDES)
    return out, data, table, truth, cfg, raw, train_model(table, cfg, truth)


def test_time_split_keeps_tickets_whole_and_ordered(trained):
    _, _, table, _, cfg, _, _ = trained
    split = time_split(table, cfg.split)
    assert (table.groupby("ticket_id")["as_of"].size() > 0).all()
    per_ticket = pd.Series(split.to_numpy()).groupby(table["ticket_id"].to_numpy()).nunique()
    assert (per_ticket == 1).all()
    first = table.groupby("ticket_id")["as_of"].min()
    which = pd.Series(split.to_numpy(), index=table["ticket_id"]).groupby(level=0).first()
    assert first[which == "train"].max() <= first[which == "calibration"].min()
    assert first[which == "calibration"].max() <= first[which == "test"].min()


def test_training_is_deterministic(trained):
    _, _, table, truth, cfg, _, result = trained
    again = train_model(table, cfg, truth)
    np.testing.assert_array_equal(
        result.test_predictions["p"].to_numpy(), again.test_predictions["p"].to_numpy()
    )
    assert result.policy.version == again.policy.version


def test_evaluation_table_has_baselines_and_ceiling(trained):
    *_, result = trained
    ev = result.evaluation
    assert set(ev["scorers"]) == {"model", "logistic_regression", "rules"}
    m = ev["scorers"]["model"]
    for key in (
        "pr_auc",
        "roc_auc",
        "log_loss",
        "brier",
        "ece",
        "workload_reduction_at_80_recall",
        "recall_at_10_alerts_per_day",
        "policy_median_lead_time_h",
        "precision_at_rules_recall",
    ):
        assert key in m
    assert 0 < m["pr_auc"] <= 1 and m["ece"] < 0.1
    assert ev["ceiling"]["rows"] > 100 and 0 < ev["ceiling"]["pr_auc_ratio"] <= 1.5
    assert set(result.slices["slice"]) == {"arr_tier", "strategic", "priority", "channel"}
    # The default policy carries the shipped triggers; their figures and the columns they read
    # come with the test predictions.
    names = [t.name for t in result.policy.triggers]
    assert set(names) <= set(ev["triggers"]) and "alerts_per_day" in ev["policy"]
    assert set(result.policy.feature_names()) <= set(result.test_predictions.columns)
    assert result.policy.source["bands"]["watch"]["share"] == load_config()[0].policy.watch_share
    assert ev["calibration_method"] in ("isotonic", "sigmoid")


def test_saved_booster_and_calibrator_reproduce_predictions(trained, tmp_path):
    from models.classifier import CalibratedBooster

    _, _, table, _, _, _, result = trained
    result.model.save(str(tmp_path / "b.txt"), str(tmp_path / "c.json"))
    loaded = CalibratedBooster.load(str(tmp_path / "b.txt"), str(tmp_path / "c.json"))
    rows = table.iloc[:500]
    np.testing.assert_allclose(loaded.predict_proba(rows), result.model.predict_proba(rows))
    json.loads((tmp_path / "c.json").read_text())  # plain JSON, no pickle


def test_policy_round_trip_and_decisions():
    pol = ThresholdPolicy(Bands(0.1, 0.3, 0.7), {"strategic": Bands(0.05, 0.2, 0.6)})
    again = ThresholdPolicy.from_json(pol.to_json())
    assert again == pol and again.version == pol.version
    assert pol.decide(0.25) == ("watch", False)
    assert pol.decide(0.25, strategic=True) == ("escalate", False)
    assert pol.decide(0.75) == ("escalate", True)
    assert pol.decide(0.01) == ("none", False)
    with pytest.raises(ValueError):
        Bands(0.5, 0.3, 0.7)
    tampered = json.loads(pol.to_json())
    tampered["default"]["escalate"] = 0.31
    with pytest.raises(ValueError, match="version"):
        ThresholdPolicy.from_json(json.dumps(tampered))


def test_config_overrides_are_validated():
    with pytest.raises(ValueError, match="unknown setting"):
        load_config(overrides=["lightgbm.nope=1"])
    with pytest.raises(ValueError):
        load_config(overrides=["split.train=0.9"])


def test_train_register_promote_and_evaluate(trained, tmp_path, monkeypatch):
    out, *_ = trained
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    runner = CliRunner()
    args = ["train", "--data", str(out), "--no-text", "--model-name", "t-model"]
    for o in OVERRIDES:
        args += ["--set", o]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert (tmp_path / "mlflow.db").exists() and (tmp_path / "mlartifacts").exists()
    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    summary = json.loads(second.stdout)
    assert summary["version"] == "2"
    # Same data, same config: the same model, so it cannot beat the champion.
    assert "kept challenger" in summary["promotion"]

    client = mlflow.MlflowClient()
    assert str(client.get_model_version_by_alias("t-model", "champion").version) == "1"
    assert str(client.get_model_version_by_alias("t-model", "challenger").version) == "2"
    run = client.get_run(summary["run_id"])
    assert run.data.params["feature_set_version"].startswith("1.")
    assert "model.pr_auc" in run.data.metrics
    # The policy's triggers, each with its ticket-level figures on the test slice.
    for name in ("high_value_threat", "first_response_sla_breached"):
        assert f"trigger.{name}.recall" in run.data.metrics
    assert "policy.alerts_per_day" in run.data.metrics
    assert "triggers.csv" in {a.path for a in client.list_artifacts(summary["run_id"])}
    arts = {a.path for a in client.list_artifacts(summary["run_id"], "plots")}
    assert {
        "plots/pr_curve.png",
        "plots/reliability.png",
        "plots/threshold_curves.png",
        "plots/feature_contributions.png",
    } <= arts

    pyfunc = mlflow.pyfunc.load_model("models:/t-model@champion")
    from features.schema import read_dataset

    table = build_feature_table(read_dataset(out), None)
    pred = pyfunc.predict(
        table.drop(columns=["ticket_id", "as_of", "label", "weight", "hours_to_escalation"]).head(
            50
        )
    )
    assert list(pred.columns) == ["probability", "decision", "executive"]
    assert pred["probability"].between(0, 1).all()

    ev = runner.invoke(
        app, ["evaluate", "--model", "models:/t-model@champion", "--data", str(out), "--json"]
    )
    assert ev.exit_code == 0, ev.output
    table_json = json.loads(ev.stdout)
    assert table_json["model"]["version"] == "1" and "ceiling" in table_json
    bad = runner.invoke(
        app,
        ["evaluate", "--model", "models:/t-model@champion", "--data", str(out), "--split", "nope"],
    )
    assert bad.exit_code == 2 and "--split" in bad.output


# ------------------------------------------------------------------------ monotone constraints
def test_lightgbm_gets_the_declared_directions_in_feature_order():
    cfg, _ = load_config(overrides=OVERRIDES)
    assert cfg.lightgbm.monotone and cfg.lightgbm.monotone_constraints_method == "basic"
    p = _lgb_params(cfg, {"num_leaves": 7})
    assert p["monotone_constraints"] == list(MONOTONE_CONSTRAINTS)
    assert p["monotone_constraints_method"] == "basic" and "monotone" not in p
    off, _ = load_config(overrides=[*OVERRIDES, "lightgbm.monotone=false"])
    assert not {"monotone_constraints", "monotone_constraints_method"} & set(_lgb_params(off))
    # advanced broke the constraints on the demo data (LightGBM issues #5358, #6155).
    with pytest.raises(ValueError, match="monotone_constraints_method"):
        load_config(overrides=["lightgbm.monotone_constraints_method=advanced"])


def test_the_trained_booster_carries_the_constraints(trained):
    *_, result = trained
    booster = result.model.booster
    assert booster.feature_name() == list(FEATURE_NAMES)
    assert booster.params["monotone_constraints"] == list(MONOTONE_CONSTRAINTS)
    assert result.params["monotone_constraints"] == list(MONOTONE_CONSTRAINTS)


def test_the_calibrated_probability_never_falls_when_a_risk_grows(trained):
    """Push each constrained feature the way its direction says risk grows, on real test rows
    (missing values stay missing): the calibrated probability never falls."""
    _, _, table, _, _, _, result = trained
    rows = table[(result.split == "test").to_numpy()].sample(1500, random_state=0)
    base = result.model.predict_proba(rows)
    margins = np.sort(result.model.predict_margin(rows))
    assert (np.diff(result.model.calibrator.apply(margins)) >= -1e-12).all()
    rose = 0
    for f in FEATURES:
        if not f.direction:
            continue
        values = rows[f.name].astype("float64")
        scale = 1.0 if f.dtype in ("int", "bool") else float(np.nanstd(table[f.name]))
        for step in (0.25, 1.0, 4.0):
            moved = rows.copy()
            moved[f.name] = values + f.direction * step * scale
            p = result.model.predict_proba(moved)
            assert (p >= base - 1e-12).all(), f"{f.name}: risk fell when it should not"
            rose += int((p > base + 1e-9).sum())
    assert rose > 0  # the constraints do not just freeze the model
