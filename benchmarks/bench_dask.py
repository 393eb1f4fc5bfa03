"""The Dask engine: feature-build throughput with 1 and 2 workers, and generate -> features -> train.

    .venv/bin/python benchmarks/bench_dask.py [--tickets 3000] [--repeats 3] [--trials 0] [--text]

Prints, for a LocalCluster of 1 and of 2 worker processes (one thread each): the median wall
time of the distributed feature build (read, validate, snapshots, context, features, gathered on
the client) over ``--repeats`` runs, events per second, the 2-to-1 ratio, and each worker's peak
resident memory. Then the end-to-end time of generate -> features -> train with 2 workers
(training with ``--trials`` search trials, no MLflow logging), and a projection for 8 and 32
workers from Amdahl's law with the serial share the 1- and 2-worker times imply.

Text: without ``--text`` customer messages get no signals (the transformer's cost is measured by
benchmarks/bench_sentiment.py); with it each worker loads the transformer and scores its texts.
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import statistics
import tempfile
import time
from pathlib import Path

from distributed import wait

from cli.common import apply_runtime_env
from features.engine import (
    ClusterSpec,
    PartitionedData,
    build_feature_table_distributed,
    open_client,
)
from features.pipeline import build_feature_table
from features.schema import read_dataset
from features.text import SignalCache
from sources.synthetic.generate import GeneratorConfig, generate_dataset


def _peak_rss_mb() -> float:
    """This process's peak resident memory, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pickled_mb(obj) -> float:
    return len(pickle.dumps(obj)) / 2**20


def _build(client, root: Path, spec, sizes: dict | None = None) -> float:
    t0 = time.perf_counter()
    data = PartitionedData(client, root)
    table = build_feature_table_distributed(data, spec, SignalCache(None)).to_pandas()
    elapsed = time.perf_counter() - t0
    if sizes is not None:
        sizes["table_mb"] = table.memory_usage(deep=True).sum() / 2**20
        sizes["rows"] = len(table)
        sizes["context_mb"] = client.submit(_pickled_mb, data.context()).result()
        sizes["limits"] = client.run(_memory_settings)
    return elapsed


def _memory_settings(dask_worker) -> str:
    import dask

    limit = dask_worker.memory_manager.memory_limit or 0
    pause = dask.config.get("distributed.worker.memory.pause")
    return f"limit {limit / 2**30:.1f} GiB, pause at {pause}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=3000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--trials", type=int, default=0, help="search trials in the train step")
    ap.add_argument("--text", action="store_true", help="score texts with the transformer")
    ap.add_argument("--worker-memory", default="2GiB", help="memory limit per worker")
    args = ap.parse_args()
    apply_runtime_env()

    spec = None
    if args.text:
        from training.distributed import transformer_spec

        spec = transformer_spec()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        t0 = time.perf_counter()
        generate_dataset(
            GeneratorConfig(n_tickets=args.tickets, seed=1, truth_fraction=0.0),
            root,
            progress=False,
        )
        gen_s = time.perf_counter() - t0
        local = read_dataset(root)
        n_events = len(local.events)
        t0 = time.perf_counter()
        local_rows = len(build_feature_table(local, None))
        local_s = time.perf_counter() - t0
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print(
            f"tickets {args.tickets:,}  events {n_events:,}  snapshots {local_rows:,}  "
            f"generate {gen_s:.1f} s"
        )
        print(
            f"local engine (one process, no text): {local_s:.2f} s, {n_events / local_s:,.0f} events/s"
        )

        medians: dict[int, float] = {}
        for workers in (1, 2):
            cluster = ClusterSpec(n_workers=workers, memory_limit=args.worker_memory)
            with open_client(cluster) as client:
                sizes: dict = {}
                _build(client, root, spec, sizes)  # warm-up: worker imports (and the text model)
                times = [_build(client, root, spec) for _ in range(args.repeats)]
                peaks = client.run(_peak_rss_mb)
            medians[workers] = statistics.median(times)
            print(
                f"dask, {workers} worker(s): median {medians[workers]:.2f} s over {args.repeats}, "
                f"{n_events / medians[workers]:,.0f} events/s; peak RSS per worker "
                + ", ".join(f"{v:.0f} MiB" for v in peaks.values())
            )
        print(
            f"client: feature table {sizes['table_mb']:.1f} MiB "
            f"({sizes['table_mb'] * 2**20 / sizes['rows']:.0f} bytes per snapshot); context "
            f"replicated on each worker {sizes['context_mb']:.1f} MiB pickled; workers: "
            + "; ".join(sorted(set(sizes["limits"].values())))
        )
        ratio = medians[1] / medians[2]
        print(f"2-worker / 1-worker throughput: {ratio:.2f}x")
        serial = min(max(2 * medians[2] / medians[1] - 1, 0.0), 1.0)
        if ratio <= 1.0:
            print(
                "no speed-up from the second worker here: no projection (load average now "
                f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
            )
        for n in (8, 32) if ratio > 1.0 else ():
            speed = 1 / (serial + (1 - serial) / n)
            print(
                f"projected {n} workers (Amdahl, serial share {serial:.2f} from the 1/2-worker "
                f"times): {speed:.1f}x one worker, {n_events * speed / medians[1]:,.0f} events/s"
            )

        from training.config import load_config
        from training.distributed import train_model_distributed

        cfg, _ = load_config(overrides=[f"search.n_trials={args.trials}"])
        with open_client(ClusterSpec(n_workers=2, memory_limit=args.worker_memory)) as client:
            t0 = time.perf_counter()
            data = PartitionedData(client, root)
            feats = build_feature_table_distributed(data, spec, SignalCache(None))
            wait(feats.parts)
            feat_s = time.perf_counter() - t0
            result, _ = train_model_distributed(feats, cfg)
            train_s = time.perf_counter() - t0 - feat_s
        m = result.evaluation["scorers"]["model"]
        print(
            f"end to end, 2 workers: generate {gen_s:.1f} s + features (and split) {feat_s:.1f} s "
            f"+ train {train_s:.1f} s = {gen_s + feat_s + train_s:.1f} s "
            f"({args.trials} search trials; test PR-AUC {m['pr_auc']:.3f}, "
            f"ROC-AUC {m['roc_auc']:.3f})"
        )


if __name__ == "__main__":
    main()
