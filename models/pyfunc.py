"""The MLflow pyfunc model (logged as "models from code": no pickled Python objects).

Artifacts bundled with every registered version:

- ``booster.txt``       LightGBM text model (trees and categorical levels);
- ``calibrator.json``   isotonic or sigmoid parameters;
- ``policy.json``       the default threshold policy (the tuning notebook may add newer ones as
                        model-version tags and artifacts);
- ``metadata.json``     feature-set version, feature names, sentiment model reference.

``predict`` takes a frame of registered features and returns the calibrated probability and the
default decision per row.
"""

from __future__ import annotations

import json
from typing import Any

import mlflow
import pandas as pd

from features.registry import FEATURE_NAMES
from models.classifier import CalibratedBooster
from models.policy import ThresholdPolicy
from models.registry import check_feature_set


class EscalationRiskModel(mlflow.pyfunc.PythonModel):
    """Calibrated LightGBM escalation model with its threshold policy."""

    def load_context(self, context: Any) -> None:
        a = context.artifacts
        self.model = CalibratedBooster.load(a["booster"], a["calibrator"])
        with open(a["policy"]) as fh:
            self.policy = ThresholdPolicy.from_json(fh.read())
        with open(a["metadata"]) as fh:
            self.metadata = json.load(fh)
        check_feature_set(self.metadata, "the model")

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None):
        missing = [c for c in FEATURE_NAMES if c not in model_input.columns]
        if missing:
            raise ValueError(f"missing feature column(s): {', '.join(missing)}")
        p = self.model.predict_proba(model_input)
        strategic = model_input["account_strategic"].fillna(0).to_numpy() > 0
        decisions = [
            self.policy.decide(float(pi), bool(si)) for pi, si in zip(p, strategic, strict=True)
        ]
        return pd.DataFrame(
            {
                "probability": p,
                "decision": [d for d, _ in decisions],
                "executive": [e for _, e in decisions],
            }
        )
