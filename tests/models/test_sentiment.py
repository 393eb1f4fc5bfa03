"""The transformer sentiment model: offline loading, determinism, cache, ONNX vs torch, CLI."""

from __future__ import annotations

import json
import socket
import threading

import numpy as np
import pytest
from typer.testing import CliRunner

from models.sentiment import (
    SentimentArtifactsMissing,
    SentimentModel,
    load_sentiment_model,
    normalize_text,
    score_from_proba,
)

ANGRY = [
    "This is the third time your service has failed, I am absolutely furious.",
    "Worst support ever. Nobody answers and I'm losing money every day.",
    "I hate this app, it deleted all my data and you don't care.",
    "Unacceptable. Cancel my account now.",
]
HAPPY = [
    "Thank you so much, the agent fixed everything in minutes!",
    "Great service, really happy with the quick response.",
    "I love the new update, it works perfectly.",
    "Brilliant support team, thanks for going the extra mile.",
]
MIXED = ANGRY + HAPPY + ["What are your opening hours?", "Please update my address."]


# -- normalisation -----------------------------------------------------------------------------
def test_normalize_text_unescapes_and_masks() -> None:
    assert normalize_text("I\\u2019m here\\u002c ok") == "I\u2019m here, ok"
    assert normalize_text("hi \\ud83d\\ude00") == "hi \U0001f600"
    assert normalize_text("@Delta  lost my bag https://t.co/x &amp; more") == (
        "@user lost my bag http & more"
    )
    assert normalize_text("mail me at a@b.com") == "mail me at a@b.com"


# -- loading -----------------------------------------------------------------------------------
def test_missing_build_names_the_command(tmp_path) -> None:
    with pytest.raises(SentimentArtifactsMissing, match="escalation-risk build-sentiment"):
        load_sentiment_model(tmp_path)


