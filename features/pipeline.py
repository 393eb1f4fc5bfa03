"""The batch feature job: a support-data folder in, one labelled row per scoring snapshot out."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pandas as pd

from features.build import build_features, escalation_history, make_snapshots
from features.registry import FEATURE_NAMES, FEATURE_SET_VERSION
from features.schema import SupportData
from features.text import SignalCache, TextScorer, attach_text_signals

log = logging.getLogger(__name__)


def default_cache_path(scorer: TextScorer | None) -> Path | None:
    """Text signals are cached per scorer version under ./.cache (git-ignored)."""
    version = getattr(scorer, "version", None)
    if scorer is None or version is None:
        return None
    return Path(".cache") / f"text-signals-{version}.parquet"


def build_feature_table(
    data: SupportData, scorer: TextScorer | None, cache: SignalCache | None = None
) -> pd.DataFrame:
    """Features, label and weight for every scoring snapshot of a data set.

    Columns: ticket_id, as_of, team (holding the ticket at as_of), every registered feature,
    then ``weight`` and, when the data
    has outcomes, ``label`` (1 if the ticket escalates after as_of) and ``hours_to_escalation``.
    """
    events = attach_text_signals(data.events, scorer, cache)
    snaps = make_snapshots(events, data.outcomes)
    history = escalation_history(data.outcomes, data.tickets)
    feats = build_features(
        data.accounts, data.tickets, events, snaps[["ticket_id", "as_of"]], history
    )
    extra = [c for c in ("weight", "label", "hours_to_escalation") if c in snaps.columns]
    for col in extra:
        feats[col] = snaps[col].to_numpy()
    feats.attrs["feature_set_version"] = FEATURE_SET_VERSION
    return feats


def write_feature_table(
    data: SupportData, out: str | Path, scorer: TextScorer | None
) -> dict[str, Any]:
    """Build the feature table and write it as Parquet; return a summary."""
    started = time.perf_counter()
    cache_path = default_cache_path(scorer)
    table = build_feature_table(data, scorer, SignalCache(cache_path))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(out, index=False)
    summary: dict[str, Any] = {
        "out": str(out),
        "rows": len(table),
        "tickets": int(table["ticket_id"].nunique()),
        "features": len(FEATURE_NAMES),
        "feature_set_version": FEATURE_SET_VERSION,
        "data_digest": data.digest(),
        "text_model": getattr(scorer, "version", None),
        "seconds": round(time.perf_counter() - started, 1),
    }
    if "label" in table.columns:
        summary["positive_rate"] = round(float(table["label"].mean()), 4)
    log.info("wrote %d snapshots to %s", len(table), out)
    return summary
