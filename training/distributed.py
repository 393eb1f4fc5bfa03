"""Training on a Dask cluster: the feature table built on the workers, LightGBM fitted there.

What is distributed: the feature build and the text scoring (features.engine), and every
LightGBM fit, the search's trials included (``lightgbm.dask``, data-parallel: each worker holds
its partitions of the fit window and the workers build each tree together). What stays on the
client, as in the local path: the time split, calibration on the calibration slice, the default
policy, the evaluation against the baselines (the logistic regression is fitted on the client)
and the MLflow run. The client therefore gathers the feature table once (about 0.5 kB per
snapshot); the fit window never leaves the workers.

Early stopping: ``lightgbm.dask`` evaluates an eval set on each worker's own share of it, so the
workers would stop at different trees. Here every worker gets the whole early-stopping window
(the last ``split.early_stopping_share`` of the train slice) inside a callback that tracks its
weighted log-loss tree by tree, exactly as ``lightgbm.early_stopping`` does on one machine, so all
workers stop at the same tree.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import optuna
import pandas as pd

from features.engine import (
    ClusterSpec,
    DistributedFeatures,
    PartitionedData,
    ScorerSpec,
    build_feature_table_distributed,
    open_client,
    signal_cache,
    write_feature_table_distributed,
)
from features.registry import CATEGORICAL
from features.schema import DataValidationError
from models.classifier import (
    CalibratedBooster,
    Calibrator,
    category_levels,
    choose_calibration,
    fit_calibrator,
    to_model_frame,
)
from training.config import SplitConfig, TrainConfig
from training.evaluate import compare, slice_table
from training.thresholds import default_policy, policy_evaluation
from training.train import (
    SPLITS,
    TrainResult,
    _early_stopping_mask,
    _lgb_params,
    fit_logistic,
    predict_logistic,
    set_seeds,
    time_split,
)

log = logging.getLogger(__name__)
_EPS = 1e-15  # LightGBM's clip of probabilities in binary_logloss


def transformer_spec() -> ScorerSpec:
    """The transformer text scorer, built on each worker (the client only hashes its version)."""
    from models.text_scorer import TransformerTextScorer, artifacts_version

    return ScorerSpec(TransformerTextScorer, artifacts_version())


class WindowEarlyStopping:
    """``lightgbm.early_stopping`` on a whole window every worker holds (see module docstring).

    Tracks the weighted binary log-loss of the window after each tree (margins summed tree by
    tree) and stops ``rounds`` trees after the best, or at the last tree, with the best one.
    """

    order = 30
    before_iteration = False

    def __init__(self, X, y: np.ndarray, w: np.ndarray, rounds: int) -> None:
        self.X = _as_matrix(X)
        self.y, self.w, self.rounds = np.asarray(y, float), np.asarray(w, float), rounds
        self._margin = np.zeros(len(X))
        self.best_score, self.best_iter = np.inf, 0

    def logloss(self, margin: np.ndarray) -> float:
        p = np.clip(1.0 / (1.0 + np.exp(-margin)), _EPS, 1.0 - _EPS)
        loss = -(self.y * np.log(p) + (1.0 - self.y) * np.log(1.0 - p))
        return float(np.sum(self.w * loss) / np.sum(self.w))

    def __call__(self, env) -> None:
        if env.iteration == env.begin_iteration:
            self._margin = np.zeros(len(self.X))
            self.best_score, self.best_iter = np.inf, env.iteration
        self._margin += env.model.predict(
            self.X, start_iteration=env.iteration, num_iteration=1, raw_score=True
        )
        score = self.logloss(self._margin)
        if score < self.best_score:
            self.best_score, self.best_iter = score, env.iteration
        best = [("valid_0", "binary_logloss", self.best_score, False)]
        if env.iteration - self.best_iter >= self.rounds or env.iteration == env.end_iteration - 1:
            raise lgb.callback.EarlyStopException(self.best_iter, best)


def _as_matrix(X) -> np.ndarray:
    """A model frame as LightGBM reads a pandas frame: categories as their codes, missing NaN
    (converted once: the callback predicts on it after every tree)."""
    if not isinstance(X, pd.DataFrame):
        return np.asarray(X, dtype="float64")
    cols = []
    for name in X.columns:
        col = X[name]
        if isinstance(col.dtype, pd.CategoricalDtype):
            codes = col.cat.codes.to_numpy().astype("float64")
            codes[codes < 0] = np.nan
            cols.append(codes)
        else:
            cols.append(col.to_numpy(dtype="float64"))
    return np.column_stack(cols) if cols else np.zeros((len(X), 0))


def _fit_rows(
    part: pd.DataFrame, role: pd.Series, categories: dict[str, list[str]]
) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """X, y, w of a partition's rows in the fit window (on its worker)."""
    keep = (part["ticket_id"].map(role) == "fit").to_numpy()
    rows = part[keep]
    X = to_model_frame(rows, categories)
    return X, rows["label"].astype(int), rows["weight"].astype("float64")


