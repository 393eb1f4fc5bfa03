"""Context loss at a handoff: does the customer repeat what they had already told the desk?

Detection: the customer's messages are cut into sentences (newlines and sentence ends; sentences
under four words, i.e. greetings, sign-offs and "OK.", are dropped). For each handoff, every
sentence of the customer's first messages after it (up to three, before the next handoff) is
compared with every sentence the customer wrote on the ticket before it, by cosine similarity of
sentence embeddings from the project's MiniLM (the packaged all-MiniLM-L6-v2, mean-pooled and
L2-normalised, *without* the sentiment adapter: the adapter tunes the space for sentiment, the
plain model for semantic similarity). The handoff lost context when the best match reaches the
threshold.

The threshold is chosen, not guessed: on the hand-written labelled pairs of
``repeat_pairs.json`` (a sentence before a handoff, one after, labelled 1 when the second repeats
information of the first), the threshold with the best F1 (ties: the higher one). The report
prints it with its precision and recall on those pairs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from features.schema import SupportData

PAIRS_FILE = Path(__file__).with_name("repeat_pairs.json")
MIN_WORDS = 4
AFTER_MESSAGES = 3
BEFORE_MESSAGES = 10
# A sentence written on this many tickets' customer messages (at least 5 tickets) is
# boilerplate ("Any update?", a signature line), not information the customer gives.
BOILERPLATE_SHARE = 0.01
_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")
_NON_WORD = re.compile(r"[^a-z0-9]+")


class Embedder(Protocol):
    """Anything that turns texts into L2-normalised vectors, ``(n, d)`` float32."""

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class MiniLMEmbedder:
    """The packaged all-MiniLM-L6-v2 in torch (no adapter), offline. Loads on construction."""

    def __init__(self, threads: int = 2, batch_size: int = 64) -> None:
        import torch
        from transformers import AutoTokenizer

        from models.encoder import load_encoder
        from models.sentiment import packaged_model_path

        torch.set_num_threads(threads)
        self.batch_size = batch_size
        self.encoder = load_encoder(None, None)
        self.tokenizer = AutoTokenizer.from_pretrained(
            str(packaged_model_path()), local_files_only=True
        )

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        from models.sentiment import EMBEDDING_DIM, MAX_LENGTH

        out = np.empty((len(texts), EMBEDDING_DIM), dtype=np.float32)
        # Batches of similar length waste little on padding (mean pooling ignores padding).
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                batch = self.tokenizer(
                    [texts[i] for i in idx],
                    padding=True,
                    truncation=True,
                    max_length=MAX_LENGTH,
                    return_tensors="pt",
                )
                out[idx] = self.encoder(batch["input_ids"], batch["attention_mask"]).numpy()
        return out


def sentences(text: str | None) -> list[str]:
    """The sentences of a message worth comparing (four words or more), stripped."""
    if not text:
        return []
    parts = (p.strip() for p in _SPLIT.split(text))
    return [p for p in parts if len(p.split()) >= MIN_WORDS]


def sentence_key(sentence: str) -> str:
    """A sentence's words, lower case, without punctuation (for the boilerplate count)."""
    return _NON_WORD.sub(" ", sentence.lower()).strip()


def boilerplate(messages: pd.DataFrame) -> set[str]:
    """Keys (:func:`sentence_key`) of the sentences found on at least 1% of the tickets (and
    at least 5) of ``messages`` (columns ticket_id, text)."""
    rows = [
        (t, sentence_key(s))
        for t, text in zip(messages["ticket_id"], messages["text"], strict=True)
        for s in sentences(text)
    ]
    if not rows:
        return set()
    per_ticket = pd.DataFrame(rows, columns=["ticket_id", "s"]).drop_duplicates()
    counts = per_ticket["s"].value_counts()
    floor = max(5, BOILERPLATE_SHARE * messages["ticket_id"].nunique())
    return set(counts.index[counts >= floor])


@dataclass(frozen=True)
class Threshold:
    """The chosen similarity threshold and how it does on the labelled pairs."""

    value: float
    precision: float
    recall: float
    f1: float
    pairs: int
    positives: int


