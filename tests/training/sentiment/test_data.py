"""Loading the labelled tweets: SemEval dedup, the leakage guard, splits, counts, digests."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from models.sentiment import ARTIFACTS_DIR, META_FILE
from training.sentiment.data import (
    DEFAULT_DATA_DIR,
    load_sentiment_data,
    read_semeval,
    sentiment_data_dir,
)

LABELS = ("negative", "neutral", "positive")


def _write_data(root: Path, n_airline: int = 60) -> Path:
    """A miniature ../shared/data: two SemEval files, tweeteval-val, airline tweets."""
    sem = root / "sentiment" / "semeval2013-2016"
    val = root / "sentiment" / "tweeteval-val"
    air = root / "sentiment" / "airline"
    for folder in (sem, val, air):
        folder.mkdir(parents=True)
    lines_a = [f"{i}\t{LABELS[i % 3]}\tsemeval tweet number {i} @someone" for i in range(30)]
    lines_a += ["bad line without tabs", "99\tnot-a-label\tdropped"]
    (sem / "a.tsv").write_text("\n".join(lines_a) + "\n", encoding="utf-8")
    # Tweet 0 again (a duplicate id, other text) and a tweet equal to a tweeteval-val text.
    lines_b = ["0\tpositive\tduplicate id, dropped", "100\tneutral\tthe   validation tweet"]
    (sem / "b.tsv").write_text("\n".join(lines_b) + "\n", encoding="utf-8")
    (val / "val_text.txt").write_text("the validation tweet\nanother one &amp; more\n")
    (val / "val_labels.txt").write_text("1\n2\n")
    pd.DataFrame(
        {
            "tweet_id": [str(1000 + i) for i in range(n_airline)] + ["1000"],
            "airline_sentiment": [LABELS[i % 3] for i in range(n_airline)] + ["negative"],
            "text": [f"@united flight {i} http://t.co/x" for i in range(n_airline)] + ["dup"],
        }
    ).to_csv(air / "airline_tweets_dev.csv", index=False)
    return root


def test_missing_folder_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="shared/data/sentiment"):
        sentiment_data_dir(tmp_path)


def test_read_semeval_dedups_by_id_and_skips_bad_lines(tmp_path) -> None:
    root = _write_data(tmp_path) / "sentiment" / "semeval2013-2016"
    frame = read_semeval(root)
    assert list(frame.columns) == ["tweet_id", "label", "text", "file"]
    assert len(frame) == 31  # 30 + tweet 100; the second tweet 0 and the bad lines are dropped
    assert frame["tweet_id"].is_unique
    first = frame.loc[frame["tweet_id"] == "0"].iloc[0]
    assert (first["label"], first["file"]) == ("negative", "a.tsv")


def test_load_splits_counts_and_digests(tmp_path) -> None:
    root = _write_data(tmp_path)
    data = load_sentiment_data(root, seed=13, airline_holdout=0.2, dev_fraction=0.1)
    counts = data.counts
    assert counts["semeval_pool_dedup"] == 31
    assert counts["semeval_dropped_as_tweeteval_val_duplicates"] == 1  # the leakage guard
    assert counts["semeval_used"] == 30
    assert counts["airline_total"] == 60  # the duplicate tweet id is dropped
    assert counts["airline_holdout"] == 12 and counts["airline_train"] == 48
    assert counts["train"] + counts["dev"] == 30 + 48
    assert len(data.train) == counts["train"] and len(data.dev) == counts["dev"]
    assert sum(counts["train_label_counts"].values()) == counts["train"]
    # normalised texts, integer labels, no evaluation text in the pool
    assert data.tweeteval_val["text"].tolist() == ["the validation tweet", "another one & more"]
    assert data.tweeteval_val["label"].tolist() == [1, 2]
    pool = pd.concat([data.train, data.dev])
    assert not set(pool["text"]) & set(data.tweeteval_val["text"])
    assert not set(pool["text"]) & set(data.airline_holdout["text"])
    assert all(t.startswith("@user flight") for t in data.airline_holdout["text"])
    assert set(pool["label"]) <= {0, 1, 2}
    assert data.airline_holdout["label"].value_counts().tolist() == [4, 4, 4]  # stratified
    assert set(pool["source"]) == {"semeval", "airline"}
    sem_file = root / "sentiment" / "semeval2013-2016" / "a.tsv"
    assert (
        data.digests["semeval2013-2016/a.tsv"] == hashlib.sha256(sem_file.read_bytes()).hexdigest()
    )
    assert len(data.digests) == 5


def test_load_is_deterministic_for_a_seed(tmp_path) -> None:
    root = _write_data(tmp_path)
    a = load_sentiment_data(root, seed=5, airline_holdout=0.2, dev_fraction=0.1)
    b = load_sentiment_data(root, seed=5, airline_holdout=0.2, dev_fraction=0.1)
    c = load_sentiment_data(root, seed=6, airline_holdout=0.2, dev_fraction=0.1)
    pd.testing.assert_frame_equal(a.train, b.train)
    assert a.airline_holdout["text"].tolist() != c.airline_holdout["text"].tolist()


@pytest.mark.slow
def test_the_shared_data_reproduces_the_committed_training_data() -> None:
    if not (DEFAULT_DATA_DIR / "sentiment").is_dir():
        pytest.skip(f"labelled sentiment data not found at {DEFAULT_DATA_DIR / 'sentiment'}")
    meta = json.loads((ARTIFACTS_DIR / META_FILE).read_text())
    config = meta["train_config"]
    data = load_sentiment_data(
        DEFAULT_DATA_DIR, config["seed"], config["airline_holdout"], config["dev_fraction"]
    )
    assert data.counts == meta["data"]["counts"]
    assert data.digests == meta["data"]["sha256"]