def _item(t: tuple, i: int):
    return t[i]


class DistributedFit:
    """The fit window on the workers, and LightGBM fits on it (one per call of :meth:`fit`)."""

    def __init__(
        self,
        features: DistributedFeatures,
        role: pd.Series,
        categories: dict[str, list[str]],
        window: tuple[pd.DataFrame, np.ndarray, np.ndarray],
    ) -> None:
        import dask.dataframe as dd

        client = features.client
        self.client = client
        role_f = client.scatter(role, broadcast=True)
        parts = [client.submit(_fit_rows, p, role_f, categories) for p in features.parts]
        sizes = client.gather([client.submit(lambda t: len(t[0]), p) for p in parts])
        parts = [p for p, n in zip(parts, sizes, strict=True) if n]  # workers need rows to fit
        meta = client.submit(lambda t: (t[0].iloc[:0], t[1].iloc[:0], t[2].iloc[:0]), parts[0])
        mx, my, mw = meta.result()
        self.X = dd.from_delayed([client.submit(_item, p, 0) for p in parts], meta=mx)
        self.y = dd.from_delayed([client.submit(_item, p, 1) for p in parts], meta=my)
        self.w = dd.from_delayed([client.submit(_item, p, 2) for p in parts], meta=mw)
        self.window = window
        self.threads = min(client.nthreads().values())

    def fit(self, params: dict[str, Any], rounds: int) -> lgb.LGBMClassifier:
        """One distributed fit with early stopping on the window; a local model back."""
        from lightgbm.dask import DaskLGBMClassifier

        params = {**params, "n_jobs": self.threads}  # each worker's own threads
        model = DaskLGBMClassifier(client=self.client, **params)
        model.fit(
            self.X,
            self.y,
            sample_weight=self.w,
            callbacks=[WindowEarlyStopping(*self.window, rounds)],
        )
        return model.to_local()


