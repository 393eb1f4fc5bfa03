"""The pipeline commands: generate, validate, features, train, evaluate (registered in cli/main.py)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cli.common import fail, setup
from cli.engine import (
    Engine,
    EngineOption,
    SchedulerOption,
    WorkerMemoryOption,
    WorkersOption,
    cluster_spec,
)


class EvalSplit(StrEnum):
    test = "test"
    all = "all"


def generate(
    out: Annotated[Path, typer.Option(help="Output folder for the Parquet tables.")],
    tickets: Annotated[int, typer.Option(min=1, help="Number of tickets to simulate.")] = 5000,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same content.")] = 7,
    truth_fraction: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Share of tickets for which the true escalation probability is computed.",
        ),
    ] = 0.05,
    verbose: bool = False,
) -> None:
    """Simulate a support organisation: accounts, tickets, events, outcomes, ground truth."""
    setup(verbose)
    from sources.synthetic.generate import GeneratorConfig, generate_dataset

    summary = generate_dataset(
        GeneratorConfig(n_tickets=tickets, seed=seed, truth_fraction=truth_fraction), out
    )
    typer.echo(json.dumps(summary, indent=2))


def validate(
    data: Annotated[Path, typer.Argument(help="Folder holding the support-data Parquet tables.")],
) -> None:
    """Check a data folder against the support-data model; print table sizes or the first error."""
    setup()
    from features.schema import DataValidationError, read_dataset

    try:
        ds = read_dataset(data)
    except DataValidationError as err:
        raise fail(str(err)) from None
    typer.echo(json.dumps(ds.summary(), indent=2))


def features(
    data: Annotated[
        Path | None, typer.Option(help="Support-data folder (accounts/tickets/events/...).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Output Parquet file.")] = None,
    list_: Annotated[bool, typer.Option("--list", help="Print the feature registry.")] = False,
    text: Annotated[
        bool, typer.Option(help="Score customer messages with the transformer (--no-text: skip).")
    ] = True,
    engine: EngineOption = Engine.local,
    scheduler: SchedulerOption = None,
    workers: WorkersOption = 2,
    worker_memory: WorkerMemoryOption = "auto",
    verbose: bool = False,
) -> None:
    """Build one labelled feature row per scoring snapshot, or list the features.

    With --engine dask, an --out ending in .parquet is one file (as the local engine writes);
    any other path becomes a folder of part files written by the workers."""
    setup(verbose)
    from features.registry import FEATURE_SET_VERSION, feature_table

    if list_:
        rows = feature_table()
        width = max(len(r["name"]) for r in rows)
        typer.echo(f"feature set {FEATURE_SET_VERSION}: {len(rows)} features")
        for r in rows:
            typer.echo(f"{r['name']:<{width}}  {r['group']:<8} {r['dtype']:<8} {r['description']}")
        return
    if data is None or out is None:
        raise fail("give --data DIR and --out FILE.parquet (or --list)")
    if engine is Engine.dask:
        from training.distributed import write_features_distributed

        try:
            summary = write_features_distributed(
                data, out, text, cluster_spec(scheduler, workers, worker_memory)
            )
        except ValueError as err:
            raise fail(str(err)) from None
        typer.echo(json.dumps(summary, indent=2))
        return
    from features.pipeline import write_feature_table
    from features.schema import DataValidationError, read_dataset

    try:
        ds = read_dataset(data)
    except DataValidationError as err:
        raise fail(str(err)) from None
    scorer = None
    if text:
        from models.text_scorer import TransformerTextScorer

        scorer = TransformerTextScorer()
    typer.echo(json.dumps(write_feature_table(ds, out, scorer), indent=2))


def _load_text_scorer(enabled: bool):
    if not enabled:
        return None
    from models.text_scorer import TransformerTextScorer

    return TransformerTextScorer()


def train(
    data: Annotated[Path, typer.Option(help="Support-data folder with outcomes.")],
    config: Annotated[
        Path | None, typer.Option(help="Experiment config (default: training/config.yaml).")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override one config key, e.g. --set search.n_trials=5."),
    ] = None,
    model_name: Annotated[
        str | None, typer.Option(help="Registered model name (default from the config).")
    ] = None,
    text: Annotated[bool, typer.Option(help="Use transformer text signals.")] = True,
    promote: Annotated[
        bool,
        typer.Option(
            help="Make the new version @champion without comparing it with the current one."
        ),
    ] = False,
    engine: EngineOption = Engine.local,
    scheduler: SchedulerOption = None,
    workers: WorkersOption = 2,
    worker_memory: WorkerMemoryOption = "auto",
    verbose: bool = False,
) -> None:
    """Train, calibrate, evaluate; log to MLflow and register the model (@challenger; @champion
    when it beats the current champion on the test slice)."""
    setup(verbose)
    from training.config import load_config
    from training.jobs import run_training

    try:
        cfg, raw = load_config(config, set_ or [])
    except (ValueError, OSError) as err:
        raise fail(f"config: {err}") from None
    try:
        if engine is Engine.dask:
            from training.distributed import run_training_distributed, transformer_spec

            summary = run_training_distributed(
                data,
                cfg,
                raw,
                model_name or cfg.model_name,
                transformer_spec() if text else None,
                cluster_spec(scheduler, workers, worker_memory),
                force_promote=promote,
            )
        else:
            summary = run_training(
                data,
                cfg,
                raw,
                model_name or cfg.model_name,
                _load_text_scorer(text),
                force_promote=promote,
            )
    except ValueError as err:
        raise fail(str(err)) from None
    typer.echo(json.dumps(summary, indent=2, default=str))


def evaluate(
    model: Annotated[
        str, typer.Option(help="Registered model, e.g. models:/escalation-risk@champion.")
    ],
    data: Annotated[Path, typer.Option(help="Support-data folder with outcomes.")],
    split: Annotated[
        EvalSplit,
        typer.Option(help="test: the training time split's test slice; all: every snapshot."),
    ] = EvalSplit.test,
    json_: Annotated[
        bool, typer.Option("--json", help="Print the table as one JSON object.")
    ] = False,
    engine: EngineOption = Engine.local,
    scheduler: SchedulerOption = None,
    workers: WorkersOption = 2,
    worker_memory: WorkerMemoryOption = "auto",
    verbose: bool = False,
) -> None:
    """Re-run the evaluation table for a registered model version on a data folder."""
    setup(verbose)
    from training.jobs import format_table, run_evaluation

    try:
        if engine is Engine.dask:
            from training.distributed import run_evaluation_distributed

            result = run_evaluation_distributed(
                model, data, split.value, cluster_spec(scheduler, workers, worker_memory)
            )
        else:
            result = run_evaluation(model, data, split.value)
    except ValueError as err:
        raise fail(str(err)) from None
    typer.echo(json.dumps(result, default=float) if json_ else format_table(result))
