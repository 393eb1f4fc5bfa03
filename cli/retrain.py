"""`escalation-risk retrain`: retrain from the service's store and feedback, plus exports
(registered in cli/main.py).

The composition root between the service's store (serving) and the retraining job (training):
it reads the store through its public methods and hands the job plain frames.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from cli.common import fail, setup


def store_tables(store: Any) -> Any:
    """The store's tables as :class:`training.retrain.StoreTables` (``store``: an open
    ``serving.services.store.Store``).

    Full events come from the store's event log (``ticket_events``, each event as sent) when it
    has one; a ticket with rows there but not all of them (its earlier history went through
    ``/v1/score``, which keeps no text) is not one the job can rebuild, so only tickets whose
    first logged event is their creation event count. The context-only ``events`` rows carry
    no text and no tier and are never passed on.
    """
    from serving.services.store import TABLES
    from training.retrain import StoreTables, logged_events

    events = None
    tickets = store.table("tickets")
    if "ticket_events" in TABLES and store.count("ticket_events"):
        logged = logged_events(store.table("ticket_events")[["ticket_id", "body"]])
        first = logged.groupby("ticket_id")["ts"].min()
        created = tickets.set_index("ticket_id")["created_at"]
        whole = first.index[(first <= created.reindex(first.index)).to_numpy()]
        events = logged[logged["ticket_id"].isin(set(whole))]
    return StoreTables(
        accounts=store.table("accounts"),
        tickets=tickets,
        feedback=store.table("feedback"),
        events=events,
    )


def run_retrain(
    store_path: Path | None,
    data_dirs: list[Path],
    overrides: list[str],
    model_name: str | None,
    scorer: Any,
    settings: Any,
    config: Path | None = None,
) -> dict[str, Any]:
    """Read the store and the exports, then :func:`training.retrain.retrain`.

    Raises:
        ValueError: a missing store or export, invalid data, or nothing to train on.
    """
    from features.schema import DataValidationError, read_dataset, validate_tables
    from training.config import load_config
    from training.retrain import assemble_training_set, retrain

    cfg, raw = load_config(config, overrides)
    tables = None
    if store_path is not None:
        from serving.services.store import Store

        if not Path(store_path).is_file():
            raise ValueError(f"{store_path}: no such store")
        store = Store(store_path)
        try:
            tables = store_tables(store)
        finally:
            store.close()
    exports = None
    try:
        parts = [read_dataset(d) for d in data_dirs]
        if parts:
            exports = parts[0]
            if len(parts) > 1:
                exports = validate_tables(
                    *(
                        pd.concat([getattr(p, n) for p in parts], ignore_index=True)
                        for n in ("accounts", "tickets", "events")
                    ),
                    pd.concat([p.outcomes for p in parts if p.outcomes is not None])
                    if any(p.outcomes is not None for p in parts)
                    else None,
                )
        training_set = assemble_training_set(tables, exports, settings)
    except DataValidationError as err:
        raise ValueError(str(err)) from None
    sources = [f"store {Path(store_path).resolve()}"] if store_path is not None else []
    source = ", ".join(sources + [str(Path(d).resolve()) for d in data_dirs])
    return retrain(training_set, cfg, raw, model_name or cfg.model_name, scorer, settings, source)


def retrain_command(
    store: Annotated[
        Path | None, typer.Option(help="The service's SQLite store (tickets and feedback).")
    ] = Path("serving.db"),
    data: Annotated[
        list[Path] | None,
        typer.Option(help="Export folder in the data model's four tables (repeatable)."),
    ] = None,
    no_store: Annotated[
        bool, typer.Option("--no-store", help="Train on the exports only.")
    ] = False,
    horizon_days: Annotated[
        float,
        typer.Option(min=0.0, help="A ticket this old without an escalation counts as none."),
    ] = 14.0,
    cutoff: Annotated[
        str | None,
        typer.Option(help="Label cut-off, ISO time (default: the latest event in the data)."),
    ] = None,
    min_gain: Annotated[
        float, typer.Option(help="PR-AUC gain over the champion needed to promote.")
    ] = 0.01,
    min_positives: Annotated[
        int, typer.Option(min=0, help="Escalating snapshots the comparison window needs.")
    ] = 20,
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
    verbose: bool = False,
) -> None:
    """Retrain from the store's feedback and exports; promote only on a real improvement."""
    setup(verbose)
    from training.retrain import RetrainSettings

    try:
        at = None if cutoff is None else pd.Timestamp(cutoff)
    except ValueError:
        raise fail("--cutoff: not an ISO time, e.g. 2026-03-01T00:00:00Z") from None
    if at is not None and at.tzinfo is None:
        at = at.tz_localize("UTC")
    settings = RetrainSettings(
        horizon_days=horizon_days, min_gain=min_gain, min_positives=min_positives, cutoff=at
    )
    if no_store and not data:
        raise fail("--no-store needs at least one --data DIR")
    scorer = None
    if text:
        from models.text_scorer import TransformerTextScorer

        scorer = TransformerTextScorer()
    try:
        summary = run_retrain(
            None if no_store else store,
            list(data or []),
            set_ or [],
            model_name,
            scorer,
            settings,
            config,
        )
    except (ValueError, OSError) as err:
        raise fail(str(err)) from None
    typer.echo(json.dumps(summary, indent=2, default=str))
