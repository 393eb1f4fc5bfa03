"""Evaluation by prefix length: how good is the score after the first k events of a case?

The process-mining literature reports predictions at fixed prefix lengths (first event, after
3, after 8 events). Here a snapshot's prefix length is the number of *source* rows or events of
the case with a time at or before as_of (``events.source_seq``, written by the adapters; events
derived from one source row count once). "After k events" is, per test ticket, its first
scoring snapshot with prefix length >= k: when several source rows share a timestamp (the
ServiceNow export has minute resolution) that snapshot has seen them all, so it can hold more
than k rows; the tables report how often.

Splits come from the registered model's config (``split.by``: time or case); ``--split-by``
overrides it for a comparison.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from training.config import SplitConfig

_US = "datetime64[us, UTC]"


def case_split(table: pd.DataFrame, split: SplitConfig) -> pd.Series:
    """The split by case (``split.by = "case"``) whatever ``split.by`` says."""
    from training.train import time_split

    return time_split(table, split.model_copy(update={"by": "case"}))


def _asof(events: pd.DataFrame, keys: pd.DataFrame, column: str) -> np.ndarray:
    """Per (ticket_id, as_of) key, ``column`` of the ticket's last event at or before as_of."""
    ev = events[["ticket_id", "ts", column]].dropna(subset=[column])
    ev = ev.assign(ts=ev["ts"].astype(_US)).sort_values("ts", kind="stable")
    q = keys[["ticket_id", "as_of"]].assign(
        as_of=keys["as_of"].astype(_US), pos=np.arange(len(keys))
    )
    q = q.sort_values("as_of", kind="stable")
    m = pd.merge_asof(q, ev, left_on="as_of", right_on="ts", by="ticket_id", direction="backward")
    out = np.empty(len(keys), dtype=object)
    out[m["pos"].to_numpy()] = m[column].to_numpy(dtype=object)
    return out


def prefix_lengths(events: pd.DataFrame, keys: pd.DataFrame) -> np.ndarray:
    """Source rows of the ticket seen at each (ticket_id, as_of) key (events need source_seq)."""
    if "source_seq" not in events.columns:
        raise ValueError("events have no source_seq column: ingest the log with the adapters")
    ev = events.assign(seen=events.groupby("ticket_id")["source_seq"].cummax())
    out = _asof(ev, keys, "seen")
    return np.array([np.nan if v is None else float(v) for v in out])


def status_at(events: pd.DataFrame, keys: pd.DataFrame) -> np.ndarray:
    """The ticket's status at each (ticket_id, as_of) key (None before any status)."""
    st = events[events["event_type"] == "status_change"]
    return _asof(st, keys, "status")


def _scores(y: np.ndarray, p: np.ndarray) -> dict[str, float | None]:
    if len(np.unique(y)) < 2:
        return {"roc_auc": None, "pr_auc": None}
    return {
        "roc_auc": round(float(roc_auc_score(y, p)), 4),
        "pr_auc": round(float(average_precision_score(y, p)), 4),
    }


def prefix_table(rows: pd.DataFrame, p: np.ndarray, ks: tuple[int, ...]) -> list[dict[str, Any]]:
    """Metrics of scores ``p`` on ``rows`` (ticket_id, as_of, label, prefix) by prefix length.

    One row per k (each ticket's first snapshot with prefix >= k) and one for all snapshots.
    """
    frame = rows[["ticket_id", "as_of", "label", "prefix"]].assign(p=p)
    frame = frame.sort_values(["ticket_id", "as_of"], kind="stable")
    out: list[dict[str, Any]] = []
    for k in ks:
        at_k = frame[frame["prefix"] >= k].groupby("ticket_id", sort=False).head(1)
        y = at_k["label"].to_numpy(dtype=int)
        out.append(
            {
                "prefix": f"k={k}",
                "tickets": len(at_k),
                "positives": int(y.sum()),
                "base_rate": round(float(y.mean()), 4) if len(y) else None,
                **_scores(y, at_k["p"].to_numpy()),
                "share_prefix_above_k": round(float((at_k["prefix"] > k).mean()), 4)
                if len(at_k)
                else None,
            }
        )
    y = frame["label"].to_numpy(dtype=int)
    out.append(
        {
            "prefix": "all snapshots",
            "tickets": int(frame["ticket_id"].nunique()),
            "snapshots": len(frame),
            "positives": int(y.sum()),
            "base_rate": round(float(y.mean()), 4),
            **_scores(y, frame["p"].to_numpy()),
        }
    )
    return out


