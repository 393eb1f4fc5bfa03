"""Measure the sentiment model: macro recall (TweetEval's official metric) and accuracy.

Figures are taken on tweeteval-val and the airline hold-out (training/sentiment/data.py),
through the served path (ONNX fp32, batches of one token length).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.build import build_sentiment
from models.sentiment import LABELS, SentimentModel
from training.sentiment.data import DEFAULT_DATA_DIR, SentimentData, load_sentiment_data


def sentiment_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Macro-averaged recall, accuracy and per-class recall of integer labels (0 neg .. 2 pos).

    Returns:
        ``macro_recall``, ``accuracy``, ``recall_<label>`` (rounded to 4 places; a class absent
        from ``y_true`` has recall 0) and ``n``.
    """
    from sklearn.metrics import accuracy_score, recall_score

    recalls = recall_score(y_true, y_pred, labels=[0, 1, 2], average=None, zero_division=0)
    return {
        "macro_recall": round(float(np.mean(recalls)), 4),
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
        **{f"recall_{LABELS[i]}": round(float(r), 4) for i, r in enumerate(recalls)},
        "n": int(len(y_true)),
    }


def evaluate_sentiment(model: SentimentModel, data: SentimentData) -> dict[str, dict[str, float]]:
    """:func:`sentiment_metrics` on tweeteval-val and the airline hold-out through ``model``."""
    out = {}
    for name, frame in (
        ("tweeteval_val", data.tweeteval_val),
        ("airline_holdout", data.airline_holdout),
    ):
        proba = model.predict_proba(frame["text"].tolist())
        out[name] = sentiment_metrics(frame["label"].to_numpy(), proba.argmax(axis=1))
    return out


def evaluate_built(
    data_dir: Path = DEFAULT_DATA_DIR, seed: int = 13, threads: int = 2
) -> dict[str, dict[str, float]]:
    """Measure the built, served model (ONNX fp32, length-bucketed batches) on the evaluation sets.

    Builds first when the build is missing or stale. ``seed`` must be the training seed: it
    draws the airline hold-out.
    """
    data = load_sentiment_data(data_dir, seed)
    model = SentimentModel(build_sentiment(), threads=threads)
    return evaluate_sentiment(model, data)
