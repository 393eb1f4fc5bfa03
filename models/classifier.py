"""The escalation classifier: LightGBM on the registered features, calibrated on a later slice.

Artifacts are pickle-free: the booster as LightGBM's text model (which also records the levels of
categorical features) and the calibrator as JSON parameters.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import log_loss

from features.registry import CATEGORICAL, FEATURE_NAMES

Method = Literal["isotonic", "sigmoid"]


def to_model_frame(
    X: pd.DataFrame, categories: dict[str, list[str]] | None = None
) -> pd.DataFrame:
    """The registered feature columns in order: numbers as float64, categoricals as category.

    ``categories`` fixes the levels (those seen in training); an unknown level becomes NaN,
    which LightGBM treats as missing.
    """
    missing = [c for c in FEATURE_NAMES if c not in X.columns]
    if missing:
        raise ValueError(f"missing feature column(s): {', '.join(missing)}")
    out = pd.DataFrame(index=X.index)
    for name in FEATURE_NAMES:
        if name in CATEGORICAL:
            values = X[name].astype(object).where(X[name].notna(), None)
            levels = (categories or {}).get(name)
            if levels is None:
                levels = sorted({v for v in values if v is not None})
            else:  # unseen levels become missing (explicitly: pandas deprecates doing it quietly)
                values = values.where(values.isin(levels), None)
            out[name] = pd.Categorical(values, categories=levels)
        else:
            out[name] = pd.to_numeric(X[name], errors="raise").astype("float64")
    return out


def category_levels(X: pd.DataFrame) -> dict[str, list[str]]:
    return {name: sorted({str(v) for v in X[name].dropna().unique()}) for name in CATEGORICAL}


@dataclass(frozen=True)
class Calibrator:
    """Maps the booster's raw score (log-odds margin) to a calibrated probability (JSON).

    scikit-learn calibrates on ``decision_function``, which for LightGBM is the raw margin.
    """

    method: Method
    params: dict[str, Any]

    def apply(self, margin: np.ndarray) -> np.ndarray:
        margin = np.asarray(margin, dtype="float64")
        if self.method == "sigmoid":
            z = self.params["a"] * margin + self.params["b"]
            return 1.0 / (1.0 + np.exp(z))
        x, y = np.asarray(self.params["x"]), np.asarray(self.params["y"])
        return np.interp(np.clip(margin, x[0], x[-1]), x, y)

    def to_json(self) -> str:
        return json.dumps({"method": self.method, "params": self.params})

    @classmethod
    def from_json(cls, text: str) -> Calibrator:
        obj = json.loads(text)
        if obj.get("method") not in ("isotonic", "sigmoid"):
            raise ValueError(f"unknown calibration method {obj.get('method')!r}")
        return cls(obj["method"], obj["params"])


def fit_calibrator(
    model: lgb.LGBMClassifier,
    X: pd.DataFrame,
    y: np.ndarray,
    sample_weight: np.ndarray | None,
    method: Method,
) -> Calibrator:
    """Calibrate a fitted classifier on a later slice with scikit-learn, export the parameters."""
    cal = CalibratedClassifierCV(FrozenEstimator(model), method=method)
    with warnings.catch_warnings():
        # The frozen booster takes no weights; they are meant for the calibrator alone.
        warnings.filterwarnings("ignore", message=".*sample_weight.*", category=UserWarning)
        cal.fit(X, y, sample_weight=sample_weight)
    fitted = cal.calibrated_classifiers_[0].calibrators[0]
    if method == "sigmoid":
        params = {"a": float(fitted.a_), "b": float(fitted.b_)}
    else:
        params = {
            "x": [float(v) for v in fitted.X_thresholds_],
            "y": [float(v) for v in fitted.y_thresholds_],
        }
    calibrator = Calibrator(method, params)
    # The exported parameters must reproduce scikit-learn's own output.
    ours = calibrator.apply(model.decision_function(X.iloc[:200]))
    np.testing.assert_allclose(ours, cal.predict_proba(X.iloc[:200])[:, 1], atol=1e-9)
    return calibrator


def choose_calibration(
    model: lgb.LGBMClassifier,
    X: pd.DataFrame,
    y: np.ndarray,
    sample_weight: np.ndarray | None,
    groups: np.ndarray,
    seed: int = 0,
) -> tuple[Method, dict[str, float]]:
    """Pick isotonic or sigmoid by out-of-fold log-loss (2 folds by ticket) on the slice."""
    rng = np.random.default_rng(seed)
    uniq = np.unique(groups)
    fold_of = dict(zip(uniq, rng.integers(0, 2, len(uniq)), strict=True))
    fold = np.array([fold_of[g] for g in groups])
    scores: dict[str, float] = {}
    for method in ("isotonic", "sigmoid"):
        losses = []
        for k in (0, 1):
            fit, ev = fold != k, fold == k
            if y[fit].sum() == 0 or y[ev].sum() == 0:
                continue
            c = fit_calibrator(
                model,
                X[fit],
                y[fit],
                None if sample_weight is None else sample_weight[fit],
                method,
            )
            p = np.clip(c.apply(model.decision_function(X[ev])), 1e-6, 1 - 1e-6)
            losses.append(log_loss(y[ev], p, labels=[0, 1]))
        scores[method] = float(np.mean(losses)) if losses else float("inf")
    best: Method = "isotonic" if scores["isotonic"] <= scores["sigmoid"] else "sigmoid"
    return best, scores


class CalibratedBooster:
    """A LightGBM booster plus its calibrator: what the service scores with."""

    def __init__(self, booster: lgb.Booster, calibrator: Calibrator) -> None:
        self.booster = booster
        self.calibrator = calibrator
        self._levels: dict[str, pd.Index] | None = None

    def frame(self, X: pd.DataFrame) -> pd.DataFrame:
        """Registered features in the booster's layout (categorical levels as trained)."""
        levels = self.booster.pandas_categorical or []
        return to_model_frame(X, dict(zip(CATEGORICAL, levels, strict=False)))

    def matrix(self, X: pd.DataFrame | Mapping[str, np.ndarray]) -> np.ndarray:
        """Registered features as the float matrix LightGBM scores: categoricals as the code of
        their trained level (NaN if unknown or missing), as LightGBM encodes a pandas frame.

        Equal to scoring :meth:`frame` (tested) without building a categorical frame per call,
        which dominates the cost of scoring one row.
        """
        missing = [c for c in FEATURE_NAMES if c not in X]
        if missing:
            raise ValueError(f"missing feature column(s): {', '.join(missing)}")
        if self._levels is None:
            levels = self.booster.pandas_categorical or []
            self._levels = {
                name: pd.Index(lv, dtype=object)
                for name, lv in zip(CATEGORICAL, levels, strict=False)
            }
        n = len(X) if isinstance(X, pd.DataFrame) else len(X[FEATURE_NAMES[0]])
        out = np.empty((n, len(FEATURE_NAMES)), dtype="float64")
        for j, name in enumerate(FEATURE_NAMES):
            col = X[name]
            if name in CATEGORICAL:
                values = (
                    col.to_numpy(dtype=object, na_value=None)
                    if isinstance(col, pd.Series)
                    else np.asarray(col, dtype=object)
                )
                codes = self._levels.get(name, pd.Index([], dtype=object)).get_indexer(values)
                out[:, j] = np.where(codes < 0, np.nan, codes)
            elif isinstance(col, pd.Series):
                out[:, j] = col.to_numpy(dtype="float64", na_value=np.nan)
            else:
                out[:, j] = np.asarray(col, dtype="float64")
        return out

    def score(self, X) -> tuple[np.ndarray, np.ndarray]:
        """(calibrated probabilities, TreeSHAP contributions) from one feature matrix."""
        m = self.matrix(X)
        margin = self.booster.predict(m, raw_score=True, num_threads=1)
        contrib = self.booster.predict(m, pred_contrib=True, num_threads=1)
        return self.calibrator.apply(margin), contrib

    def predict_margin(self, X: pd.DataFrame) -> np.ndarray:
        """The booster's raw log-odds."""
        return self.booster.predict(self.matrix(X), raw_score=True, num_threads=1)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of escalation for each row of registered features."""
        return self.calibrator.apply(self.predict_margin(X))

    def contributions(self, X: pd.DataFrame) -> np.ndarray:
        """Exact TreeSHAP contributions to the raw log-odds (n, features + 1 bias column)."""
        return self.booster.predict(self.matrix(X), pred_contrib=True, num_threads=1)

    def save(self, booster_path: str, calibrator_path: str) -> None:
        self.booster.save_model(booster_path)
        with open(calibrator_path, "w") as fh:
            fh.write(self.calibrator.to_json())

    @classmethod
    def load(cls, booster_path: str, calibrator_path: str) -> CalibratedBooster:
        with open(calibrator_path) as fh:
            calibrator = Calibrator.from_json(fh.read())
        return cls(lgb.Booster(model_file=booster_path), calibrator)