def search_params_distributed(
    fitter: DistributedFit, cfg: TrainConfig
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The local bounded Optuna search (training.train.search_params: same space, sampler and
    seed), each trial a distributed fit."""
    s = cfg.search
    if s.n_trials == 0:
        return {}, []
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
        m = fitter.fit(_lgb_params(cfg, over), cfg.lightgbm.early_stopping_rounds)
        score = float(m.best_score_["valid_0"]["binary_logloss"])
        trials.append({**over, "logloss": score, "best_iteration": int(m.best_iteration_)})
        return score

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="minimize", sampler=optuna.samplers.TPESampler(seed=cfg.seed)
    )
    study.optimize(objective, n_trials=s.n_trials, timeout=s.timeout_s)
    return dict(study.best_params), trials


def train_model_distributed(
    features: DistributedFeatures, cfg: TrainConfig, truth: pd.DataFrame | None = None
) -> tuple[TrainResult, pd.DataFrame]:
    """training.train.train_model with the booster fitted on the cluster.

    Returns the TrainResult and the feature table the client gathered (for the MLflow run).
    After the fit the steps are train_model's, function for function (calibration, policy,
    baselines, evaluation); tests/training/test_distributed.py compares both paths' metrics.
    """
    set_seeds(cfg.seed)
    table = features.to_pandas()
    for col in ("label", "weight"):
        if col not in table.columns:
            raise ValueError(
                f"the feature table has no {col!r} column: build it from data with outcomes"
            )
    split = time_split(table, cfg.split)
    y = table["label"].to_numpy(dtype=int)
    w = table["weight"].to_numpy(dtype="float64")
    tr = (split == "train").to_numpy()
    ca = (split == "calibration").to_numpy()
    te = (split == "test").to_numpy()
    for name, m in zip(SPLITS, (tr, ca, te), strict=True):
        if y[m].sum() == 0:
            raise ValueError(f"the {name} slice has no escalations; use more data")
    es = _early_stopping_mask(table[tr], cfg.split.early_stopping_share)
    es_idx = np.flatnonzero(tr)[es]
    # The category levels the local path's to_model_frame(table) infers from the whole table.
    categories = category_levels(table[list(CATEGORICAL)])
    X_es = to_model_frame(table.iloc[es_idx], categories)
    role = pd.Series("other", index=pd.Index(pd.unique(table["ticket_id"])), dtype=object)
    role[pd.unique(table["ticket_id"].to_numpy()[tr])] = "fit"
    role[pd.unique(table["ticket_id"].to_numpy()[es_idx])] = "es"
    fitter = DistributedFit(features, role, categories, (X_es, y[es_idx], w[es_idx]))

    best, trials = search_params_distributed(fitter, cfg)
    params = _lgb_params(cfg, best)
    model = fitter.fit(params, cfg.lightgbm.early_stopping_rounds)
    log.info("distributed booster: %d trees (best iteration)", model.best_iteration_)

    # From here on: training.train.train_model's steps after its fit.
    X = to_model_frame(table, categories)
    groups = table["ticket_id"].to_numpy()[ca]
    method = cfg.calibration.method
    scores: dict[str, float] = {}
    if method == "auto":
        method, scores = choose_calibration(model, X[ca], y[ca], w[ca], groups, cfg.seed)
    calibrator: Calibrator = fit_calibrator(model, X[ca], y[ca], w[ca], method)
    booster = lgb.Booster(
        model_str=model.booster_.model_to_string(num_iteration=model.best_iteration_)
    )
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
    evaluation.update(policy_evaluation(test, p_test, policy))
    evaluation["calibration_method"] = method
    evaluation["best_iteration"] = int(model.best_iteration_)
    evaluation["engine"] = "dask"
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
    result = TrainResult(
        model=cb,
        policy=policy,
        params=dict(params),
        split=split,
        calibration_scores=scores,
        evaluation=evaluation,
        slices=slice_table(test, p_test, policy.escalate),
        test_predictions=preds,
        trials=trials,
    )
    return result, table


def _open(client, data_dir: Path) -> PartitionedData:
    try:
        return PartitionedData(client, data_dir)
    except DataValidationError as err:
        raise ValueError(str(err)) from None


def _truth(data_dir: Path) -> pd.DataFrame | None:
    path = Path(data_dir) / "ground_truth.parquet"
    return pd.read_parquet(path) if path.exists() else None


def _features(data: PartitionedData, spec: ScorerSpec | None) -> DistributedFeatures:
    cache = signal_cache(spec.version if spec else None)
    try:
        return build_feature_table_distributed(data, spec, cache)
    except DataValidationError as err:
        raise ValueError(str(err)) from None


def run_training_distributed(
    data_dir: Path,
    cfg: TrainConfig,
    raw_config: dict[str, Any],
    model_name: str,
    scorer: ScorerSpec | None,
    cluster: ClusterSpec,
    force_promote: bool = False,
) -> dict[str, Any]:
    """training.jobs.run_training on a Dask cluster: the same summary, MLflow run and registry
    (the run is tagged ``engine=dask``)."""
    from mlflow.tracking import MlflowClient

    from training.tracking import log_and_register

    started = time.perf_counter()
    with open_client(cluster) as client:
        data = _open(client, data_dir)
        if data.outcomes is None:
            raise ValueError(f"{data_dir}: training needs outcomes.parquet (the labels)")
        features = _features(data, scorer)
        digest = data.digest()
        result, table = train_model_distributed(features, cfg, _truth(data_dir))
        workers = len(client.nthreads())
    feat_train_s = time.perf_counter() - started
    reg = log_and_register(
        result,
        cfg,
        raw_config,
        table,
        digest,
        str(Path(data_dir).resolve()),
        scorer.version if scorer else None,
        model_name,
        force_promote=force_promote,
    )
    MlflowClient().set_tag(reg["run_id"], "engine", "dask")
    ev = result.evaluation
    return {
        **reg,
        "engine": "dask",
        "workers": workers,
        "train_seconds": round(feat_train_s, 1),
        "sizes": ev["sizes"],
        "calibration": ev["calibration_method"],
        "best_iteration": ev["best_iteration"],
        "test": {k: ev["scorers"]["model"][k] for k in ("pr_auc", "roc_auc", "log_loss", "ece")},
        "policy_version": result.policy.version,
    }


def run_evaluation_distributed(
    model_uri: str, data_dir: Path, split: str, cluster: ClusterSpec
) -> dict[str, Any]:
    """training.jobs.run_evaluation with the feature table built on a Dask cluster (the
    evaluation itself, on one table, runs on the client as it does locally)."""
    from models.registry import load_registered
    from training.config import RulesConfig

    reg = load_registered(model_uri)
    spec = transformer_spec() if reg.metadata.get("text_model") else None
    if spec is not None and spec.version != reg.metadata["text_model"]:
        log.warning(
            "model trained with text model %s, scoring with %s",
            reg.metadata["text_model"],
            spec.version,
        )
    with open_client(cluster) as client:
        data = _open(client, data_dir)
        if data.outcomes is None:
            raise ValueError(f"{data_dir}: evaluation needs outcomes.parquet (the labels)")
        table = _features(data, spec).to_pandas()
    # training.jobs.run_evaluation's steps on that table.
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
    out["engine"] = "dask"
    out["slices"] = slice_table(rows, scores["model"], reg.policy.escalate).to_dict("records")
    return out


def write_features_distributed(
    data_dir: Path, out: Path, text: bool, cluster: ClusterSpec
) -> dict[str, Any]:
    """The `features` command on a Dask cluster (the transformer on the workers when ``text``)."""
    spec = transformer_spec() if text else None
    with open_client(cluster) as client:
        data = _open(client, data_dir)
        try:
            return write_feature_table_distributed(
                data, out, spec, signal_cache(spec.version if spec else None)
            )
        except DataValidationError as err:
            raise ValueError(str(err)) from None
