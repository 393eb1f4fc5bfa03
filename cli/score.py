"""The batch scoring command: every open ticket of a data folder, scored and decided."""

from __future__ import annotations

import json
from datetime import datetime
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


def score_command(
    data: Annotated[Path, typer.Option(help="Support-data folder (accounts/tickets/events).")],
    out: Annotated[Path, typer.Option(help="Scores file: .parquet, or .csv.")],
    model: Annotated[
        str, typer.Option(help="Registered model, e.g. models:/escalation-risk@champion.")
    ] = "models:/escalation-risk@champion",
    as_of: Annotated[
        str | None,
        typer.Option(
            help="Score the tickets open at this instant (ISO 8601 with a time zone, e.g. "
            "2026-03-01T06:00:00Z); default: each open ticket at its latest event."
        ),
    ] = None,
    engine: EngineOption = Engine.local,
    scheduler: SchedulerOption = None,
    workers: WorkersOption = 2,
    worker_memory: WorkerMemoryOption = "auto",
    verbose: bool = False,
) -> None:
    """Score every open ticket with the registered model and its policy: probability, band,
    action (the nightly batch job)."""
    setup(verbose)
    instant = None
    if as_of is not None:
        import pandas as pd

        try:
            parsed = datetime.fromisoformat(as_of.replace("Z", "+00:00"))
        except ValueError:
            raise fail("--as-of: not an ISO 8601 instant, e.g. 2026-03-01T06:00:00Z") from None
        if parsed.tzinfo is None:
            raise fail("--as-of: give a time zone (e.g. a trailing Z for UTC)")
        instant = pd.Timestamp(parsed).tz_convert("UTC")
    if out.suffix not in (".parquet", ".csv"):
        raise fail("--out: name a .parquet or .csv file")
    from training.score import run_scoring

    try:
        summary = run_scoring(
            data,
            out,
            model,
            instant,
            engine.value,
            cluster_spec(scheduler, workers, worker_memory),
        )
    except ValueError as err:
        raise fail(str(err)) from None
    typer.echo(json.dumps(summary, indent=2, default=str))
