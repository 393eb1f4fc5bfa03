"""The feature table built partition by partition on the workers (DistributedFeatures)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.build import build_features, make_snapshots
from features.context import FeatureContext
from features.engine.partitions import PartitionedData
from features.engine.texts import ScorerSpec
from features.registry import FEATURE_NAMES, FEATURE_SET_VERSION
from features.schema import SupportData
from features.text import SignalCache

log = logging.getLogger(__name__)


def _snapshot_counts(snaps: pd.DataFrame) -> pd.Series:
    return snaps.groupby("ticket_id", sort=False).size()


def _part_features(
    part: SupportData,
    snaps: pd.DataFrame,
    context: FeatureContext,
    mean_inverse_size: float,
) -> pd.DataFrame:
    """Feature rows of one partition's snapshots (as build_feature_table builds them)."""
    feats = build_features(
        part.accounts,
        part.tickets,
        part.events,
        snaps[["ticket_id", "as_of"]],
        context=context,
        n_jobs=1,
    )
    # make_snapshots scales weights to mean 1 over the whole data set, so the scale is global:
    # the same 1 / (snapshots of the ticket) divided by the mean over every partition's
    # snapshots (computed on the client in the local row order, hence to the last bit).
    n = snaps.groupby("ticket_id")["as_of"].transform("size").to_numpy()
    snaps = snaps.assign(weight=(1.0 / n) / mean_inverse_size)
    for col in ("weight", "label", "hours_to_escalation"):
        if col in snaps.columns:
            feats[col] = snaps[col].to_numpy()
    return feats


def _make_snapshots(part: SupportData) -> pd.DataFrame:
    return make_snapshots(part.events, part.outcomes)


@dataclass
class DistributedFeatures:
    """A feature table as partitions on the workers (futures of DataFrames, one per partition,
    each sorted by ticket_id, as_of); columns as features.pipeline.build_feature_table's."""

    client: Any
    parts: list[Any]
    data: PartitionedData

    def to_pandas(self) -> pd.DataFrame:
        """The whole table on the client, in the local path's row order."""
        frames = self.client.gather(self.parts)
        table = pd.concat(frames, ignore_index=True)
        # Snapshots are unique per (ticket_id, as_of): the local order, whatever the partitions.
        table = table.sort_values(["ticket_id", "as_of"], kind="stable", ignore_index=True)
        table.attrs["feature_set_version"] = FEATURE_SET_VERSION
        return table

    def to_dask(self):
        """The table as a dask DataFrame (one partition per data partition)."""
        import dask.dataframe as dd

        meta = self.client.submit(_head0, self.parts[0]).result()
        return dd.from_delayed(self.parts, meta=meta, verify_meta=False)

    def write_parts(self, folder: str | Path) -> list[str]:
        """Each partition written by its worker as folder/part-NNNNN.parquet (shared storage)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = [str(folder / f"part-{k:05d}.parquet") for k in range(len(self.parts))]
        done = [
            self.client.submit(_write_part, p, path, pure=False)
            for p, path in zip(self.parts, paths, strict=True)
        ]
        self.client.gather(done)
        return paths


def _head0(df: pd.DataFrame) -> pd.DataFrame:
    return df.iloc[:0]


def _write_part(df: pd.DataFrame, path: str) -> str:
    df.to_parquet(path, index=False)
    return path


def build_feature_table_distributed(
    data: PartitionedData, scorer: ScorerSpec | None, cache: SignalCache | None = None
) -> DistributedFeatures:
    """The labelled feature table of ``data`` built on its cluster (see the module docstring).

    Same rows, columns and order (after :meth:`DistributedFeatures.to_pandas`) as
    :func:`features.pipeline.build_feature_table`; the text cache works the same way.
    """
    client = data.client
    data.attach_text(scorer, cache)
    ctx = data.context()
    snaps = data.map(_make_snapshots)
    counts = client.gather([client.submit(_snapshot_counts, s) for s in snaps])
    sizes = pd.concat(counts).sort_index(kind="stable").to_numpy()
    # The local path's mean of 1/n over all snapshots, in its row order (tickets by id).
    w = 1.0 / np.repeat(sizes, sizes) if len(sizes) else np.zeros(0)
    mean_inverse = float(w.mean()) if len(w) else 1.0
    parts = [
        client.submit(_part_features, p, s, ctx, mean_inverse)
        for p, s, c in zip(data.parts, snaps, counts, strict=True)
        if len(c)  # a partition without snapshots adds no rows
    ]
    return DistributedFeatures(client, parts, data)


def write_feature_table_distributed(
    data: PartitionedData, out: str | Path, scorer: ScorerSpec | None, cache: SignalCache
) -> dict[str, Any]:
    """Build on the cluster and write: ``out`` ending in .parquet is one file in the local row
    order (gathered by the client); any other path is a folder of part files written by the
    workers."""
    import time

    started = time.perf_counter()
    feats = build_feature_table_distributed(data, scorer, cache)
    out = Path(out)
    if out.suffix == ".parquet":
        table = feats.to_pandas()
        out.parent.mkdir(parents=True, exist_ok=True)
        table.to_parquet(out, index=False)
        rows, tickets = len(table), int(table["ticket_id"].nunique())
        positive = float(table["label"].mean()) if "label" in table.columns else None
    else:
        feats.write_parts(out)
        stats = data.client.gather([data.client.submit(_stats, p) for p in feats.parts])
        rows = sum(s[0] for s in stats)
        tickets = sum(s[1] for s in stats)
        labelled = sum(s[2] for s in stats)
        positive = labelled / rows if rows and stats[0][3] else None
    summary: dict[str, Any] = {
        "out": str(out),
        "engine": "dask",
        "partitions": data.n_partitions,
        "workers": len(data.client.nthreads()),
        "rows": rows,
        "tickets": tickets,
        "features": len(FEATURE_NAMES),
        "feature_set_version": FEATURE_SET_VERSION,
        "data_digest": data.digest(),
        "text_model": data.text_model,
        "texts_scored": data.texts_scored,
        "seconds": round(time.perf_counter() - started, 1),
    }
    if positive is not None:
        summary["positive_rate"] = round(positive, 4)
    return summary


def _stats(df: pd.DataFrame) -> tuple[int, int, float, bool]:
    has = "label" in df.columns
    return len(df), int(df["ticket_id"].nunique()), float(df["label"].sum()) if has else 0.0, has
