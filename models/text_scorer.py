"""The transformer text scorer: features.text's signal columns from the sentiment and intent heads.

One encoder pass per distinct text (cached by text hash in the sentiment model) feeds both heads;
intents also read each sentence of a message (models/intents.py). Every embedding is independent
of its batch-mates, so a text's signals are the same whatever it is scored with.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from features.text import INTENTS, SIGNAL_COLUMNS
from models.intents import IntentModel, load_intent_model
from models.sentiment import ARTIFACTS_DIR, SentimentModel, load_sentiment_model, softmax


class TransformerTextScorer:
    """Sentiment and intents from the MiniLM transformer (one cached encoder pass per text)."""

    def __init__(
        self, sentiment: SentimentModel | None = None, intents: IntentModel | None = None
    ) -> None:
        self.sentiment = sentiment or load_sentiment_model()
        self.intents = intents or load_intent_model(self.sentiment)
        self.version = artifacts_version()

    def score_texts(self, texts: Sequence[str]) -> pd.DataFrame:
        texts = list(texts)
        if not texts:
            return pd.DataFrame(columns=list(SIGNAL_COLUMNS), dtype="float64")
        # One encoder pass per message (cached by text) feeds both heads; the intent heads
        # also read each sentence of a longer message (cached too).
        emb = self.sentiment.embed(texts)
        proba = np.asarray(softmax(self.sentiment.logits_from_embeddings(emb)), dtype="float64")
        # The intent head's columns are in features.text.INTENTS order (checked at load).
        flags = self.intents.intent_flags(texts, emb)
        out = {"sentiment": proba[:, 2] - proba[:, 0], "p_negative": proba[:, 0]}
        for j, intent in enumerate(INTENTS):
            out[f"intent_{intent}"] = flags[:, j].astype("float64")
        return pd.DataFrame(out)


def artifacts_version() -> str:
    """A short hash of the committed sentiment/intent artifacts: names the text-signal cache."""
    h = hashlib.sha256()
    for path in sorted(Path(ARTIFACTS_DIR).glob("*")):
        if path.is_file():
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return "t-" + h.hexdigest()[:10]
