"""Operations report subcommands of the `escalation-risk` CLI: report, drift-reference.

Registered in cli/main.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cli.common import fail, setup


def report_command(
    data: Annotated[Path, typer.Option(help="Support-data folder (synthetic or ingested).")],
    out: Annotated[Path, typer.Option(help="Output folder: report.html, report.json, PNGs.")],
    month: Annotated[
        str | None, typer.Option(help="Review month YYYY-MM (default: the latest).")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            help="Registered model for the drift section, e.g. "
            "models:/escalation-risk@champion (default: no drift section)."
        ),
    ] = None,
    context: Annotated[
        bool,
        typer.Option(
            help="Measure context loss with the MiniLM encoder (--no-context skips "
            "it; logs without message text skip it anyway)."
        ),
    ] = True,
    json_: Annotated[bool, typer.Option("--json", help="Print the report JSON.")] = False,
    verbose: bool = False,
) -> None:
    """Operational metrics per month, team, type and segment against their targets, as a
    self-contained HTML page with plots plus JSON; with --model also drift and alert
    precision."""
    setup(verbose)
    from features.schema import DataValidationError
    from training.report.build import build_report
    from training.report.render import METRICS, fmt, target_text, write_report

    if month is not None and (
        len(month) != 7 or month[4] != "-" or not month.replace("-", "").isdigit()
    ):
        raise fail(f"--month must look like YYYY-MM, got {month!r}")
    from training.report.context import MiniLMEmbedder

    try:
        drift = None
        if model is not None:
            from training.report.drift import drift_section

            drift = drift_section(model, data, month)
        report = build_report(
            data, month, drift=drift, make_embedder=MiniLMEmbedder if context else None
        )
    except (DataValidationError, ValueError) as err:
        raise fail(str(err)) from None
    files = write_report(report, out)
    if json_:
        typer.echo(Path(files["json"]).read_text())
        return
    typer.echo(f"review month {report['review_month']}; wrote {files['html']} and {files['json']}")
    for name in METRICS:
        m, t = report["overall"][name], report["targets"][name]
        verdict = {True: "meets", False: "misses", None: "not measured"}[m["ok"]]
        why = report["supported"].get(name)
        typer.echo(
            f"  {t['label']}: {fmt(name, m['value'])} (n={m['n']}), target "
            f"{target_text(name)}: {verdict}" + (f" [{why}]" if why else "")
        )
    if drift:
        typer.echo(
            f"  drift vs training window: {drift['status']} "
            f"(score PSI {drift['score_psi']}; retrain: {', '.join(drift['retrain']) or '-'})"
        )


def drift_reference_command(
    model: Annotated[
        str, typer.Option(help="Registered version, e.g. models:/escalation-risk/3.")
    ],
    data: Annotated[Path, typer.Option(help="The data folder the version was trained on.")],
    verbose: bool = False,
) -> None:
    """Store the version's training-window feature and score distributions with it (the
    reference the service's drift gauges and the report compare recent traffic against)."""
    setup(verbose)
    from training.report.drift import attach_reference

    try:
        info = attach_reference(model, data)
    except ValueError as err:
        raise fail(str(err)) from None
    typer.echo(json.dumps(info, default=str))