def evaluate_by_prefix(
    model_uri: str,
    data_dir: str | Path,
    ks: tuple[int, ...] = (1, 3, 8),
    split_by: str | None = None,
    open_only: bool = True,
) -> dict[str, Any]:
    """A registered model's test-slice metrics by prefix length on an ingested log.

    Args:
        split_by: ``time`` or ``case`` to override the split the model was trained with
            (None: the model's own ``split.by``).
        open_only: drop snapshots at which the ticket is ``solved`` (an SLA outcome is settled
            at resolution; the peer study on the ServiceNow log drops resolved rows too).
    """
    from features.pipeline import build_feature_table
    from features.schema import DataValidationError, read_dataset
    from models.registry import load_registered
    from training.train import time_split

    reg = load_registered(model_uri)
    if reg.metadata.get("text_model"):
        raise ValueError(f"{model_uri} uses text signals; real logs have none (train --no-text)")
    try:
        data = read_dataset(data_dir)
    except DataValidationError as err:
        raise ValueError(str(err)) from None
    if data.outcomes is None:
        raise ValueError(f"{data_dir}: evaluation needs outcomes.parquet (the labels)")
    table = build_feature_table(data, None)
    cfg = SplitConfig(**reg.metadata["split"])
    if split_by is not None:
        cfg = cfg.model_copy(update={"by": split_by})
    which = time_split(table, cfg)
    rows = table[(which == "test").to_numpy()].reset_index(drop=True)
    rows["prefix"] = prefix_lengths(data.events, rows)
    status = status_at(data.events, rows)
    dropped = 0
    if open_only:
        keep = status != "solved"
        dropped = int((~keep).sum())
        rows = rows[keep].reset_index(drop=True)
    p = reg.predict_proba(rows)
    return {
        "model": model_uri,
        "data": str(data_dir),
        "split_by": split_by,
        "split": reg.metadata["split"],
        "test_tickets": int(rows["ticket_id"].nunique()),
        "test_period_utc": [str(rows["as_of"].min()), str(rows["as_of"].max())],
        "open_only": open_only,
        "solved_snapshots_dropped": dropped,
        "by_prefix": prefix_table(rows, p, ks),
    }


def format_prefix_table(result: dict[str, Any]) -> str:
    """A plain-text rendering of :func:`evaluate_by_prefix`."""
    lines = [
        f"model {result['model']} on {result['data']}: test slice split by {result['split_by']} "
        f"({result['test_tickets']} tickets, {result['test_period_utc'][0]} .. "
        f"{result['test_period_utc'][1]}); solved snapshots dropped: "
        f"{result['solved_snapshots_dropped']}",
        f"{'prefix':<15}{'tickets':>9}{'positives':>11}{'base':>8}{'ROC-AUC':>9}{'PR-AUC':>9}"
        f"{'>k':>8}",
    ]
    for r in result["by_prefix"]:

        def f(v: Any) -> str:
            return "-" if v is None else f"{v:.4f}" if isinstance(v, float) else str(v)

        lines.append(
            f"{r['prefix']:<15}{r['tickets']:>9}{r['positives']:>11}{f(r['base_rate']):>8}"
            f"{f(r['roc_auc']):>9}{f(r['pr_auc']):>9}{f(r.get('share_prefix_above_k')):>8}"
        )
    return "\n".join(lines)
