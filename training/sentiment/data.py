"""The labelled tweets the sentiment head is trained and measured on (``../shared/data``).

SemEval 2013-2016 task 4A (deduplicated by tweet id) plus the airline tweets minus a seeded
hold-out form the training pool; TweetEval's validation split and the airline hold-out are only
measured. Every text goes through :func:`models.sentiment.normalize_text`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from models.build import file_sha256
from models.sentiment import LABELS, normalize_text

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"
LABEL_TO_ID = {label: i for i, label in enumerate(LABELS)}


@dataclass
class SentimentData:
    """Texts (already normalised) and integer labels (0 neg, 1 neu, 2 pos).

    Frames have columns ``text``, ``label``, ``source``.
    """

    train: pd.DataFrame
    dev: pd.DataFrame
    tweeteval_val: pd.DataFrame
    airline_holdout: pd.DataFrame
    digests: dict[str, str] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)


def sentiment_data_dir(data_dir: Path = DEFAULT_DATA_DIR) -> Path:
    """``<data_dir>/sentiment``, or a clear error when the shared data folder is missing."""
    folder = Path(data_dir) / "sentiment"
    if not folder.is_dir():
        raise FileNotFoundError(
            f"labelled sentiment data not found at {folder}: expected ../shared/data/sentiment "
            "next to the repository (see ../shared/data/README.md)"
        )
    return folder


def read_semeval(folder: Path) -> pd.DataFrame:
    """SemEval 2013-2016 task 4A pool, deduplicated by tweet id (first occurrence kept).

    Reads every ``*.tsv`` in ``folder`` (name order), lines ``tweet_id<TAB>label<TAB>text``;
    lines with another shape or label are skipped. Columns: ``tweet_id``, ``label`` (the word),
    ``text`` (raw), ``file``.
    """
    rows = []
    for path in sorted(Path(folder).glob("*.tsv")):
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.split("\t", 2)
            if len(parts) != 3 or parts[1] not in LABEL_TO_ID:
                continue
            rows.append((parts[0], parts[1], parts[2], path.name))
    frame = pd.DataFrame(rows, columns=["tweet_id", "label", "text", "file"])
    return frame.drop_duplicates("tweet_id", keep="first").reset_index(drop=True)


def load_sentiment_data(
    data_dir: Path = DEFAULT_DATA_DIR,
    seed: int = 13,
    airline_holdout: float = 0.15,
    dev_fraction: float = 0.04,
) -> SentimentData:
    """Load the labelled sets: training pool, a dev slice of it, and the two evaluation sets.

    The airline hold-out is a seeded, stratified ``airline_holdout`` share of the airline tweets;
    the dev slice (``dev_fraction`` of the rest, seeded) picks the head's regularisation.
    Pool tweets whose normalised text equals a tweeteval-val text are dropped (leakage guard).

    Raises:
        FileNotFoundError: when ``<data_dir>/sentiment`` is missing.
    """
    from sklearn.model_selection import train_test_split

    root = sentiment_data_dir(data_dir)
    sem_dir, val_dir, air_dir = root / "semeval2013-2016", root / "tweeteval-val", root / "airline"
    files = sorted(sem_dir.glob("*.tsv")) + [
        val_dir / "val_text.txt",
        val_dir / "val_labels.txt",
        air_dir / "airline_tweets_dev.csv",
    ]
    digests = {str(p.relative_to(root)): file_sha256(p) for p in files}

    val_text = (val_dir / "val_text.txt").read_text(encoding="utf-8").splitlines()
    val_labels = (val_dir / "val_labels.txt").read_text().split()
    tweeteval_val = pd.DataFrame(
        {
            "text": [normalize_text(t) for t in val_text],
            "label": [int(y) for y in val_labels],
            "source": "tweeteval-val",
        }
    )

    semeval = read_semeval(sem_dir)
    semeval["text"] = semeval["text"].map(normalize_text)
    semeval["label"] = semeval["label"].map(LABEL_TO_ID)
    n_pool = len(semeval)
    semeval = semeval[~semeval["text"].isin(set(tweeteval_val["text"]))]
    semeval = semeval.assign(source="semeval")[["text", "label", "source"]]

    airline = pd.read_csv(air_dir / "airline_tweets_dev.csv", dtype={"tweet_id": str})
    airline = airline.drop_duplicates("tweet_id").reset_index(drop=True)
    airline = pd.DataFrame(
        {
            "text": airline["text"].astype(str).map(normalize_text),
            "label": airline["airline_sentiment"].map(LABEL_TO_ID).astype(int),
            "source": "airline",
        }
    )
    air_train, air_test = train_test_split(
        airline, test_size=airline_holdout, random_state=seed, stratify=airline["label"]
    )
    pool = pd.concat([semeval, air_train], ignore_index=True)
    train, dev = train_test_split(
        pool, test_size=dev_fraction, random_state=seed, stratify=pool["label"]
    )
    counts = {
        "semeval_pool_dedup": int(n_pool),
        "semeval_dropped_as_tweeteval_val_duplicates": int(n_pool - len(semeval)),
        "semeval_used": int(len(semeval)),
        "airline_total": int(len(airline)),
        "airline_train": int(len(air_train)),
        "airline_holdout": int(len(air_test)),
        "train": int(len(train)),
        "dev": int(len(dev)),
        "tweeteval_val": int(len(tweeteval_val)),
        "train_label_counts": {
            LABELS[k]: int(v) for k, v in train["label"].value_counts().sort_index().items()
        },
    }
    return SentimentData(
        train=train.reset_index(drop=True),
        dev=dev.reset_index(drop=True),
        tweeteval_val=tweeteval_val,
        airline_holdout=air_test.reset_index(drop=True),
        digests=digests,
        counts=counts,
    )