def labelled_pairs() -> list[tuple[str, str, int]]:
    raw = json.loads(PAIRS_FILE.read_text())
    return [(a, b, int(y)) for a, b, y in raw["pairs"]]


def choose_threshold(
    embedder: Embedder, pairs: list[tuple[str, str, int]] | None = None
) -> Threshold:
    """The F1-best cosine threshold on labelled (before, after, repeats?) pairs."""
    pairs = pairs if pairs is not None else labelled_pairs()
    a = embedder.embed([p[0] for p in pairs])
    b = embedder.embed([p[1] for p in pairs])
    sim = np.sum(a * b, axis=1)
    y = np.array([p[2] for p in pairs], dtype=bool)
    best: Threshold | None = None
    for t in np.unique(sim):
        pred = sim >= t
        tp = int((pred & y).sum())
        prec = tp / pred.sum() if pred.sum() else 0.0
        rec = tp / y.sum() if y.sum() else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        if best is None or f1 >= best.f1:
            best = Threshold(
                round(float(t), 4),
                round(prec, 4),
                round(rec, 4),
                round(f1, 4),
                len(pairs),
                int(y.sum()),
            )
    if best is None:
        raise ValueError("no labelled pairs to choose a threshold from")
    return best


def context_loss(
    data: SupportData, handoffs: pd.DataFrame, embedder: Embedder, threshold: float
) -> pd.DataFrame:
    """Per handoff: ``context_similarity`` (best match, NaN when not measurable),
    ``context_lost`` (bool; missing when the customer wrote nothing comparable before the
    handoff or after it) and the best-matching sentences ``context_before``/``context_after``. ``handoffs`` from :func:`training.report.metrics.handoff_table`.
    """
    e = data.events.reset_index(drop=True)
    cust = e["event_type"].to_numpy(dtype=object) == "customer_message"
    cust_rows = np.flatnonzero(cust)
    texts = e["text"].astype(object).to_numpy()
    tid = e["ticket_id"].to_numpy(dtype=object)
    next_pos = handoffs.groupby("ticket_id")["pos"].shift(-1).to_numpy(dtype="float64")

    boiler = boilerplate(e.loc[cust, ["ticket_id", "text"]])

    def split(row: int) -> list[str]:
        return [s for s in sentences(texts[row]) if sentence_key(s) not in boiler]

    work: list[tuple[list[str], list[str]]] = []
    for i, (ticket, pos) in enumerate(zip(handoffs["ticket_id"], handoffs["pos"], strict=True)):
        lo = np.searchsorted(cust_rows, pos)
        # The ticket's customer rows: a contiguous run, since events are sorted by ticket.
        start = lo
        while start > 0 and lo - start < BEFORE_MESSAGES and tid[cust_rows[start - 1]] == ticket:
            start -= 1
        before = [s for r in cust_rows[start:lo] for s in split(r)]
        stop = next_pos[i] if np.isfinite(next_pos[i]) else np.inf
        after_rows = [
            r for r in cust_rows[lo : lo + AFTER_MESSAGES] if tid[r] == ticket and r < stop
        ]
        after = [s for r in after_rows for s in split(r)]
        work.append((before, after))

    unique = sorted({s for before, after in work if before and after for s in before + after})
    index = {s: i for i, s in enumerate(unique)}
    vectors = embedder.embed(unique) if unique else np.empty((0, 1), np.float32)
    sim = np.full(len(work), np.nan)
    pair: list[tuple[str | None, str | None]] = [(None, None)] * len(work)
    for i, (before, after) in enumerate(work):
        if before and after:
            va = vectors[[index[s] for s in after]]
            vb = vectors[[index[s] for s in before]]
            m = va @ vb.T
            k = int(np.argmax(m))
            sim[i] = float(m.flat[k])
            pair[i] = (before[k % len(before)], after[k // len(before)])
    lost = pd.array([None if np.isnan(s) else bool(s >= threshold) for s in sim], dtype="boolean")
    return pd.DataFrame(
        {
            "context_similarity": np.round(sim, 4),
            "context_lost": lost,
            "context_before": [b for b, _ in pair],
            "context_after": [a for _, a in pair],
        }
    )
