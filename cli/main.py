"""The `escalation-risk` command line: one thin subcommand per job, all registered here.

Each subcommand parses its options, sets up the process (cli.common.setup) and calls one typed
function that the tests call directly. Heavy imports (torch, lightgbm, mlflow) happen inside the
commands so that `escalation-risk --help` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable

import typer

from cli import forget, groups, ingest, pipeline, report, retrain, score, sentiment, serve, tune

# (command name, function): the one place a command is registered.
COMMANDS: tuple[tuple[str, Callable[..., None]], ...] = (
    ("generate", pipeline.generate),
    ("validate", pipeline.validate),
    ("features", pipeline.features),
    ("train", pipeline.train),
    ("evaluate", pipeline.evaluate),
    ("score", score.score_command),
    ("tune", tune.tune_command),
    ("ingest", ingest.ingest_command),
    ("evaluate-prefix", ingest.evaluate_prefix_command),
    ("sentiment", sentiment.sentiment_command),
    ("build-sentiment", sentiment.build_sentiment_command),
    ("train-sentiment", sentiment.train_sentiment_command),
    ("serve", serve.serve),
    ("monitor", serve.monitor),
    ("report", report.report_command),
    ("drift-reference", report.drift_reference_command),
    ("retrain", retrain.retrain_command),
    ("groups", groups.groups_command),
    ("forget", forget.forget_command),
    ("purge", forget.purge_command),
)

app = typer.Typer(
    name="escalation-risk",
    help="Predict which support tickets are about to escalate, and why.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for _name, _command in COMMANDS:
    app.command(_name)(_command)


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
