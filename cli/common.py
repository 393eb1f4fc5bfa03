"""What every command shares: process set-up and the one way a user error is reported."""

from __future__ import annotations

import logging
import os
import sys

import typer

# Process-wide defaults of every entry point (CLI, tests, benchmarks): no model hub, no
# telemetry, no tokenizer threads on top of ours. Never set at import of a library module.
RUNTIME_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
}


def apply_runtime_env() -> None:
    """Set the offline/telemetry defaults (values already in the environment win)."""
    for key, value in RUNTIME_ENV.items():
        os.environ.setdefault(key, value)


def setup(verbose: bool = False) -> None:
    """Process-wide settings that belong to entry points, never to imports."""
    apply_runtime_env()
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def fail(message: str) -> typer.Exit:
    """Print a clear error for a user mistake (no stack trace) and return the exit to raise."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=2)
