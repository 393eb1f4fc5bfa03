"""The float-matrix scoring path equals LightGBM's own pandas-categorical path."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd

from features.registry import CATEGORICAL, FEATURE_NAMES
from models.classifier import CalibratedBooster, Calibrator, to_model_frame


def _frame(n: int, rng: np.random.Generator) -> pd.DataFrame:
    data = {}
    for name in FEATURE_NAMES:
        if name in CATEGORICAL:
            data[name] = pd.Series(rng.choice(["a", "b", "c", None], n), dtype="string")
        else:
            x = rng.normal(size=n)
            x[rng.random(n) < 0.1] = np.nan
            data[name] = x
    return pd.DataFrame(data)


def test_matrix_path_equals_pandas_path(tmp_path):
    rng = np.random.default_rng(0)
    X = _frame(2000, rng)
    y = (np.nan_to_num(X[FEATURE_NAMES[0]].to_numpy()) + rng.normal(size=len(X)) > 1).astype(int)
    y |= (X[CATEGORICAL[0]] == "b").fillna(False).to_numpy()
    data = lgb.Dataset(to_model_frame(X), y, params={"verbose": -1})
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_threads": 1}, data, 30)
    booster.save_model(tmp_path / "b.txt")
    model = CalibratedBooster(
        lgb.Booster(model_file=tmp_path / "b.txt"), Calibrator("sigmoid", {"a": 1.0, "b": 0.0})
    )
    test = _frame(300, rng)
    test.loc[:20, CATEGORICAL[1]] = "never-seen"  # unknown level: missing, as in LightGBM
    frame = model.frame(test)
    np.testing.assert_array_equal(
        model.predict_margin(test), model.booster.predict(frame, raw_score=True)
    )
    np.testing.assert_array_equal(
        model.contributions(test), model.booster.predict(frame, pred_contrib=True)
    )
    # The serving path: a dict of arrays, probabilities and contributions from one matrix.
    p, contrib = model.score({name: test[name].to_numpy() for name in FEATURE_NAMES})
    np.testing.assert_array_equal(p, model.predict_proba(test))
    np.testing.assert_array_equal(contrib, model.contributions(test))
