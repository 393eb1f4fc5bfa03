"""The `escalation-risk tune` subcommand: the tuning notebook's threshold search, headless.

Registered in cli/main.py. The logic lives in training/tuning.py, which the notebook calls too.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from cli.common import fail, setup


def tune_command(
    model: Annotated[
        str, typer.Option(help="Registered model version whose test predictions to use.")
    ] = "models:/escalation-risk@champion",
    precision: Annotated[
        float | None,
        typer.Option(help="Precision floor: lowest threshold with this ticket precision."),
    ] = None,
    alerts_per_day: Annotated[
        float | None,
        typer.Option(help="Alert budget: at most this many alerted tickets per day per team."),
    ] = None,
    strategic_precision: Annotated[
        float | None,
        typer.Option(help="Strategic accounts' own precision floor (they may run lower)."),
    ] = None,
    min_alerts: Annotated[
        int, typer.Option(min=1, help="A precision counts only with this many alerts.")
    ] = 5,
    watch_share: Annotated[
        float | None,
        typer.Option(help="At most this share of tickets reaches watch (default: config.yaml)."),
    ] = None,
    executive_precision: Annotated[
        float | None,
        typer.Option(help="Executive band's precision floor on high-value accounts."),
    ] = None,
    triggers: Annotated[
        Path | None,
        typer.Option(help="Triggers YAML carried in the policy (default training/triggers.yaml)."),
    ] = None,
    no_triggers: Annotated[
        bool,
        typer.Option("--no-triggers", help="No triggers (executive still high-value only)."),
    ] = False,
    keep_triggers: Annotated[
        bool,
        typer.Option(
            "--keep-triggers",
            help="Under --precision, keep triggers whose own precision is below the floor.",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the policy; write nothing.")
    ] = False,
    json_: Annotated[
        bool, typer.Option("--json", help="Print the policy JSON instead of tables.")
    ] = False,
    verbose: bool = False,
) -> None:
    """Derive the threshold policy under a precision floor or an alert budget; store it.

    The policy carries the multi-signal triggers (training/triggers.yaml unless --triggers or
    --no-triggers); tickets they alert count against --alerts-per-day, and the report shows
    each trigger's ticket precision, recall and alerts per day. Under --precision, a trigger
    whose own ticket precision is below the floor leaves the policy (named in the report)
    unless --keep-triggers. Writes the policy to the model
    version (artifact policies/<version>.json, tags policy_version and policy_artifact) unless
    --dry-run.
    """

    setup(verbose)
    if (precision is None) == (alerts_per_day is None):
        raise fail("give exactly one of --precision P or --alerts-per-day N")
    if no_triggers and triggers is not None:
        raise fail("give at most one of --triggers PATH and --no-triggers")
    from training.config import load_triggers
    from training.policy_store import save_policy
    from training.tuning import (
        expected_figures,
        format_report,
        load_predictions,
        origin,
        trigger_table,
        tune_policy,
    )

    try:
        chosen = None  # the shipped training/triggers.yaml
        if no_triggers:
            # No triggers; the executive band still applies to high-value accounts only.
            chosen = replace(load_triggers(), triggers=())
        elif triggers is not None:
            chosen = load_triggers(triggers)
        predictions, info = load_predictions(model)
        policy = tune_policy(
            predictions,
            precision,
            alerts_per_day,
            strategic_precision=strategic_precision,
            watch_share=watch_share,
            executive_precision=executive_precision,
            triggers=chosen,
            keep_triggers=keep_triggers,
            min_alerts=min_alerts,
            source=origin("cli", info),
        )
    except (ValueError, FileNotFoundError) as err:  # ConstraintError included
        raise fail(str(err)) from None
    if json_:
        typer.echo(policy.to_json())
    else:
        typer.echo(
            format_report(
                policy, expected_figures(predictions, policy), trigger_table(predictions, policy)
            )
        )
    target = f"models:/{info['model']}/{info['version']}"
    if dry_run:
        typer.echo(f"dry run: policy {policy.version} not written to {target}", err=True)
        return
    uri = save_policy(info["model"], info["version"], policy)
    typer.echo(f"wrote policy {policy.version} to {target} ({uri})", err=json_)
