"""Risk intents and escalation type of customer messages, from the sentiment transformer.

Small logistic-regression heads over the same L2-normalised MiniLM embedding the sentiment head
uses (:meth:`models.sentiment.SentimentModel.embed`, cached), so one encoder pass serves both.
The heads are trained by ``training.sentiment.intents.train_intents`` on the phrases committed
in ``models/artifacts/intent_phrases.json`` and stored in ``intent_head.safetensors``, one row
per intent in :data:`features.text.INTENTS` order (the file's metadata names the order and is
checked at load).

Intents (multi-label): legal threat, churn/cancellation, the customer's executives involved, a
request for escalation or a manager, a competitor named, the renewal at stake, security/breach,
billing dispute, outage/technical failure, repeated "any update?" follow-up. Escalation type (one
per message): billing_dispute, technical_failure, contract_legal, security, other.

Intents are read per sentence: a message's probability of an intent is the highest over the
whole message and each of its sentences (:func:`split_sentences`), so one threat inside a long,
otherwise routine message is not averaged away by the mean-pooled embedding. The escalation
type reads the whole message.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.schema import ESCALATION_TYPES
from features.text import INTENTS
from models.sentiment import (
    ARTIFACTS_DIR,
    SentimentArtifactsMissing,
    SentimentModel,
    load_sentiment_model,
    row_products,
    softmax,
)

INTENT_HEAD_FILE = "intent_head.safetensors"
# A sentence ends at . ! ? (runs of them, closing quotes or brackets included) before a space, or
# at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\s*[\r\n]+\s*")
_WORD = re.compile(r"\w")
# Sentences read per message, beyond the whole message (bounds the cost of a very long one).
MAX_SENTENCES = 40


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` (at most :data:`MAX_SENTENCES`), without empty or wordless ones.

    A message of one sentence returns ``[text]`` (stripped).
    """
    parts = [p.strip() for p in _SENTENCE_END.split(text)]
    return [p for p in parts if _WORD.search(p)][:MAX_SENTENCES]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))).astype(np.float32)


class IntentModel:
    """Risk-intent probabilities and flags, and the escalation type, for short messages.

    Args:
        sentiment: the loaded sentiment model whose (cached) embeddings the heads read.
        head_path: ``intent_head.safetensors`` written by training (``train-sentiment``).

    Raises:
        SentimentArtifactsMissing: when the head file is missing.
        ValueError: when the head's rows are not in :data:`features.text.INTENTS` order or its
            types not in :data:`features.schema.ESCALATION_TYPES` order (retrain the heads).
    """

    def __init__(
        self, sentiment: SentimentModel, head_path: Path = ARTIFACTS_DIR / INTENT_HEAD_FILE
    ) -> None:
        from safetensors import safe_open

        if not Path(head_path).exists():
            raise SentimentArtifactsMissing(
                f"intent head {head_path} is missing: run `escalation-risk train-sentiment "
                "--intents-only`"
            )
        with safe_open(str(head_path), framework="numpy") as fh:
            metadata = fh.metadata() or {}
            tensors = {name: fh.get_tensor(name) for name in fh.keys()}
        for key, expected in (("intents", INTENTS), ("escalation_types", ESCALATION_TYPES)):
            stored = tuple(metadata.get(key, "").split(","))
            if stored != expected:
                raise ValueError(
                    f"{head_path} holds {key} {stored}, expected {expected}: run "
                    "`escalation-risk train-sentiment --intents-only`"
                )
        self.sentiment = sentiment
        self.intent_weight_ = tensors["intent_weight"]
        self.intent_bias_ = tensors["intent_bias"]
        self.thresholds_ = tensors["intent_threshold"]
        self.type_weight_ = tensors["type_weight"]
        self.type_bias_ = tensors["type_bias"]

    def intent_proba_from_embeddings(self, embeddings: np.ndarray) -> np.ndarray:
        """``(n, k)`` independent probabilities per embedding, columns in :data:`INTENTS` order."""
        return _sigmoid(row_products(embeddings, self.intent_weight_) + self.intent_bias_)

    def intent_flags_from_embeddings(self, embeddings: np.ndarray) -> np.ndarray:
        """``(n, k)`` bool per embedding: probability >= the intent's tuned threshold."""
        return self.intent_proba_from_embeddings(embeddings) >= self.thresholds_

    def type_proba_from_embeddings(self, embeddings: np.ndarray) -> np.ndarray:
        """``(n, 5)`` probabilities summing to 1, columns in :data:`ESCALATION_TYPES` order."""
        return softmax(row_products(embeddings, self.type_weight_) + self.type_bias_)

    def intent_proba(
        self, texts: Sequence[str], embeddings: np.ndarray | None = None
    ) -> np.ndarray:
        """``(n, k)`` probabilities per text: the highest over the message and its sentences.

        Args:
            texts: the messages.
            embeddings: the messages' own embeddings when the caller already has them
                (``SentimentModel.embed(texts)``); sentences are embedded (and cached) here.
        """
        texts = list(texts)
        if embeddings is None:
            embeddings = self.sentiment.embed(texts)
        proba = self.intent_proba_from_embeddings(embeddings)
        sentences = [split_sentences(t) for t in texts]
        owner = [i for i, parts in enumerate(sentences) if len(parts) > 1 for _ in parts]
        if owner:
            flat = [p for parts in sentences if len(parts) > 1 for p in parts]
            per_sentence = self.intent_proba_from_embeddings(self.sentiment.embed(flat))
            np.maximum.at(proba, np.asarray(owner), per_sentence)
        return proba

    def intent_flags(
        self, texts: Sequence[str], embeddings: np.ndarray | None = None
    ) -> np.ndarray:
        """``(n, k)`` bool: :meth:`intent_proba` >= the intent's tuned threshold."""
        return self.intent_proba(texts, embeddings) >= self.thresholds_

    def predict(self, texts: Sequence[str] | str) -> pd.DataFrame:
        """One row per text, in order.

        Columns: ``<intent>_proba`` (float32 in [0, 1], the highest over the message and its
        sentences) and ``<intent>`` (bool, proba >= the intent's tuned threshold) for each of
        :data:`INTENTS`; ``escalation_type`` (str, from the whole message) and
        ``escalation_type_proba`` (its probability).
        """
        if isinstance(texts, str):
            texts = [texts]
        emb = self.sentiment.embed(texts)
        proba = self.intent_proba(texts, emb)
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
    return IntentModel(sentiment if sentiment is not None else load_sentiment_model())
