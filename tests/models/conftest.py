"""Fixtures for the sentiment and intent models: the built ONNX encoder, loaded once."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_SENTIMENT = REPO_ROOT.parent / "shared" / "data" / "sentiment"
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def sentiment_build() -> Path:
    """The build folder; builds it (about 10 s) only when missing or out of date."""
    from models.build import build_sentiment

    return build_sentiment()


@pytest.fixture(scope="session")
def sentiment_model(sentiment_build):
    """The served path: ONNX Runtime fp32, batches of one token length, 2 threads."""
    from models.sentiment import load_sentiment_model

    return load_sentiment_model(sentiment_build, threads=2)


@pytest.fixture(scope="session")
def intent_model(sentiment_model):
    from models.intents import IntentModel

    return IntentModel(sentiment_model)


@pytest.fixture
def shared_sentiment_dir() -> Path:
    """../shared/data/sentiment, or a clean skip when the shared data folder is absent."""
    if not SHARED_SENTIMENT.is_dir():
        pytest.skip(f"labelled sentiment data not found at {SHARED_SENTIMENT}")
    return SHARED_SENTIMENT


@pytest.fixture(scope="session")
def shared_conversations_dir() -> Path:
    """../shared/data (with conversations/), or a clean skip when it is absent."""
    if not (SHARED_DATA / "conversations").is_dir():
        pytest.skip(f"conversation data not found at {SHARED_DATA / 'conversations'}")
    return SHARED_DATA
