"""Risk intents and escalation type on a held-out labelled set of realistic support messages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from features.schema import ESCALATION_TYPES
from features.text import INTENTS
from models.intents import INTENT_HEAD_FILE, IntentModel
from models.sentiment import ARTIFACTS_DIR
from training.sentiment.intents import PHRASES_FILE, evaluate_intents, read_examples

MESSAGES = Path(__file__).with_name("intent_messages.jsonl")

# Floors one or two messages under what the committed heads measure on intent_messages.jsonl
# (models/artifacts/sentiment_meta.json, "intents_eval"): a clearly worse retrained head fails.
# Measured: legal 0.94/1.00, churn 0.88/0.88, executive 0.88/0.93, security 0.95/0.95,
# outage 0.85/0.88, billing 0.89/0.89, follow_up 1.00/0.67 (precision/recall); type 0.88.
PRECISION_FLOOR = {
    "legal": 0.85,
    "churn": 0.75,
    "executive": 0.75,
    "security": 0.85,
    "outage": 0.75,
    "billing": 0.8,
    "follow_up": 0.85,
}
RECALL_FLOOR = {
    "legal": 0.85,
    "churn": 0.75,
    "executive": 0.8,
    "security": 0.85,
    "outage": 0.75,
    "billing": 0.8,
    "follow_up": 0.55,
}
TYPE_ACCURACY_FLOOR = 0.8


def test_labelled_set_is_valid_and_covers_every_label() -> None:
    rows = read_examples(MESSAGES)
    assert len(rows) >= 150
    for name in INTENTS:
        assert sum(name in r["intents"] for r in rows) >= 15, name
    assert sum(not r["intents"] for r in rows) >= 30
    assert {r["type"] for r in rows} == set(ESCALATION_TYPES)
    train_texts = {r["text"].lower() for r in read_examples(ARTIFACTS_DIR / PHRASES_FILE)}
    assert not train_texts & {r["text"].lower() for r in rows}, (
        "test messages leaked into training"
    )


@pytest.fixture(scope="module")
def report(intent_model) -> dict:
    return evaluate_intents(intent_model, MESSAGES)


@pytest.mark.parametrize("intent", INTENTS)
def test_precision_and_recall_above_floor(report, intent) -> None:
    got = report["intents"][intent]
    assert got["precision"] >= PRECISION_FLOOR[intent], got
    assert got["recall"] >= RECALL_FLOOR[intent], got


def test_escalation_type_accuracy(report) -> None:
    assert report["type_accuracy"] >= TYPE_ACCURACY_FLOOR


def test_predict_frame_shape_and_types(intent_model) -> None:
    texts = ["I will sue you if this isn't fixed", "Thanks, all good!", "Any update??"]
    frame = intent_model.predict(texts)
    assert len(frame) == 3
    for name in INTENTS:
        assert frame[f"{name}_proba"].between(0, 1).all()
        assert frame[name].dtype == bool
    assert set(frame["escalation_type"]) <= set(ESCALATION_TYPES)
    assert frame.loc[0, "legal"] and not frame.loc[1, list(INTENTS)].any()
    assert frame.loc[2, "follow_up"]
    proba = intent_model.escalation_type_proba(texts)
    assert list(proba.columns) == list(ESCALATION_TYPES)
    assert np.allclose(proba.sum(axis=1), 1, atol=1e-5)
    assert intent_model.escalation_type(texts) == list(frame["escalation_type"])


def test_clear_cases(intent_model) -> None:
    frame = intent_model.predict(
        [
            "Our lawyers will contact you about this breach of contract.",
            "I was charged twice, refund me.",
            "Someone hacked my account and changed my password.",
            "The whole service is down and nobody can log in.",
        ]
    )
    assert list(frame["escalation_type"]) == [
        "contract_legal",
        "billing_dispute",
        "security",
        "technical_failure",
    ]


def test_reuses_the_sentiment_embeddings(sentiment_build) -> None:
    from models.sentiment import SentimentModel

    sentiment = SentimentModel(sentiment_build, cache_size=100)
    intents = IntentModel(sentiment)
    texts = ["Cancel my plan.", "Where is my refund?"]
    sentiment.predict_proba(texts)
    misses = sentiment.cache.misses
    intents.predict(texts)
    assert sentiment.cache.misses == misses  # no second encoder pass


def test_head_rows_follow_the_feature_intent_order(intent_model) -> None:
    from safetensors import safe_open

    with safe_open(str(ARTIFACTS_DIR / INTENT_HEAD_FILE), framework="numpy") as fh:
        assert tuple(fh.metadata()["intents"].split(",")) == INTENTS
    assert intent_model.intent_weight_.shape == (len(INTENTS), 384)
    assert intent_model.thresholds_.shape == (len(INTENTS),)


def test_a_head_in_another_intent_order_is_refused(sentiment_model, tmp_path) -> None:
    from safetensors import safe_open
    from safetensors.numpy import save_file

    with safe_open(str(ARTIFACTS_DIR / INTENT_HEAD_FILE), framework="numpy") as fh:
        metadata = dict(fh.metadata())
        tensors = {name: fh.get_tensor(name) for name in fh.keys()}
    metadata["intents"] = ",".join(reversed(INTENTS))
    path = tmp_path / INTENT_HEAD_FILE
    save_file(tensors, str(path), metadata=metadata)
    with pytest.raises(ValueError, match="--intents-only"):
        IntentModel(sentiment_model, path)


def test_missing_head_names_the_command(sentiment_model, tmp_path) -> None:
    from models.sentiment import SentimentArtifactsMissing

    with pytest.raises(SentimentArtifactsMissing, match="train-sentiment"):
        IntentModel(sentiment_model, tmp_path / INTENT_HEAD_FILE)
