"""Real-log subcommands of the `escalation-risk` CLI: ingest, evaluate-prefix.

Registered in cli/main.py.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import fail, setup


class SplitBy(StrEnum):
    time = "time"
    case = "case"


def format_report(report: dict[str, Any], indent: int = 0) -> list[str]:
    """The adapter report as indented ``key: value`` lines (nested dicts become blocks)."""
    lines: list[str] = []
    pad = "  " * indent
    for key, value in report.items():
        if isinstance(value, dict) and value:
            lines.append(f"{pad}{key}:")
            lines.extend(format_report(value, indent + 1))
        elif isinstance(value, list):
            lines.append(f"{pad}{key}: {', '.join(map(str, value)) if value else '-'}")
        else:
            lines.append(f"{pad}{key}: {value}")
    return lines


def ingest_command(
    path: Annotated[
        Path,
        typer.Argument(
            help="The export: an XES log, a ServiceNow CSV, a Zendesk export folder or a CSV "
            "event log."
        ),
    ],
    format_: Annotated[
        str, typer.Option("--format", help="Export format: xes, servicenow, zendesk or csv.")
    ],
    out: Annotated[Path, typer.Option(help="Output folder for the Parquet tables.")],
    label: Annotated[
        str | None,
        typer.Option(
            help="Label to derive. xes: hierarchical (default), ping_pong, third_line; "
            "servicenow: sla_missed (default), reassigned; zendesk: escalated_tag (default), "
            "reassigned; csv: from the mapping's 'escalated' column."
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Read only the first N cases (quick looks).")
    ] = None,
    drop_bulk_closed: Annotated[
        bool,
        typer.Option(help="ServiceNow: drop incidents of a bulk closure (default: flag them)."),
    ] = False,
    json_: Annotated[
        bool, typer.Option("--json", help="Print the report as one JSON object.")
    ] = False,
    mapping: Annotated[
        Path | None,
        typer.Option(help="csv: the column-mapping YAML file (see sources/adapters/csvlog.py)."),
    ] = None,
    verbose: bool = False,
) -> None:
    """Read a real event log into the support-data model; print the mapping and its quirks.

    The tables pass the same validating reader as every other data folder; the report is
    also written to OUT/ingest_report.json.
    """

    setup(verbose)
    from features.schema import DataValidationError, write_dataset
    from sources.adapters import FORMATS, AdapterError, ingest

    if format_ not in FORMATS:
        raise fail(f"--format must be one of {', '.join(FORMATS)}, got {format_!r}")
    try:
        result = ingest(format_, path, label, limit, drop_bulk_closed, mapping)
    except (AdapterError, DataValidationError) as err:
        raise fail(str(err)) from None
    sizes = write_dataset(result.data, out)
    report = {**result.report, "out": str(out), "summary": result.data.summary()}
    report["files"] = sizes
    (Path(out) / "ingest_report.json").write_text(json.dumps(report, indent=2, default=str))
    if json_:
        typer.echo(json.dumps(report, default=str))
    else:
        typer.echo("\n".join(format_report(report)))


def evaluate_prefix_command(
    model: Annotated[
        str, typer.Option(help="Registered model, e.g. models:/escalation-risk-bpi2013/1.")
    ],
    data: Annotated[Path, typer.Option(help="Ingested data folder (with outcomes).")],
    k: Annotated[
        list[int] | None, typer.Option("--k", help="Prefix lengths (default 1, 3, 8).")
    ] = None,
    split_by: Annotated[
        SplitBy | None,
        typer.Option(help="Override the model's split (time or case); default: as trained."),
    ] = None,
    open_only: Annotated[
        bool,
        typer.Option(
            help="Only snapshots before the ticket is solved (the outcome of an SLA is "
            "settled at resolution; --no-open-only keeps them)."
        ),
    ] = True,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    verbose: bool = False,
) -> None:
    """ROC-AUC and PR-AUC of a registered model by prefix length (events seen so far)."""

    setup(verbose)
    from training.prefix import evaluate_by_prefix, format_prefix_table

    try:
        result = evaluate_by_prefix(
            model,
            data,
            tuple(k or (1, 3, 8)),
            split_by.value if split_by else None,
            open_only,
        )
    except ValueError as err:
        raise fail(str(err)) from None
    typer.echo(json.dumps(result, default=float) if json_ else format_prefix_table(result))
