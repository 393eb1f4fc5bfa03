"""Text scoring on the workers: one scorer per worker (a worker plugin), each text once."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from distributed.diagnostics.plugin import WorkerPlugin

from features.pipeline import default_cache_path
from features.schema import SupportData
from features.text import SIGNAL_COLUMNS, SignalCache, TextScorer, attach_text_signals, text_hash

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScorerSpec:
    """How workers get a text scorer: ``factory()`` builds it, once per worker, on first use.

    ``version`` names the scorer's artifacts (the signal cache's key); the client never loads the
    model itself. ``ScorerSpec.of(scorer)`` ships an existing, picklable scorer instead.
    """

    factory: Callable[[], TextScorer]
    version: str | None

    @classmethod
    def of(cls, scorer: TextScorer) -> ScorerSpec:
        return cls(_Given(scorer), getattr(scorer, "version", None))

    @property
    def plugin_name(self) -> str:
        return f"escalation-risk-text-scorer-{self.version or 'unversioned'}"


class _Given:
    """A factory returning a scorer built elsewhere (picklable when the scorer is)."""

    def __init__(self, scorer: TextScorer) -> None:
        self.scorer = scorer

    def __call__(self) -> TextScorer:
        return self.scorer


class TextScorerPlugin(WorkerPlugin):
    """A worker plugin holding the worker's one text scorer, loaded on first use."""

    def __init__(self, spec: ScorerSpec) -> None:
        self.spec = spec
        self.name = spec.plugin_name
        self._scorer: TextScorer | None = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"spec": self.spec, "name": self.name}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["spec"])

    def setup(self, worker) -> None:
        self._scorer = None

    @property
    def scorer(self) -> TextScorer:
        with self._lock:  # threads of one worker share the one model
            if self._scorer is None:
                log.info("loading text scorer %s on this worker", self.spec.version)
                self._scorer = self.spec.factory()
            return self._scorer


def _worker_scorer(plugin_name: str) -> TextScorer:
    from distributed import get_worker

    return get_worker().plugins[plugin_name].scorer


def _message_texts(events: pd.DataFrame) -> pd.DataFrame:
    """key, text of the customer messages attach_text_signals scores (one row per distinct key)."""
    etype = events["event_type"].to_numpy(dtype=object)
    raw = events["text"].to_numpy(dtype=object, na_value=None)
    is_msg = (etype == "customer_message") & (raw != None)  # noqa: E711 - elementwise
    text = pd.Series([str(t) for t in raw[is_msg]], dtype=object)
    out = pd.DataFrame({"key": text_hash(text).to_numpy(dtype=object), "text": text.to_numpy()})
    return out.drop_duplicates("key", ignore_index=True)


def part_texts(part: SupportData) -> pd.DataFrame:
    return _message_texts(part.events)


def score_part_texts(
    texts: pd.DataFrame, keys: np.ndarray, plugin_name: str, batch_size: int
) -> pd.DataFrame:
    """Signals (key + SIGNAL_COLUMNS) of this partition's texts named by ``keys`` (a worker)."""
    todo = texts[texts["key"].isin(keys)]
    if todo.empty:
        return pd.DataFrame(columns=["key", *SIGNAL_COLUMNS])
    scorer = _worker_scorer(plugin_name)
    parts = [
        scorer.score_texts(todo["text"].iloc[i : i + batch_size].tolist())
        for i in range(0, len(todo), batch_size)
    ]
    signals = pd.concat(parts, ignore_index=True)[list(SIGNAL_COLUMNS)]
    return signals.assign(key=todo["key"].to_numpy())


class _KnownSignals:
    """The scorer a partition attaches with: every text's signals are already in the cache."""

    version = None

    def score_texts(self, texts: Sequence[str]) -> pd.DataFrame:
        raise RuntimeError(f"{len(texts)} text(s) missing from the distributed signal table")


def attach_signals(part: SupportData, signals: pd.DataFrame | None) -> SupportData:
    """The partition with text-signal columns on its events (signals None: no text model)."""
    if signals is None:
        events = attach_text_signals(part.events, None)
    else:
        cache = SignalCache(None)
        cache.add(signals["key"].tolist(), signals[list(SIGNAL_COLUMNS)])
        events = attach_text_signals(part.events, _KnownSignals(), cache)
    return SupportData(part.accounts, part.tickets, events, part.outcomes)


class _Versioned:
    """Only a version: what default_cache_path reads of a scorer."""

    def __init__(self, version: str | None) -> None:
        self.version = version


def signal_cache(version: str | None) -> SignalCache:
    """The local path's on-disk text-signal cache for a scorer version (in memory for None)."""
    return SignalCache(default_cache_path(_Versioned(version) if version else None))
