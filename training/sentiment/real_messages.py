"""Intents and sentiment measured on hand-labelled real customer messages.

The labels (``tests/models/real_messages.jsonl``, guide in ``real_messages_GUIDE.md`` beside it)
name each message by its source and id only: the conversation data's licences forbid copying the
text into this repository, so the text is read from ``../shared/data/conversations`` at
evaluation time and checked against the BLAKE2b digest stored with each label.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from features.text import INTENTS
from models.intents import IntentModel
from models.sentiment import LABELS, SentimentModel
from training.sentiment.data import DEFAULT_DATA_DIR
from training.sentiment.evaluate import sentiment_metrics

REPO_ROOT = Path(__file__).resolve().parents[2]
REAL_MESSAGES_FILE = REPO_ROOT / "tests" / "models" / "real_messages.jsonl"
SOURCES = ("twcs", "ibm")


def text_digest(text: str) -> str:
    """The 64-bit BLAKE2b hex digest stored with each label to check the text read back."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


def customer_texts(data_dir: Path = DEFAULT_DATA_DIR) -> dict[tuple[str, str], str]:
    """Every customer message of the two conversation sets, keyed ``(source, id)``.

    ``twcs``: inbound tweets of ``twcs/twcs_head_sample.csv`` by ``tweet_id``; ``ibm``: the
    messages of ``ibm-customer-care/{dev,test}.json`` not written by an agent, by ``tweet_ID``.

    Raises:
        FileNotFoundError: naming the missing file.
    """
    root = Path(data_dir) / "conversations"
    twcs = root / "twcs" / "twcs_head_sample.csv"
    ibm = [root / "ibm-customer-care" / f"{split}.json" for split in ("dev", "test")]
    for path in (twcs, *ibm):
        if not path.exists():
            raise FileNotFoundError(f"conversation data {path} is missing")
    texts: dict[tuple[str, str], str] = {}
    with twcs.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["inbound"] == "True":
                texts[("twcs", row["tweet_id"])] = row["text"]
    for path in ibm:
        for conversation in json.loads(path.read_text(encoding="utf-8")):
            for message in conversation["dialogContent"]:
                if "agent" not in message:
                    texts[("ibm", message["tweet_ID"])] = message["message"]
    return texts


def load_real_messages(
    labels_path: Path = REAL_MESSAGES_FILE, data_dir: Path = DEFAULT_DATA_DIR
) -> list[dict[str, Any]]:
    """The labelled messages with their text: ``{"source", "id", "text", "intents", "sentiment"}``.

    Raises:
        FileNotFoundError: the labels or the conversation data are missing.
        ValueError: an unknown source, intent or sentiment label, or a text whose digest no
            longer matches its label (the data changed), naming the row.
    """
    texts = customer_texts(data_dir)
    rows = []
    for n, line in enumerate(Path(labels_path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        where = f"{labels_path}:{n}"
        if row["source"] not in SOURCES:
            raise ValueError(f"{where}: unknown source {row['source']!r}")
        if set(row["intents"]) - set(INTENTS) or row["sentiment"] not in LABELS:
            raise ValueError(f"{where}: unknown label in {row['intents']} / {row['sentiment']!r}")
        text = texts.get((row["source"], row["id"]))
        if text is None or text_digest(text) != row["text_blake2b"]:
            raise ValueError(f"{where}: message {row['source']}/{row['id']} not found or changed")
        rows.append({**row, "text": text})
    return rows


def evaluate_real_messages(
    sentiment: SentimentModel, intents: IntentModel, rows: list[dict[str, Any]]
) -> dict[str, Any]:
    """Precision, recall and counts per intent; sentiment accuracy and recall per class.

    Returns:
        ``{"n", "intents": {intent: {"precision", "recall", "support", "predicted", "tp"}},
        "sentiment": {"accuracy", "macro_recall", "recall_<label>"..., "n"}}``; precision or
        recall is None where nothing was predicted or nothing is labelled.
    """
    texts = [row["text"] for row in rows]
    Y = np.array([[name in row["intents"] for name in INTENTS] for row in rows], dtype=bool)
    flags = intents.predict(texts)[list(INTENTS)].to_numpy(dtype=bool)
    report: dict[str, Any] = {"n": len(rows), "intents": {}}
    for j, name in enumerate(INTENTS):
        tp, predicted, support = (
            int((flags[:, j] & Y[:, j]).sum()),
            int(flags[:, j].sum()),
            int(Y[:, j].sum()),
        )
        report["intents"][name] = {
            "precision": round(tp / predicted, 3) if predicted else None,
            "recall": round(tp / support, 3) if support else None,
            "support": support,
            "predicted": predicted,
            "tp": tp,
        }
    y_true = np.array([LABELS.index(row["sentiment"]) for row in rows])
    y_pred = sentiment.predict_proba(texts).argmax(axis=1)
    report["sentiment"] = sentiment_metrics(y_true, y_pred)
    return report
