"""Where the model falls short of the synthetic world's ceiling: oracle features, one at a time.

    .venv/bin/python benchmarks/ceiling_gap.py --data DIR --tickets N --seed S \
        [--features TABLE.parquet] [--oracles assertive,needed_tier,assertive+needed_tier]

``DIR`` is a folder written by ``escalation-risk generate --tickets N --seed S
--truth-fraction F`` (F of about 0.3 gives a stable ceiling). The script re-runs the simulator
with the same settings, without ground truth (seconds), and records each ticket's hidden traits:
the customer's temperament (``assertive``), the tier the problem needs (``needed_tier``), the
frustration it opened with (``F0``), venting (``vent``) and the desk's helpfulness for its
category (``helpfulness``). It refuses to go on when the re-run's outcomes differ from the
folder's (a folder written by another version of the simulator). Then, on the ground-truth
tickets only, it trains the default model (``search.n_trials=0``) once per oracle set and prints
PR-AUC and the ratio to the ceiling's PR-AUC: how much of the gap each hidden trait explains.

The feature table is built with the transformer when ``--features`` is missing (minutes), and
written there for the next run. Oracle traits take the place of unconstrained feature columns
(:data:`SLOTS`) so the model's schema is unchanged; this is a diagnostic, never a model to ship.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

import sources.synthetic.generate as generate
from features.pipeline import build_feature_table, default_cache_path
from features.schema import read_dataset
from features.text import SignalCache
from training.config import load_config
from training.train import train_model

TRAITS = ("assertive", "needed_tier", "F0", "vent", "helpfulness")
# Unconstrained columns the oracle traits overwrite, in order (at most four traits at once).
SLOTS = ("customer_intensity_max", "ticket_weekday", "ticket_hour_utc", "customer_intensity_last")
KEY = ["ticket_id", "as_of"]


def hidden_traits(n_tickets: int, seed: int, data_dir: Path) -> pd.DataFrame:
    """Each ticket's hidden traits, from a re-run of the simulator with the folder's settings."""
    rows: list[tuple] = []
    original = generate.new_ticket

    def recording(*args, **kwargs):
        s, meta = original(*args, **kwargs)
        rows.append((s.assertive, s.needed_tier, s.F, s.vent, s.helpfulness))
        return s, meta

    generate.new_ticket = recording
    try:
        data, _ = generate.simulate(
            generate.GeneratorConfig(n_tickets=n_tickets, seed=seed, truth_fraction=0.0),
            progress=False,
        )
    finally:
        generate.new_ticket = original
    ours = data.outcomes.sort_values("ticket_id").reset_index(drop=True)
    theirs = pd.read_parquet(data_dir / "outcomes.parquet").sort_values("ticket_id")
    theirs = theirs.reset_index(drop=True)
    if len(ours) != len(theirs) or not ours["escalated_at"].equals(theirs["escalated_at"]):
        raise SystemExit(
            f"{data_dir} was not written by this simulator with --tickets {n_tickets} "
            f"--seed {seed}: the re-run's outcomes differ; regenerate the folder"
        )
    traits = pd.DataFrame(rows, columns=list(TRAITS))
    traits["ticket_id"] = [f"T{i:07d}" for i in range(len(traits))]
    return traits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--tickets", type=int, required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--features", type=Path, default=None)
    ap.add_argument("--oracles", default="assertive,needed_tier,assertive+needed_tier")
    args = ap.parse_args()

    traits = hidden_traits(args.tickets, args.seed, args.data)
    truth = pd.read_parquet(args.data / "ground_truth.parquet")
    path = args.features or args.data / "features.parquet"
    if path.exists():
        table = pd.read_parquet(path)
    else:
        from models.text_scorer import TransformerTextScorer

        scorer = TransformerTextScorer()
        table = build_feature_table(
            read_dataset(args.data), scorer, SignalCache(default_cache_path(scorer))
        )
        table.to_parquet(path)
    sub = table.merge(truth[KEY], on=KEY, how="inner").merge(traits, on="ticket_id")
    cfg = load_config(overrides=["search.n_trials=0"])[0]
    print(f"{len(sub):,} snapshots of {sub['ticket_id'].nunique():,} ground-truth tickets")
    results = {}
    for spec in ["none", *args.oracles.split(",")]:
        names = [] if spec == "none" else spec.split("+")
        unknown = set(names) - set(TRAITS)
        if unknown or len(names) > len(SLOTS):
            raise SystemExit(f"oracle set {spec!r}: use up to {len(SLOTS)} of {TRAITS}")
        frame = sub.copy()
        for name, slot in zip(names, SLOTS, strict=False):
            frame[slot] = frame[name].astype(np.float64)
        result = train_model(frame.drop(columns=list(TRAITS)), cfg, truth)
        scores = result.evaluation["scorers"]["model"]
        ratio = result.evaluation.get("ceiling", {}).get("pr_auc_ratio")
        results[spec] = {"pr_auc": round(scores["pr_auc"], 4), "ceiling_ratio": ratio}
        print(f"{spec:40s} PR-AUC {scores['pr_auc']:.3f}  ratio to the ceiling {ratio:.3f}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
