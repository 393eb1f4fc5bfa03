"""The transformer text scorer: signal columns in features.text order, from both heads."""

from __future__ import annotations

import numpy as np

from features.text import INTENTS, SIGNAL_COLUMNS
from models.text_scorer import TransformerTextScorer, artifacts_version

TEXTS = [
    "Our lawyers will contact you about this breach of contract.",
    "I was charged twice, refund me.",
    "The whole service is down and nobody can log in.",
    "Cancel my subscription, we are moving to a competitor.",
    "Any update on this?? Still waiting.",
    "Thanks, all good now!",
]


def test_signals_match_the_heads_intent_by_intent(sentiment_model, intent_model) -> None:
    scorer = TransformerTextScorer(sentiment_model, intent_model)
    signals = scorer.score_texts(TEXTS)
    assert list(signals.columns) == list(SIGNAL_COLUMNS)
    flags = intent_model.predict(TEXTS)
    for intent in INTENTS:
        assert signals[f"intent_{intent}"].tolist() == flags[intent].astype(float).tolist()
    assert np.allclose(signals["sentiment"], sentiment_model.score(TEXTS), atol=1e-6)
    assert signals.loc[0, "intent_legal"] == 1.0 and signals.loc[1, "intent_billing"] == 1.0
    assert signals.loc[2, "intent_outage"] == 1.0


def test_empty_input_and_version(sentiment_model, intent_model) -> None:
    scorer = TransformerTextScorer(sentiment_model, intent_model)
    empty = scorer.score_texts([])
    assert list(empty.columns) == list(SIGNAL_COLUMNS) and empty.empty
    assert scorer.version == artifacts_version() and scorer.version.startswith("t-")
