"""Text signals from the real transformer: attached to customer messages only, cached by hash."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.text import SIGNAL_COLUMNS, SignalCache, attach_text_signals
from models.text_scorer import TransformerTextScorer

# Every test here scores text with the real transformer.
pytestmark = pytest.mark.transformer


@pytest.fixture(scope="module")
def scorer():
    return TransformerTextScorer()


def _events(texts, types=None):
    n = len(texts)
    return pd.DataFrame(
        {
            "ticket_id": ["t1"] * n,
            "ts": pd.date_range("2026-01-05", periods=n, freq="h", tz="UTC"),
            "event_type": types or ["customer_message"] * n,
            "text": texts,
        }
    )


def test_signals_on_customer_messages_only(scorer):
    ev = _events(
        [
            "This is UNACCEPTABLE!! Third time I ask, our lawyers will hear about this.",
            "We are looking into it.",
            None,
            "Thanks so much, works perfectly now :)",
        ],
        ["customer_message", "agent_message", "customer_message", "customer_message"],
    )
    out = attach_text_signals(ev, scorer)
    assert out.loc[[1, 2], list(SIGNAL_COLUMNS)].isna().all().all()
    assert out.loc[0, "sentiment"] < out.loc[3, "sentiment"]
    assert out.loc[0, "intent_legal"] == 1.0 and out.loc[3, "intent_legal"] == 0.0
    assert out.loc[0, "intensity"] >= 3  # "!!" and "UNACCEPTABLE"
    assert out.loc[3, "length"] == len("Thanks so much, works perfectly now :)")


def test_cache_is_keyed_by_text_and_reused(scorer, tmp_path):
    class Counting:
        version = "count"

        def __init__(self):
            self.calls = 0

        def score_texts(self, texts):
            self.calls += len(texts)
            return scorer.score_texts(texts)

    counting = Counting()
    cache = SignalCache(tmp_path / "signals.parquet")
    ev = _events(["Any update on this?", "Any update on this?", "Still broken."])
    first = attach_text_signals(ev, counting, cache)
    assert counting.calls == 2  # the repeated text is scored once
    again = attach_text_signals(ev, counting, SignalCache(tmp_path / "signals.parquet"))
    assert counting.calls == 2  # everything came from the file
    pd.testing.assert_frame_equal(first, again)
    direct = attach_text_signals(ev, scorer)
    np.testing.assert_allclose(first["sentiment"], direct["sentiment"])


def test_without_a_scorer_text_signals_are_missing_not_invented():
    out = attach_text_signals(_events(["hello"]), None)
    assert out[list(SIGNAL_COLUMNS)].isna().all().all()
    assert out.loc[0, "length"] == 5


def test_intensity_uses_unicode_word_boundaries():
    """'ÉBILLING' is one word, not 'BILLING'; only exclaimed or mostly-capital sentences shout."""
    texts = ["ÉBILLING is DOWN!!", "naïve CAFÉ STOP", "😀 HELLO", "ok", "ÀBCDE FGHIJ!"]
    ev = pd.DataFrame(
        {"event_type": ["customer_message"] * 5, "text": pd.array(texts, dtype="string")}
    )
    out = attach_text_signals(ev, None)
    # DOWN + "!!"; no sentence; no sentence; nothing; FGHIJ + "!".
    assert out["intensity"].tolist() == [3.0, 0.0, 0.0, 0.0, 2.0]
    assert out["length"].tolist() == ev["text"].str.len().astype(float).tolist()


def test_shouting_is_a_sentence_in_capitals_not_a_name_or_an_acronym():
    from features.text import shouted_words

    assert shouted_words("THIS IS UNACCEPTABLE. Fix it.") == 2  # THIS, UNACCEPTABLE
    assert shouted_words("Still waiting. UNACCEPTABLE.") == 1
    assert shouted_words("This is UNACCEPTABLE!!") == 1
    assert shouted_words("JANET says the SAML login fails again.") == 0
    assert shouted_words("Please treat this as urgent. CARLA JIMENEZ, Head of Operations") == 0
    assert shouted_words("Restore access now. CHLOE MARTIN") == 0
    assert shouted_words("WE NEED THIS FIXED TODAY!!!") == 4  # WE is too short
    assert shouted_words("") == 0
