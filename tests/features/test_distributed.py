"""The Dask feature build against the local one: same table, same text signals, one score per
distinct text, the same digest and the same errors (a 2-worker LocalCluster, threads)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from features.engine import (
    ClusterSpec,
    PartitionedData,
    ScorerSpec,
    build_feature_table_distributed,
    open_client,
    partition_of,
)
from features.pipeline import build_feature_table
from features.schema import DataValidationError, read_dataset, write_dataset
from features.text import SignalCache, attach_text_signals
from sources.synthetic.generate import GeneratorConfig, simulate


class CountingScorer:
    """Wraps a scorer and records every text it is asked to score, one file per call (workers
    get a pickled copy of the scorer, so the record lives on disk)."""

    version = "counting-test"

    def __init__(self, inner, folder: Path) -> None:
        self.inner, self.folder = inner, folder

    def score_texts(self, texts):
        (self.folder / uuid.uuid4().hex).write_text(json.dumps(list(texts)))
        return self.inner.score_texts(texts)

    def seen(self) -> list[str]:
        return [t for f in self.folder.iterdir() for t in json.loads(f.read_text())]

    def clear(self) -> None:
        for f in self.folder.iterdir():
            f.unlink()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """2,000 simulated tickets written as the four Parquet tables."""
    data, _ = simulate(GeneratorConfig(n_tickets=2000, seed=5, truth_fraction=0.0), progress=False)
    root = tmp_path_factory.mktemp("dask-data")
    write_dataset(data, root)
    return root


@pytest.fixture(scope="module")
def client():
    """Two in-process workers (threads: the test's scorers need no pickling)."""
    with open_client(ClusterSpec(n_workers=2, processes=False, memory_limit="2GiB")) as c:
        yield c


@pytest.fixture(scope="module")
def local_table(data_dir, lexical):
    return build_feature_table(read_dataset(data_dir), lexical, SignalCache(None))


def assert_same_table(dist: pd.DataFrame, local: pd.DataFrame) -> None:
    """Keys, columns, dtypes exact; values as the local path's own n_jobs contract (1e-9)."""
    assert list(dist.columns) == list(local.columns)
    assert (dist.dtypes == local.dtypes).all()
    pd.testing.assert_frame_equal(dist[["ticket_id", "as_of"]], local[["ticket_id", "as_of"]])
    pd.testing.assert_frame_equal(dist, local, atol=1e-9, rtol=0)


@pytest.mark.slow
def test_the_dask_feature_table_is_the_local_one(client, data_dir, lexical, local_table):
    data = PartitionedData(client, data_dir, n_partitions=6)
    dist = build_feature_table_distributed(data, ScorerSpec.of(lexical)).to_pandas()
    assert len(dist) > 20_000
    assert_same_table(dist, local_table)
    assert dist.attrs["feature_set_version"] == local_table.attrs["feature_set_version"]
    assert data.digest() == read_dataset(data_dir).digest()


@pytest.mark.slow
def test_events_as_a_folder_of_part_files(client, data_dir, lexical, tmp_path):
    """Partitioned Parquet (3 files, several row groups each) reads as the local reader reads it."""
    root = tmp_path / "parts"
    root.mkdir()
    for name in ("accounts", "tickets", "outcomes"):
        (root / f"{name}.parquet").write_bytes((data_dir / f"{name}.parquet").read_bytes())
    events = pq.read_table(data_dir / "events.parquet")
    folder = root / "events.parquet"
    folder.mkdir()
    third = events.num_rows // 3
    for i, start in enumerate((0, third, 2 * third)):
        stop = events.num_rows if i == 2 else start + third
        pq.write_table(events.slice(start, stop - start), folder / f"part-{i}.parquet", 5000)
    local = build_feature_table(read_dataset(root), lexical, SignalCache(None))
    data = PartitionedData(client, root, n_partitions=5)
    assert len(data.client.gather(data.parts)) == 5
    dist = build_feature_table_distributed(data, ScorerSpec.of(lexical)).to_pandas()
    assert_same_table(dist, local)


@pytest.mark.slow
def test_each_distinct_text_is_scored_once_and_the_cache_keeps_working(
    client, data_dir, lexical, local_table, tmp_path
):
    (tmp_path / "calls").mkdir()
    scorer = CountingScorer(lexical, tmp_path / "calls")
    cache_path = tmp_path / "signals.parquet"
    data = PartitionedData(client, data_dir, n_partitions=8)
    first = build_feature_table_distributed(data, ScorerSpec.of(scorer), SignalCache(cache_path))
    assert_same_table(first.to_pandas(), local_table)
    events = read_dataset(data_dir).events
    msgs = events.loc[(events["event_type"] == "customer_message") & events["text"].notna()]
    distinct = set(msgs["text"])
    assert len(scorer.seen()) == len(distinct) == data.texts_scored
    assert set(scorer.seen()) == distinct
    # A second run reads every text from the persisted cache: nothing is scored again.
    scorer.clear()
    again = PartitionedData(client, data_dir, n_partitions=3)
    second = build_feature_table_distributed(again, ScorerSpec.of(scorer), SignalCache(cache_path))
    assert scorer.seen() == [] and again.texts_scored == 0
    assert_same_table(second.to_pandas(), local_table)


@pytest.mark.slow
def test_without_a_text_model_the_signals_are_missing_as_locally(client, data_dir):
    local = build_feature_table(read_dataset(data_dir), None)
    dist = build_feature_table_distributed(PartitionedData(client, data_dir, 4), None)
    assert_same_table(dist.to_pandas(), local)


@pytest.mark.slow
def test_parts_written_by_the_workers_read_back_as_the_table(
    client, data_dir, lexical, local_table, tmp_path
):
    feats = build_feature_table_distributed(
        PartitionedData(client, data_dir, 4), ScorerSpec.of(lexical)
    )
    paths = feats.write_parts(tmp_path / "features")
    assert len(paths) == 4
    back = pd.read_parquet(tmp_path / "features")
    back = back.sort_values(["ticket_id", "as_of"], kind="stable", ignore_index=True)
    local_table.to_parquet(tmp_path / "local.parquet", index=False)  # the same round trip
    pd.testing.assert_frame_equal(
        back, pd.read_parquet(tmp_path / "local.parquet"), atol=1e-9, rtol=0
    )


def test_a_bad_event_row_is_named_by_its_row_in_the_file(client, tiny_tables, tmp_path):
    tables = dict(tiny_tables)
    events = tables["events"].copy()
    events.loc[2, "ticket_id"] = "t-unknown"
    tables["events"] = events
    for name, df in tables.items():
        df.to_parquet(tmp_path / f"{name}.parquet", index=False)
    with pytest.raises(DataValidationError) as local:
        read_dataset(tmp_path)
    with pytest.raises(DataValidationError) as dist:
        data = PartitionedData(client, tmp_path, n_partitions=3)
        client.gather(data.parts)
    assert str(dist.value) == str(local.value)
    assert "row 2" in str(dist.value) and "events.parquet" in str(dist.value)


def test_a_missing_folder_is_a_clear_error(client, tmp_path):
    with pytest.raises(DataValidationError, match="no such data folder"):
        PartitionedData(client, tmp_path / "nothing-here")


def test_partitions_are_a_fixed_function_of_the_ticket_id():
    ids = np.array([f"T{i:06d}" for i in range(1000)], dtype=object)
    parts = partition_of(ids, 7)
    assert parts.min() >= 0 and parts.max() == 6
    assert (partition_of(ids[::-1], 7) == parts[::-1]).all()
    # Spread: no partition holds more than twice its share.
    assert np.bincount(parts).max() < 2 * len(ids) / 7


@pytest.mark.transformer
def test_transformer_scores_on_the_workers_equal_the_local_ones(client, text_scorer, tmp_path):
    from models.text_scorer import TransformerTextScorer, artifacts_version

    data, _ = simulate(GeneratorConfig(n_tickets=12, seed=2, truth_fraction=0.0), progress=False)
    write_dataset(data, tmp_path)
    local = attach_text_signals(data.events, text_scorer, SignalCache(None))
    spec = ScorerSpec(TransformerTextScorer, artifacts_version())
    pdata = PartitionedData(client, tmp_path, n_partitions=3)
    pdata.attach_text(spec, SignalCache(None))
    dist = pd.concat(client.gather(pdata.parts_events()), ignore_index=True)
    dist = dist.sort_values(["ticket_id", "ts"], kind="stable", ignore_index=True)
    distinct = local.loc[local["sentiment"].notna(), "text"].nunique()
    assert 24 <= distinct == pdata.texts_scored
    intents = [c for c in local.columns if c.startswith("intent_")]
    pd.testing.assert_frame_equal(dist[intents], local[intents], check_exact=True)
    # The scorer's floats depend on what a text is batched with by up to ~1e-7 (measured 6e-8
    # between two batchings on one machine, local path alone); the workers batch by partition.
    cols = ["sentiment", "p_negative"]
    pd.testing.assert_frame_equal(dist[cols], local[cols], atol=1e-6, rtol=0)


@pytest.mark.slow
def test_the_features_command_writes_the_same_file_with_either_engine(data_dir, tmp_path):
    from typer.testing import CliRunner

    from cli.main import app

    files = {}
    for engine in ("local", "dask"):
        out = tmp_path / f"{engine}.parquet"
        args = ["features", "--data", str(data_dir), "--out", str(out), "--no-text"]
        res = CliRunner().invoke(app, [*args, "--engine", engine, "--workers", "2"])
        assert res.exit_code == 0, res.output
        files[engine] = pd.read_parquet(out)
    pd.testing.assert_frame_equal(files["dask"], files["local"], atol=1e-9, rtol=0)
    bad = CliRunner().invoke(
        app,
        ["features", "--data", str(tmp_path / "none"), "--out", "x.parquet", "--engine", "dask"],
    )
    assert bad.exit_code == 2 and "no such data folder" in bad.output
