"""`escalation-risk groups`: similar escalations in a data folder, and on synthetic data how
well the groups recover the outages (registered in cli/main.py)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from cli.common import fail, setup


class Linkage(StrEnum):
    average = "average"
    complete = "complete"


class EmbedderChoice(StrEnum):
    minilm = "minilm"
    hashing = "hashing"


def run_groups(
    data_dir: Path,
    as_of: pd.Timestamp | None,
    lookback_hours: float,
    all_tickets: bool,
    embedder: Any,
    cfg: Any,
) -> dict[str, Any]:
    """Group a data folder's escalations (outcomes) at ``as_of`` (default: its latest event),
    or every ticket of the lookback with ``all_tickets``; with the synthetic generator's
    ``outages.parquet`` beside the tables, score the groups against the outages.

    Raises:
        ValueError: invalid data, or nothing to evaluate against.
    """
    from features.schema import DataValidationError, read_dataset
    from models.grouping import evaluate_grouping, group_tickets, select_tickets
    from sources.synthetic.outages import OUTAGE_FILE

    try:
        data = read_dataset(data_dir)
    except DataValidationError as err:
        raise ValueError(str(err)) from None
    at = pd.Timestamp(as_of) if as_of is not None else data.events["ts"].max()
    frame = select_tickets(
        data.tickets,
        data.events,
        data.accounts,
        at,
        lookback_hours,
        escalations=data.outcomes,
        all_tickets=all_tickets,
    )
    found = group_tickets(frame, embedder, cfg)
    out: dict[str, Any] = {
        "data": str(data_dir),
        "as_of": at.isoformat(),
        "lookback_hours": lookback_hours,
        "candidates": len(frame),
        "without_text": found.without_text,
        "grouped": sum(g["size"] for g in found.groups),
        "settings": {
            "window_hours": cfg.window_hours,
            "distance_threshold": cfg.distance_threshold,
            "linkage": cfg.linkage,
            "min_size": cfg.min_size,
        },
        "groups": found.groups,
    }
    truth_file = Path(data_dir) / OUTAGE_FILE
    if truth_file.exists():
        truth = pd.read_parquet(truth_file).set_index("ticket_id")["outage_id"]
        out["evaluation"] = evaluate_grouping(found.assignment, truth)
    return out


def groups_command(
    data: Annotated[Path, typer.Option(help="Support-data folder (the data model's tables).")],
    as_of: Annotated[
        str | None, typer.Option(help="Instant to group at, ISO (default: the latest event).")
    ] = None,
    lookback_days: Annotated[
        float, typer.Option(min=0.0, help="How far back escalations (or tickets) count.")
    ] = 7.0,
    all_tickets: Annotated[
        bool,
        typer.Option(help="Every ticket of the lookback, not only escalations (evaluation)."),
    ] = False,
    window_hours: Annotated[
        float, typer.Option(min=0.0, help="Most hours between the tickets of a group.")
    ] = 12.0,
    threshold: Annotated[
        float, typer.Option(min=0.0, max=2.0, help="Cosine distance cutting the cluster tree.")
    ] = 0.55,
    min_size: Annotated[int, typer.Option(min=2, help="Smallest group listed.")] = 3,
    linkage: Annotated[
        Linkage, typer.Option(help="average, or complete: the window and types hold pairwise.")
    ] = Linkage.average,
    embedder: Annotated[
        EmbedderChoice,
        typer.Option(help="minilm: the text model's embedding; hashing: shared words only."),
    ] = EmbedderChoice.minilm,
    top: Annotated[int, typer.Option(min=0, help="Groups printed (with --json: all).")] = 10,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    verbose: bool = False,
) -> None:
    """Group similar escalations; on synthetic data, report purity and completeness."""
    setup(verbose)
    from models.grouping import GroupingConfig, HashingEmbedder

    try:
        at = None if as_of is None else pd.Timestamp(as_of)
    except ValueError:
        raise fail("--as-of: not an ISO time, e.g. 2026-03-01T00:00:00Z") from None
    if at is not None:
        at = at.tz_localize("UTC") if at.tzinfo is None else at.tz_convert("UTC")
    if embedder is EmbedderChoice.minilm:
        from models.sentiment import SentimentArtifactsMissing, load_sentiment_model

        try:
            emb = load_sentiment_model()
        except SentimentArtifactsMissing as err:
            raise fail(str(err)) from None
    else:
        emb = HashingEmbedder()
    cfg = GroupingConfig(
        window_hours=window_hours,
        distance_threshold=threshold,
        min_size=min_size,
        linkage=linkage.value,
        max_tickets=10**9,  # a batch job: memory is one dense matrix per product area
    )
    try:
        out = run_groups(data, at, lookback_days * 24.0, all_tickets, emb, cfg)
    except ValueError as err:
        raise fail(str(err)) from None
    if json_:
        typer.echo(json.dumps(out, indent=2, default=str))
        return
    typer.echo(
        f"{out['candidates']} tickets at {out['as_of']} (lookback {lookback_days:g} days): "
        f"{len(out['groups'])} groups holding {out['grouped']}; {out['without_text']} without text"
    )
    for g in out["groups"][:top]:
        typer.echo(
            f"{g['id']}  {g['size']:>4} tickets  {len(g['accounts']):>4} accounts  "
            f"ARR ${g['arr_at_stake']:,.0f}  {g['product_area']}  "
            f"{g['first_seen']:%Y-%m-%d %H:%M} .. {g['last_seen']:%Y-%m-%d %H:%M}  [{g['label']}]"
        )
    if "evaluation" in out:
        typer.echo("against the synthetic outages: " + json.dumps(out["evaluation"]))
