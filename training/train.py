"""Training: time split, bounded LightGBM search with early stopping, calibration, evaluation.

Everything here is a pure function of the feature table and the config; MLflow logging and
registration live in training/tracking.py so that tests can train without a tracking server.
"""

from __future__ import annotations

import hashlib
import logging
import random
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import optuna
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from features.registry import CATEGORICAL, FEATURE_NAMES, MONOTONE_CONSTRAINTS
from models.classifier import (
    CalibratedBooster,
    Calibrator,
    choose_calibration,
    fit_calibrator,
    to_model_frame,
)
from models.policy import ThresholdPolicy
from training.config import SplitConfig, TrainConfig
from training.evaluate import compare, slice_table
from training.thresholds import default_policy, policy_evaluation

log = logging.getLogger(__name__)
SPLITS = ("train", "calibration", "test")


def set_seeds(seed: int) -> None:
    """The one place seeds are set."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - libraries that still read the global state


def time_split(table: pd.DataFrame, split: SplitConfig) -> pd.Series:
    """Assign each snapshot to train | calibration | test as ``split.by`` says.

    By time (default): tickets ordered by their first snapshot. By case: ordered by a seeded
    hash of the ticket id. No ticket straddles two slices. Returns a Series aligned with
    ``table`` (values in SPLITS).
    """
    if split.by == "case":
        ids = pd.unique(table["ticket_id"].to_numpy(dtype=object))
        keys = np.array([hashlib.sha256(f"escalation-risk:{i}".encode()).hexdigest() for i in ids])
        order = pd.Index(ids[np.argsort(keys, kind="stable")])
    else:
        first = table.groupby("ticket_id", sort=False)["as_of"].min().sort_values(kind="stable")
        order = first.index
    n = len(order)
    c1 = int(round(n * split.train))
    c2 = int(round(n * (split.train + split.calibration)))
    which = pd.Series("test", index=order, dtype=object)
    which.iloc[:c1] = "train"
    which.iloc[c1:c2] = "calibration"
    return table["ticket_id"].map(which)


def _early_stopping_mask(table: pd.DataFrame, share: float) -> np.ndarray:
    """The latest ``share`` of train tickets (by first snapshot): the early-stopping window."""
    first = table.groupby("ticket_id", sort=False)["as_of"].min().sort_values(kind="stable")
    late = set(first.index[int(round(len(first) * (1 - share))) :])
    return table["ticket_id"].isin(late).to_numpy()


def _lgb_params(cfg: TrainConfig, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    p = cfg.lightgbm.model_dump()
    p.pop("early_stopping_rounds")
    # The directions declared in the catalogue (domain knowledge), in FEATURE_NAMES order.
    monotone, method = p.pop("monotone"), p.pop("monotone_constraints_method")
    if monotone:
        p.update(
            monotone_constraints=list(MONOTONE_CONSTRAINTS), monotone_constraints_method=method
        )
    p.update(overrides or {})
    p.update(
        random_state=cfg.seed,
        deterministic=True,
        force_row_wise=True,
        n_jobs=p.pop("num_threads"),
        verbose=-1,
    )
    return p


def fit_booster(
    X_fit: pd.DataFrame,
    y_fit: np.ndarray,
    w_fit: np.ndarray,
    X_es: pd.DataFrame,
    y_es: np.ndarray,
    w_es: np.ndarray,
    params: dict[str, Any],
    early_stopping_rounds: int,
) -> lgb.LGBMClassifier:
    """One LightGBM fit with early stopping on the later window."""
    model = lgb.LGBMClassifier(**params)
    model.fit(
        X_fit,
        y_fit,
        sample_weight=w_fit,
        eval_X=X_es,
        eval_y=y_es,
        eval_sample_weight=[w_es],
        eval_metric="binary_logloss",
        callbacks=[lgb.early_stopping(early_stopping_rounds, verbose=False)],
    )
    return model


def search_params(data: tuple, cfg: TrainConfig) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Bounded Optuna (TPE, seeded) search scored by the early-stopping log-loss."""
    s = cfg.search
    if s.n_trials == 0:
        return {}, []
    X_fit, y_fit, w_fit, X_es, y_es, w_es = data
    trials: list[dict[str, Any]] = []

    def objective(trial: optuna.Trial) -> float:
        over = {
            "learning_rate": trial.suggest_float("learning_rate", *s.learning_rate, log=True),
            "num_leaves": trial.suggest_int("num_leaves", *s.num_leaves, log=True),
            "min_child_samples": trial.suggest_int(
                "min_child_samples", *s.min_child_samples, log=True
            ),
            "colsample_bytree": trial.suggest_float("colsample_bytree", *s.colsample_bytree),
            "reg_lambda": trial.suggest_float("reg_lambda", *s.reg_lambda),
        }
        m = fit_booster(
            X_fit,
            y_fit,
            w_fit,
            X_es,
            y_es,
            w_es,
            _lgb_params(cfg, over),
            cfg.lightgbm.early_stopping_rounds,
        )
        score = float(m.best_score_["valid_0"]["binary_logloss"])
        trials.append({**over, "logloss": score, "best_iteration": int(m.best_iteration_)})
        return score

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="minimize", sampler=optuna.samplers.TPESampler(seed=cfg.seed)
    )
    study.optimize(objective, n_trials=s.n_trials, timeout=s.timeout_s)
    return dict(study.best_params), trials


