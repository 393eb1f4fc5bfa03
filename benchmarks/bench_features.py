"""Batch feature throughput on >= 1M events, sentiment precomputed.

    .venv/bin/python benchmarks/bench_features.py [--tickets 50000] [--repeats 3] [--jobs N]

Prints the median wall time of `build_features` over all scoring snapshots and events/second.
Text signals are attached beforehand with deterministic random values (the transformer's cost
is measured by benchmarks/bench_sentiment.py), so this measures the feature code alone.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from features.build import build_features, escalation_history, make_snapshots
from features.context import FeatureContext
from features.text import SIGNAL_COLUMNS, attach_text_signals
from sources.synthetic.generate import GeneratorConfig, simulate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=50_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=None, help="worker processes (default: auto)")
    args = ap.parse_args()

    data, _ = simulate(GeneratorConfig(n_tickets=args.tickets, seed=1, truth_fraction=0.0))
    events = attach_text_signals(data.events, None)
    rng = np.random.default_rng(0)
    msg = events["event_type"].eq("customer_message").to_numpy()
    for col in SIGNAL_COLUMNS:
        values = rng.uniform(-1, 1, msg.sum()) if col == "sentiment" else rng.random(msg.sum())
        events.loc[msg, col] = values
    snaps = make_snapshots(events, data.outcomes)
    history = escalation_history(data.outcomes, data.tickets)
    print(f"events {len(events):,}  snapshots {len(snaps):,}  tickets {args.tickets:,}")

    times, ctx_times = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        ctx = FeatureContext.from_data(data.accounts, data.tickets, events, history)
        ctx_times.append(time.perf_counter() - t0)
        build_features(
            data.accounts,
            data.tickets,
            events,
            snaps[["ticket_id", "as_of"]],
            history,
            ctx,
            n_jobs=args.jobs,
        )
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(f"build_features median {med:.2f} s (context {statistics.median(ctx_times):.2f} s)")
    print(f"events/s {len(events) / med:,.0f}   snapshots/s {len(snaps) / med:,.0f}")


if __name__ == "__main__":
    main()
