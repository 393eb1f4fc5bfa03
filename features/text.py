"""Per-message text signals: transformer sentiment, risk intents and lexical intensity.

Signals are computed once per distinct customer message and attached to the events table as
columns (NaN on other events). Feature code reads only these columns, never raw model output, so
a test or an offline job can plug in any scorer with the same columns.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

# escalation_request: the customer asks for escalation, a manager, a supervisor or someone senior;
# executive: the customer's own executives are involved in the problem; competitor: a competitor
# or another vendor is named as the alternative; renewal: the renewal decision is at stake.
INTENTS = (
    "legal",
    "churn",
    "executive",
    "escalation_request",
    "competitor",
    "renewal",
    "security",
    "billing",
    "outage",
    "follow_up",
)
# Intents that are risks in themselves (a follow-up is counted instead).
RISK_INTENTS = tuple(i for i in INTENTS if i != "follow_up")
SIGNAL_COLUMNS = ("sentiment", "p_negative", *(f"intent_{i}" for i in INTENTS))
_CAPS = r"\b[A-Z]{4,}\b"
_CAPS_RE = re.compile(_CAPS)
# A sentence: text up to its closing punctuation (a line without one, such as a signature, is
# not a sentence here).
_SENTENCE_RE = re.compile(r"[^.!?\n]*[.!?]+")
_WORD_RE = re.compile(r"[^\W\d_]+")


def shouted_words(text: str) -> int:
    """All-caps words (4+ letters) in sentences written mostly in capitals or exclaimed.

    A capitalised name or acronym inside an ordinary sentence ("JANET says the SAML login
    fails.") or a signature line ("CARLA JIMENEZ, Head of Operations") is not shouting; a
    sentence in capitals ("THIS IS UNACCEPTABLE.") or an exclaimed one ("This is
    UNACCEPTABLE!!") is.
    """
    n = 0
    for m in _SENTENCE_RE.finditer(text):
        sentence = m.group(0)
        caps = len(_CAPS_RE.findall(sentence))
        if caps and (sentence.endswith("!") or 2 * caps > len(_WORD_RE.findall(sentence))):
            n += caps
    return n


class TextScorer(Protocol):
    """Anything that turns texts into the signal columns (one row per text, in order).

    ``version`` names the scorer's artifacts (it keys the on-disk signal cache); the transformer
    implementation is ``models.text_scorer.TransformerTextScorer``.
    """

    version: str

    def score_texts(self, texts: Sequence[str]) -> pd.DataFrame: ...


def text_hash(texts: pd.Series) -> pd.Series:
    return texts.map(lambda t: hashlib.blake2b(t.encode(), digest_size=12).hexdigest())


class SignalCache:
    """A Parquet cache of text signals keyed by a hash of the text (survives between runs)."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path else None
        self._frame = pd.DataFrame(columns=["key", *SIGNAL_COLUMNS])
        if self.path is not None and self.path.exists():
            self._frame = pd.read_parquet(self.path)

    def lookup(self, keys: pd.Series) -> pd.DataFrame:
        return self._frame.set_index("key").reindex(keys.to_numpy())

    def add(self, keys: Sequence[str], signals: pd.DataFrame) -> None:
        new = signals.reset_index(drop=True).assign(key=list(keys))
        self._frame = pd.concat([self._frame, new], ignore_index=True).drop_duplicates("key")
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._frame.to_parquet(self.path, index=False)


def attach_text_signals(
    events: pd.DataFrame,
    scorer: TextScorer | None,
    cache: SignalCache | None = None,
    batch_size: int = 512,
) -> pd.DataFrame:
    """Add signal columns to ``events``: values on customer messages with text, NaN elsewhere.

    Also adds ``intensity`` (exclamation marks + shouted words, see ``shouted_words``) and ``length`` (characters),
    which need no model. With ``scorer=None`` the model columns are NaN (text-free data such as
    IT-incident logs): features then see missing values, never invented ones.
    """
    etype = events["event_type"].to_numpy(dtype=object)
    raw = events["text"].to_numpy(dtype=object, na_value=None)
    is_msg = (etype == "customer_message") & (raw != None)  # noqa: E711 - elementwise
    texts = [str(t) for t in raw[is_msg]]
    n = len(events)
    cols: dict[str, np.ndarray] = {c: np.full(n, np.nan) for c in ("intensity", "length")}
    if texts:
        # Python's re (Unicode word boundaries), as pandas' str.count used before: the same
        # counts for any text in batch and online.
        cols["intensity"][is_msg] = [t.count("!") + shouted_words(t) for t in texts]
        cols["length"][is_msg] = [len(t) for t in texts]
    for col in SIGNAL_COLUMNS:
        cols[col] = np.full(n, np.nan)
    if scorer is not None and texts:
        if cache is None:  # the serving path: a handful of texts, embeddings cached in memory
            unique = list(dict.fromkeys(texts))
            scored = scorer.score_texts(unique)
            position = {t: i for i, t in enumerate(unique)}
            at = np.array([position[t] for t in texts], dtype=np.int64)
            for col in SIGNAL_COLUMNS:
                cols[col][is_msg] = scored[col].to_numpy(dtype="float64")[at]
        else:
            known = _cached_signals(pd.Series(texts, dtype=object), scorer, cache, batch_size)
            for col in SIGNAL_COLUMNS:
                cols[col][is_msg] = known[col].to_numpy(dtype="float64")
    # One concatenation (assign would insert the columns one by one).
    added = pd.DataFrame(cols, index=events.index)
    return pd.concat([events.drop(columns=list(cols), errors="ignore"), added], axis=1)


def _cached_signals(
    text: pd.Series, scorer: TextScorer, cache: SignalCache, batch_size: int
) -> pd.DataFrame:
    """Signals for each text, scoring only those the cache lacks (and adding them to it)."""
    keys = text_hash(text)
    known = cache.lookup(keys)
    missing = known["sentiment"].isna().to_numpy()
    if missing.any():
        todo = pd.Series(text.to_numpy()[missing], index=keys.to_numpy()[missing])
        todo = todo[~todo.index.duplicated()]
        log.info("scoring %d new customer messages (%d cached)", len(todo), (~missing).sum())
        parts = []
        from tqdm import tqdm

        for start in tqdm(
            range(0, len(todo), batch_size), desc="sentiment", disable=len(todo) < 5 * batch_size
        ):
            parts.append(scorer.score_texts(todo.iloc[start : start + batch_size].tolist()))
        cache.add(todo.index.tolist(), pd.concat(parts, ignore_index=True))
        known = cache.lookup(keys)
    return known