def fit_logistic(X: pd.DataFrame, y: np.ndarray, w: np.ndarray, seed: int) -> Pipeline:
    """The logistic-regression baseline on the same features."""
    numeric = [c for c in FEATURE_NAMES if c not in CATEGORICAL]
    prep = ColumnTransformer(
        [
            (
                "num",
                make_pipeline(
                    SimpleImputer(strategy="median", add_indicator=True), StandardScaler()
                ),
                numeric,
            ),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="missing"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                list(CATEGORICAL),
            ),
        ]
    )
    pipe = Pipeline(
        [("prep", prep), ("lr", LogisticRegression(max_iter=2000, C=0.5, random_state=seed))]
    )
    Xo = X.copy()
    for c in CATEGORICAL:
        Xo[c] = Xo[c].astype(object).where(Xo[c].notna(), np.nan)
    pipe.fit(Xo, y, lr__sample_weight=w)
    return pipe


def predict_logistic(pipe: Pipeline, X: pd.DataFrame) -> np.ndarray:
    Xo = X.copy()
    for c in CATEGORICAL:
        Xo[c] = Xo[c].astype(object).where(Xo[c].notna(), np.nan)
    return pipe.predict_proba(Xo)[:, 1]


@dataclass
class TrainResult:
    """What training produced: the model, its policy, the split and the evaluation."""

    model: CalibratedBooster
    policy: ThresholdPolicy
    params: dict[str, Any]
    split: pd.Series
    calibration_scores: dict[str, float]
    evaluation: dict[str, Any]
    slices: pd.DataFrame
    test_predictions: pd.DataFrame
    trials: list[dict[str, Any]] = field(default_factory=list)


def train_model(
    table: pd.DataFrame, cfg: TrainConfig, truth: pd.DataFrame | None = None
) -> TrainResult:
    """Train, calibrate and evaluate on a labelled feature table (see features.pipeline).

    Args:
        table: ticket_id, as_of, registered features, label, weight, hours_to_escalation.
        truth: optional ground truth (ticket_id, as_of, p_true) for the ceiling comparison.
    """
    set_seeds(cfg.seed)
    for col in ("label", "weight"):
        if col not in table.columns:
            raise ValueError(
                f"the feature table has no {col!r} column: build it from data with outcomes"
            )
    split = time_split(table, cfg.split)
    X = to_model_frame(table)
    y = table["label"].to_numpy(dtype=int)
    w = table["weight"].to_numpy(dtype="float64")
    tr = (split == "train").to_numpy()
    ca = (split == "calibration").to_numpy()
    te = (split == "test").to_numpy()
    for name, m in zip(SPLITS, (tr, ca, te), strict=True):
        if y[m].sum() == 0:
            raise ValueError(f"the {name} slice has no escalations; use more data")
    es = _early_stopping_mask(table[tr], cfg.split.early_stopping_share)
    fit_idx, es_idx = np.flatnonzero(tr)[~es], np.flatnonzero(tr)[es]
    data = (X.iloc[fit_idx], y[fit_idx], w[fit_idx], X.iloc[es_idx], y[es_idx], w[es_idx])

    best, trials = search_params(data, cfg)
    params = _lgb_params(cfg, best)
    model = fit_booster(*data, params, cfg.lightgbm.early_stopping_rounds)
    log.info("booster: %d trees (best iteration)", model.best_iteration_)

    groups = table["ticket_id"].to_numpy()[ca]
    method = cfg.calibration.method
    scores: dict[str, float] = {}
    if method == "auto":
        method, scores = choose_calibration(model, X[ca], y[ca], w[ca], groups, cfg.seed)
    calibrator: Calibrator = fit_calibrator(model, X[ca], y[ca], w[ca], method)
    booster = model.booster_
    # Keep only the trees early stopping chose, so the saved text model is what was evaluated.
    booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=model.best_iteration_))
    cb = CalibratedBooster(booster, calibrator)

    p_cal = cb.predict_proba(table[ca])
    policy = default_policy(table[ca], p_cal, cfg.policy)
    p_test = cb.predict_proba(table[te])
    lr = fit_logistic(table[tr], y[tr], w[tr], cfg.seed)
    test = table[te].reset_index(drop=True)
    scores_test = {"model": p_test, "logistic_regression": predict_logistic(lr, test)}
    truth_col = None
    if truth is not None:
        key = test[["ticket_id", "as_of"]].merge(truth, on=["ticket_id", "as_of"], how="left")
        truth_col = key["p_true"]
    evaluation = compare(
        test,
        scores_test,
        policy.escalate,
        cfg.evaluation.rules,
        cfg.evaluation.alert_budgets_per_day,
        truth_col,
    )
    # The whole policy (bands and triggers) on the test slice, ticket level.
    evaluation.update(policy_evaluation(test, p_test, policy))
    evaluation["calibration_method"] = method
    evaluation["best_iteration"] = int(model.best_iteration_)
    evaluation["sizes"] = {
        name: {
            "snapshots": int(m.sum()),
            "tickets": int(table.loc[m, "ticket_id"].nunique()),
            "positives": int(y[m].sum()),
        }
        for name, m in zip(SPLITS, (tr, ca, te), strict=True)
    }
    keys = ["ticket_id", "as_of", "label", "hours_to_escalation"]
    preds = test[keys + (["team"] if "team" in test.columns else [])].copy()
    preds["p"] = p_test
    # The slice columns, and the features the policy's triggers and executive scope read, so
    # that tuning can evaluate the triggers on the same rows.
    for col in dict.fromkeys(
        [
            "account_arr_tier",
            "account_strategic",
            "ticket_priority_initial",
            "ticket_channel",
            *policy.feature_names(),
        ]
    ):
        preds[col] = test[col].to_numpy()
    return TrainResult(
        model=cb,
        policy=policy,
        params={k: v for k, v in params.items()},
        split=split,
        calibration_scores=scores,
        evaluation=evaluation,
        slices=slice_table(test, p_test, policy.escalate),
        test_predictions=preds,
        trials=trials,
    )
