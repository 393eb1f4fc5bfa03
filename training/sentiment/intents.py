"""Fit and measure the intent and escalation-type heads (served by models/intents.py).

The heads are trained on the phrases committed in ``models/artifacts/intent_phrases.json``;
thresholds are tuned by cross-validation on those phrases. The labelled evaluation messages in
``tests/models/intent_messages.jsonl`` are only measured, never trained on.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from features.schema import ESCALATION_TYPES
from features.text import INTENTS
from models.build import build_sentiment, file_sha256
from models.intents import INTENT_HEAD_FILE, IntentModel
from models.sentiment import ARTIFACTS_DIR, HEAD_FILE, META_FILE, SentimentModel

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
PHRASES_FILE = "intent_phrases.json"
# The held-out labelled support messages: only measured, never trained on.
INTENT_EVAL_FILE = REPO_ROOT / "tests" / "models" / "intent_messages.jsonl"


def read_examples(path: Path) -> list[dict[str, Any]]:
    """Labelled messages ``{"text", "intents": [...], "type"}`` from a JSON or JSON-lines file.

    A ``.jsonl`` file holds one message per line; a JSON file holds them under ``"examples"``.

    Raises:
        ValueError: on an intent not in :data:`features.text.INTENTS` or a type not in
            :data:`features.schema.ESCALATION_TYPES`, naming the file and the row.
    """
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
    out-of-fold probabilities over the phrases. Rows are written in
    :data:`features.text.INTENTS` order, which the file's metadata records.

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


def fit_intent_heads(
    model: SentimentModel | None = None, artifacts_dir: Path = ARTIFACTS_DIR, seed: int = 13
) -> dict[str, Any]:
    """(Re)fit the intent heads on the current encoder; record their figures in the metadata.

    The figures on the held-out labelled messages (tests/models/intent_messages.jsonl) are
    measured, never trained on.

    Returns:
        The updated metadata (``sentiment_meta.json``).
    """
    artifacts_dir = Path(artifacts_dir)
    if model is None:
        model = SentimentModel(build_sentiment(artifacts_dir), artifacts_dir / HEAD_FILE)
    meta_path = artifacts_dir / META_FILE
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    meta["intents"] = train_intents(model, artifacts_dir, seed=seed)
    head_path = artifacts_dir / INTENT_HEAD_FILE
    if INTENT_EVAL_FILE.exists():
        meta["intents_eval"] = evaluate_intents(IntentModel(model, head_path), INTENT_EVAL_FILE)
    meta.setdefault("sha256", {})[INTENT_HEAD_FILE] = file_sha256(head_path)
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return meta
