"""Risk intents and escalation type of customer messages, from the sentiment transformer.

Small logistic-regression heads over the same L2-normalised MiniLM embedding the sentiment head
uses (:meth:`models.sentiment.SentimentModel.embed`, cached), so one encoder pass serves both.
The heads are trained by :func:`train_intents` on the phrases committed in
``models/artifacts/intent_phrases.json`` and stored in ``intent_head.safetensors``; thresholds
are tuned by cross-validation on those phrases. The labelled evaluation messages in
``tests/models/intent_messages.jsonl`` are never used for training.

Intents (multi-label): legal threat, churn/cancellation, demand for a manager or executive,
security/breach, outage/technical failure, billing dispute, repeated "any update?" follow-up.
Escalation type (one per message): billing_dispute, technical_failure, contract_legal, security,
other.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.schema import ESCALATION_TYPES
from models.sentiment import ARTIFACTS_DIR, SentimentArtifactsMissing, SentimentModel, softmax

log = logging.getLogger(__name__)

INTENTS: tuple[str, ...] = (
    "legal",
    "churn",
    "executive",
    "security",
    "outage",
    "billing",
    "follow_up",
)
PHRASES_FILE = "intent_phrases.json"
INTENT_HEAD_FILE = "intent_head.safetensors"


def read_examples(path: Path) -> list[dict[str, Any]]:
    """Labelled messages ``{"text", "intents": [...], "type"}`` from a JSON or JSON-lines file."""
    path = Path(path)
    if path.suffix == ".jsonl":
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    else:
        rows = json.loads(path.read_text())["examples"]
    for row in rows:
        unknown = set(row["intents"]) - set(INTENTS)
        if unknown or row["type"] not in ESCALATION_TYPES:
            raise ValueError(f"{path}: unknown label in {row!r}")
    return rows


def _labels(rows: Sequence[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    Y = np.array([[name in row["intents"] for name in INTENTS] for row in rows], dtype=bool)
    types = np.array([ESCALATION_TYPES.index(row["type"]) for row in rows])
    return Y, types


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))).astype(np.float32)


class IntentModel:
    """Risk-intent probabilities and flags, and the escalation type, for short messages.

    Args:
        sentiment: the loaded sentiment model whose (cached) embeddings the heads read.
        head_path: ``intent_head.safetensors`` written by :func:`train_intents`.
    """

    def __init__(
        self, sentiment: SentimentModel, head_path: Path = ARTIFACTS_DIR / INTENT_HEAD_FILE
    ) -> None:
        from safetensors.numpy import load_file

        if not Path(head_path).exists():
            raise SentimentArtifactsMissing(
                f"intent head {head_path} is missing: run `escalation-risk train-sentiment "
                "--intents-only`"
            )
        tensors = load_file(str(head_path))
        self.sentiment = sentiment
        self.intent_weight_ = tensors["intent_weight"]
        self.intent_bias_ = tensors["intent_bias"]
        self.thresholds_ = tensors["intent_threshold"]
        self.type_weight_ = tensors["type_weight"]
        self.type_bias_ = tensors["type_bias"]

    def intent_proba_from_embeddings(self, embeddings: np.ndarray) -> np.ndarray:
        """``(n, 7)`` independent probabilities, columns in :data:`INTENTS` order."""
        return _sigmoid(embeddings @ self.intent_weight_.T + self.intent_bias_)

    def type_proba_from_embeddings(self, embeddings: np.ndarray) -> np.ndarray:
        """``(n, 5)`` probabilities summing to 1, columns in :data:`ESCALATION_TYPES` order."""
        return softmax(embeddings @ self.type_weight_.T + self.type_bias_)

    def predict(self, texts: Sequence[str] | str) -> pd.DataFrame:
        """One row per text, in order.

        Columns: ``<intent>_proba`` (float32 in [0, 1]) and ``<intent>`` (bool, proba >= the
        intent's tuned threshold) for each of :data:`INTENTS`; ``escalation_type`` (str) and
        ``escalation_type_proba`` (its probability).
        """
        if isinstance(texts, str):
            texts = [texts]
        emb = self.sentiment.embed(texts)
        proba = self.intent_proba_from_embeddings(emb)
        types = self.type_proba_from_embeddings(emb)
        columns: dict[str, Any] = {}
        for j, name in enumerate(INTENTS):
            columns[f"{name}_proba"] = proba[:, j]
        for j, name in enumerate(INTENTS):
            columns[name] = proba[:, j] >= self.thresholds_[j]
        columns["escalation_type"] = [ESCALATION_TYPES[k] for k in types.argmax(axis=1)]
        columns["escalation_type_proba"] = types.max(axis=1)
        return pd.DataFrame(columns)

    def escalation_type_proba(self, texts: Sequence[str] | str) -> pd.DataFrame:
        """Probabilities per escalation type, columns :data:`ESCALATION_TYPES`."""
        if isinstance(texts, str):
            texts = [texts]
        proba = self.type_proba_from_embeddings(self.sentiment.embed(texts))
        return pd.DataFrame(proba, columns=list(ESCALATION_TYPES))

    def escalation_type(self, texts: Sequence[str] | str) -> list[str]:
        """Most probable escalation type per text."""
        proba = self.escalation_type_proba(texts)
        return [ESCALATION_TYPES[k] for k in proba.to_numpy().argmax(axis=1)]


def load_intent_model(sentiment: SentimentModel | None = None) -> IntentModel:
    """Load the intent heads over ``sentiment`` (or over a freshly loaded sentiment model)."""
    if sentiment is None:
        from models.sentiment import load_sentiment_model

        sentiment = load_sentiment_model()
    return IntentModel(sentiment)


def _fit_binary(X: np.ndarray, y: np.ndarray, C: float, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, class_weight="balanced", max_iter=5000, random_state=seed).fit(
        X, y
    )


def train_intents(
    sentiment: SentimentModel,
    artifacts_dir: Path = ARTIFACTS_DIR,
    seed: int = 13,
    C_grid: Sequence[float] = (1.0, 4.0, 16.0, 64.0),
) -> dict[str, Any]:
    """Fit the intent and escalation-type heads on the committed phrases; write the head file.

    C is chosen and each intent's threshold tuned (max F1, clipped to [0.3, 0.8]) on 5-fold
    out-of-fold probabilities over the phrases.

    Returns:
        A report: number of phrases, chosen C, thresholds, cross-validated F1 per intent.
    """
    from safetensors.numpy import save_file
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import KFold

    path = Path(artifacts_dir) / PHRASES_FILE
    rows = read_examples(path)
    X = sentiment.embed([row["text"] for row in rows])
    Y, types = _labels(rows)
    folds = list(KFold(5, shuffle=True, random_state=seed).split(X))

    def oof(C: float) -> np.ndarray:
        out = np.zeros(Y.shape, dtype=np.float64)
        for train_idx, test_idx in folds:
            for j in range(len(INTENTS)):
                clf = _fit_binary(X[train_idx], Y[train_idx, j], C, seed)
                out[test_idx, j] = clf.predict_proba(X[test_idx])[:, 1]
        return out

    grid = np.round(np.arange(0.3, 0.81, 0.05), 2)
    best: tuple[float, float, np.ndarray, np.ndarray] | None = None
    for C in C_grid:
        proba = oof(C)
        thresholds = np.array(
            [
                grid[int(np.argmax([f1_score(Y[:, j], proba[:, j] >= t) for t in grid]))]
                for j in range(len(INTENTS))
            ]
        )
        f1 = np.array(
            [f1_score(Y[:, j], proba[:, j] >= thresholds[j]) for j in range(len(INTENTS))]
        )
        log.info("intents C=%s cv F1 %s", C, np.round(f1, 3))
        if best is None or f1.mean() > best[0]:
            best = (float(f1.mean()), C, thresholds, f1)
    assert best is not None
    _, C, thresholds, cv_f1 = best
    weight = np.zeros((len(INTENTS), X.shape[1]), np.float32)
    bias = np.zeros(len(INTENTS), np.float32)
    for j in range(len(INTENTS)):
        clf = _fit_binary(X, Y[:, j], C, seed)
        weight[j], bias[j] = clf.coef_[0], clf.intercept_[0]
    type_clf = LogisticRegression(
        C=C, class_weight="balanced", max_iter=5000, random_state=seed
    ).fit(X, types)
    phrases_sha = hashlib.sha256(path.read_bytes()).hexdigest()
    save_file(
        {
            "intent_weight": weight,
            "intent_bias": bias,
            "intent_threshold": thresholds.astype(np.float32),
            # sklearn may hold coef_ in Fortran order; safetensors writes raw C-order bytes.
            "type_weight": np.ascontiguousarray(type_clf.coef_, dtype=np.float32),
            "type_bias": np.ascontiguousarray(type_clf.intercept_, dtype=np.float32),
        },
        str(Path(artifacts_dir) / INTENT_HEAD_FILE),
        metadata={
            "intents": ",".join(INTENTS),
            "escalation_types": ",".join(ESCALATION_TYPES),
            "phrases_sha256": phrases_sha,
        },
    )
    return {
        "n_phrases": len(rows),
        "C": C,
        "thresholds": dict(zip(INTENTS, thresholds.round(2).tolist(), strict=True)),
        "cv_f1": dict(zip(INTENTS, cv_f1.round(3).tolist(), strict=True)),
        "phrases_sha256": phrases_sha,
    }


def evaluate_intents(model: IntentModel, path: Path) -> dict[str, Any]:
    """Precision and recall per intent, and escalation-type accuracy, on a labelled file.

    Returns:
        ``{"intents": {intent: {"precision", "recall", "support"}}, "type_accuracy", "n"}``.
    """
    from sklearn.metrics import precision_score, recall_score

    rows = read_examples(path)
    Y, types = _labels(rows)
    pred = model.predict([row["text"] for row in rows])
    report: dict[str, Any] = {"intents": {}}
    for j, name in enumerate(INTENTS):
        y_pred = pred[name].to_numpy()
        report["intents"][name] = {
            "precision": round(float(precision_score(Y[:, j], y_pred, zero_division=0)), 3),
            "recall": round(float(recall_score(Y[:, j], y_pred, zero_division=0)), 3),
            "support": int(Y[:, j].sum()),
        }
    predicted_types = np.array([ESCALATION_TYPES.index(t) for t in pred["escalation_type"]])
    report["type_accuracy"] = round(float((predicted_types == types).mean()), 3)
    report["n"] = len(rows)
    return report
