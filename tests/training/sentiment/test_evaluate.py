"""Sentiment metrics against hand-computed values."""

from __future__ import annotations

import numpy as np

from training.sentiment.evaluate import sentiment_metrics


def test_metrics_match_hand_computed_values() -> None:
    y_true = np.array([0, 0, 0, 0, 1, 1, 2, 2, 2, 2])
    y_pred = np.array([0, 0, 0, 1, 1, 2, 2, 2, 0, 0])
    got = sentiment_metrics(y_true, y_pred)
    # recall: negative 3/4, neutral 1/2, positive 2/4; accuracy 6/10
    assert got == {
        "macro_recall": round((0.75 + 0.5 + 0.5) / 3, 4),
        "accuracy": 0.6,
        "recall_negative": 0.75,
        "recall_neutral": 0.5,
        "recall_positive": 0.5,
        "n": 10,
    }


def test_an_absent_class_counts_as_zero_recall() -> None:
    got = sentiment_metrics(np.array([0, 0, 2]), np.array([0, 0, 2]))
    assert got["recall_neutral"] == 0.0
    assert got["macro_recall"] == round(2 / 3, 4)
    assert got["accuracy"] == 1.0