def test_loads_and_predicts_without_network(sentiment_build, monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise OSError("network access attempted in an offline test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    model = load_sentiment_model(sentiment_build, threads=1)
    proba = model.predict_proba(["offline works"])
    assert proba.shape == (1, 3)


# -- outputs -----------------------------------------------------------------------------------
def test_shapes_ranges_and_order(sentiment_model) -> None:
    proba = sentiment_model.predict_proba(MIXED)
    assert proba.shape == (len(MIXED), 3)
    assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    assert ((proba >= 0) & (proba <= 1)).all()
    scores = sentiment_model.score(MIXED)
    assert scores.shape == (len(MIXED),)
    assert ((scores >= -1) & (scores <= 1)).all()
    assert np.allclose(scores, proba[:, 2] - proba[:, 0], atol=1e-6)
    # input order is kept although batches are sorted by length
    reversed_proba = sentiment_model.predict_proba(MIXED[::-1])
    assert np.allclose(reversed_proba[::-1], proba, atol=1e-6)
    emb = sentiment_model.embed(MIXED)
    assert emb.shape == (len(MIXED), 384)
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-3)
    assert sentiment_model.predict_proba([]).shape == (0, 3)


def test_angry_scores_below_happy(sentiment_model) -> None:
    angry, happy = sentiment_model.score(ANGRY), sentiment_model.score(HAPPY)
    assert angry.max() < happy.min()
    assert (angry < -0.3).all() and (happy > 0.3).all()
    assert sentiment_model.predict(ANGRY) == ["negative"] * len(ANGRY)
    assert sentiment_model.predict(HAPPY) == ["positive"] * len(HAPPY)


def test_deterministic_across_calls_and_instances(sentiment_build, sentiment_model) -> None:
    fresh = SentimentModel(sentiment_build, threads=2, cache_size=0)
    a = fresh.predict_proba(MIXED)
    b = fresh.predict_proba(MIXED)
    assert np.array_equal(a, b)
    other = SentimentModel(sentiment_build, threads=1, cache_size=0)
    assert np.allclose(other.predict_proba(MIXED), a, atol=1e-6)


SAME_LENGTH = [f"order {d} has not arrived and nobody answers" for d in "123456789"]


@pytest.mark.parametrize("batch_size", [1, 2, 3, 64])
def test_a_text_embeds_identically_whatever_its_batch_mates(sentiment_build, batch_size) -> None:
    # Batches hold texts of one token length (no padding) and a lone text runs as a pair, so a
    # text's embedding is bit for bit the same alone, in any batch, in any order.
    model = SentimentModel(sentiment_build, cache_size=0, batch_size=batch_size)
    texts = MIXED + SAME_LENGTH + ["a much longer message " * 40]
    single = np.concatenate([model.embed([t]) for t in texts])
    assert np.array_equal(model.embed(texts), single)
    assert np.array_equal(model.embed(texts[::-1])[::-1], single)
    assert np.array_equal(
        model.embed(SAME_LENGTH[3:] + MIXED[:2])[: len(SAME_LENGTH) - 3],
        single[len(MIXED) + 3 : len(MIXED) + len(SAME_LENGTH)],
    )
    reference = SentimentModel(sentiment_build, cache_size=0)
    assert np.array_equal(reference.embed(texts), single)


def test_batch_size_must_be_positive(sentiment_build) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        SentimentModel(sentiment_build, batch_size=0)


# -- cache -------------------------------------------------------------------------------------
def test_cache_hits_and_equal_results(sentiment_build) -> None:
    model = SentimentModel(sentiment_build, cache_size=100)
    first = model.embed(MIXED)
    assert model.cache.misses == len(MIXED) and model.cache.hits == 0
    second = model.embed(MIXED[::-1])
    assert model.cache.hits == len(MIXED)
    assert np.array_equal(second[::-1], first)
    # the key is the normalised text: extra spaces and another @handle hit the same entry
    again = model.embed(["  " + MIXED[0].replace(" ", "  ") + " "])
    assert np.array_equal(again[0], first[0])
    assert normalize_text("@Delta why") == normalize_text("@united why")
    # duplicates in one call are encoded once
    model.cache.clear()
    dup = model.embed(["same text", "same text", "other text"])
    assert len(model.cache) == 2
    assert np.array_equal(dup[0], dup[1])


def test_cache_evicts_least_recently_used(sentiment_build) -> None:
    model = SentimentModel(sentiment_build, cache_size=3)
    model.embed(["a one", "b two", "c three"])
    model.embed(["a one"])  # refresh a
    model.embed(["d four"])  # evicts b
    assert len(model.cache) == 3
    hits = model.cache.hits
    model.embed(["a one", "c three", "d four"])
    assert model.cache.hits == hits + 3
    misses = model.cache.misses
    model.embed(["b two"])
    assert model.cache.misses == misses + 1


def test_cached_results_match_uncached(sentiment_build) -> None:
    cached = SentimentModel(sentiment_build, cache_size=1000)
    plain = SentimentModel(sentiment_build, cache_size=0)
    assert np.array_equal(cached.predict_proba(MIXED), plain.predict_proba(MIXED))
    assert np.array_equal(cached.predict_proba(MIXED), plain.predict_proba(MIXED))


@pytest.mark.parametrize("cache_size", [0, 5, 1000])
def test_thread_safe_reads(sentiment_build, cache_size) -> None:
    model = SentimentModel(sentiment_build, cache_size=cache_size)
    expected = SentimentModel(sentiment_build, cache_size=0).embed(MIXED)
    results: list[np.ndarray] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(3):
                results.append(model.embed(MIXED))
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 12
    for result in results:
        assert np.array_equal(result, expected)


# -- ONNX vs torch -----------------------------------------------------------------------------
@pytest.mark.slow
def test_onnx_matches_torch_reference(sentiment_build) -> None:
    from models.encoder import TorchSentimentReference

    texts = MIXED + ["a much longer message " * 20, "ok"]
    ref = TorchSentimentReference(threads=2)
    torch_emb = ref.embed(texts)
    fp32 = SentimentModel(sentiment_build, cache_size=0)  # the served path
    int8 = SentimentModel(sentiment_build, precision="int8", cache_size=0)
    assert np.abs(fp32.embed(texts) - torch_emb).max() < 1e-4
    cos = np.sum(int8.embed(texts) * torch_emb, axis=1)
    assert cos.min() > 0.95
    assert np.abs(int8.predict_proba(texts) - ref.predict_proba(texts)).max() < 0.15


# -- accuracy guard on real data ----------------------------------------------------------------
@pytest.mark.slow
def test_macro_recall_on_tweeteval_sample(sentiment_model, shared_sentiment_dir) -> None:
    from training.sentiment.evaluate import sentiment_metrics

    folder = shared_sentiment_dir / "tweeteval-val"
    texts = (folder / "val_text.txt").read_text(encoding="utf-8").splitlines()[:400]
    labels = np.array([int(y) for y in (folder / "val_labels.txt").read_text().split()[:400]])
    pred = sentiment_model.predict_proba(texts).argmax(axis=1)
    assert sentiment_metrics(labels, pred)["macro_recall"] > 0.65


# -- CLI ---------------------------------------------------------------------------------------
@pytest.fixture
def cli(sentiment_build):
    from cli.main import app

    runner = CliRunner()
    return lambda args, **kw: runner.invoke(app, args, **kw)


def _rows(output: str) -> list[dict[str, float]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_cli_scores_texts_in_order(cli, sentiment_model) -> None:
    result = cli(["sentiment", ANGRY[0], HAPPY[0], "ok"])
    assert result.exit_code == 0, result.output
    rows = _rows(result.stdout)
    assert len(rows) == 3
    for row in rows:
        assert set(row) == {"negative", "neutral", "positive", "score"}
        assert abs(row["negative"] + row["neutral"] + row["positive"] - 1) < 1e-3
        assert -1 <= row["score"] <= 1
    assert rows[0]["score"] < 0 < rows[1]["score"]
    expected = score_from_proba(sentiment_model.predict_proba([ANGRY[0], HAPPY[0], "ok"]))
    assert np.allclose([r["score"] for r in rows], expected, atol=2e-4)


def test_cli_reads_file_and_stdin(cli, tmp_path) -> None:
    path = tmp_path / "texts.txt"
    path.write_text("\n".join([HAPPY[1], ANGRY[1]]) + "\n", encoding="utf-8")
    from_file = _rows(cli(["sentiment", "--input", str(path)]).stdout)
    from_stdin = _rows(cli(["sentiment", "--input", "-"], input=path.read_text()).stdout)
    assert len(from_file) == 2 and from_file == from_stdin
    assert from_file[0]["score"] > from_file[1]["score"]


def test_cli_rejects_blank_lines_and_bad_usage(cli, tmp_path) -> None:
    path = tmp_path / "texts.txt"
    path.write_text("fine\n\nalso fine\n", encoding="utf-8")
    result = cli(["sentiment", "--input", str(path)])
    assert result.exit_code == 2
    assert "line 2" in result.output
    assert cli(["sentiment"]).exit_code == 2
    assert cli(["sentiment", "x", "--input", str(path)]).exit_code == 2
    assert cli(["sentiment", "--input", str(tmp_path / "missing.txt")]).exit_code == 2
