"""Risk intents and escalation type on a held-out labelled set of realistic support messages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from features.schema import ESCALATION_TYPES
from features.text import INTENTS
from models.intents import INTENT_HEAD_FILE, MAX_SENTENCES, IntentModel, split_sentences
from models.sentiment import ARTIFACTS_DIR
from training.sentiment.intents import PHRASES_FILE, evaluate_intents, read_examples

MESSAGES = Path(__file__).with_name("intent_messages.jsonl")

# Floors one or two messages under what the committed heads measure on intent_messages.jsonl
# (models/artifacts/sentiment_meta.json, "intents_eval"; intents read per sentence): a clearly
# worse retrained head fails. Measured (precision/recall): legal 0.89/1.00, churn 0.81/0.94,
# executive 0.60/0.75, escalation_request 0.89/0.94, competitor 0.81/0.81, renewal 0.80/1.00,
# security 0.95/0.95, billing 0.94/0.97, outage 0.95/0.70, follow_up 0.93/0.72; type 0.87.
PRECISION_FLOOR = {
    "legal": 0.8,
    "churn": 0.72,
    "executive": 0.5,
    "escalation_request": 0.8,
    "competitor": 0.7,
    "renewal": 0.7,
    "security": 0.85,
    "outage": 0.85,
    "billing": 0.85,
    "follow_up": 0.8,
}
RECALL_FLOOR = {
    "legal": 0.88,
    "churn": 0.85,
    "executive": 0.6,
    "escalation_request": 0.83,
    "competitor": 0.68,
    "renewal": 0.87,
    "security": 0.85,
    "outage": 0.6,
    "billing": 0.88,
    "follow_up": 0.6,
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


def test_split_sentences() -> None:
    assert split_sentences("Hi team, the API is down. Fix it!! Our lawyers will call.") == [
        "Hi team, the API is down.",
        "Fix it!!",
        "Our lawyers will call.",
    ]
    assert split_sentences("one line\nsecond line") == ["one line", "second line"]
    assert split_sentences("  just one  ") == ["just one"]
    assert split_sentences("... !!") == []
    assert len(split_sentences("Yes. " * 100)) == MAX_SENTENCES


LONG_ROUTINE = (
    "Hi team, I hope you are well. We are preparing the quarterly report for the operations "
    "group and noticed the export takes a little longer than usual. The dashboard loads fine "
    "and the filters work as expected. We also updated the user list last week and everything "
    "synced. Could you check the export timing when you have a moment? "
)


@pytest.mark.parametrize(
    ("threat", "intent"),
    [
        ("Our lawyers will be in touch about this.", "legal"),
        ("I want to speak to your manager about this today.", "escalation_request"),
        ("We are not renewing our contract.", "renewal"),
    ],
)
def test_a_threat_inside_a_long_message_is_read(intent_model, threat, intent) -> None:
    # One sentence of a long routine message: the whole-message embedding dilutes it, the
    # sentence does not.
    text = LONG_ROUTINE + threat + " Thanks, Dana"
    frame = intent_model.predict([LONG_ROUTINE, text])
    assert not frame.loc[0, intent] and frame.loc[1, intent]
    alone = intent_model.predict([threat])
    assert frame.loc[1, f"{intent}_proba"] >= alone.loc[0, f"{intent}_proba"] - 1e-6


def test_intent_probabilities_do_not_depend_on_batch_mates(intent_model) -> None:
    texts = [LONG_ROUTINE + "Our lawyers will be in touch.", "Any update?", "Cancel my plan."]
    together = intent_model.intent_proba(texts)
    alone = np.concatenate([intent_model.intent_proba([t]) for t in texts])
    assert np.array_equal(together, alone)
