"""`escalation-risk serve`: the scoring API under uvicorn (registered in cli/main.py)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer

from cli.common import fail, setup


def monitor(
    store: Annotated[Path, typer.Option(help="The service's SQLite store.")] = Path("serving.db"),
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Alerts raised by the service against the outcomes fed back, per model and policy."""
    import json

    from serving.services.monitor import monitoring_report

    try:
        rows = monitoring_report(store)
    except FileNotFoundError as err:
        raise fail(str(err)) from None
    if json_:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo(f"{store}: nothing scored yet")
        return
    import pandas as pd

    typer.echo(pd.DataFrame(rows).to_string(index=False))


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    model: Annotated[
        str | None,
        typer.Option(help="Registered model (default models:/escalation-risk@champion)."),
    ] = None,
    backfill: Annotated[
        Path | None,
        typer.Option(help="Data folder loaded into an empty store (account history)."),
    ] = None,
    store: Annotated[Path | None, typer.Option(help="SQLite store of the service.")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Worker processes (default: settings, 1).")
    ] = None,
    verbose: bool = False,
) -> None:
    """Serve the registered model over HTTP (FastAPI; see README "API")."""
    from pydantic import ValidationError

    setup(verbose)
    # Options become the service's environment, so every worker process reads the same.
    for name, value in (
        ("MODEL_URI", model),
        ("BACKFILL_DIR", backfill),
        ("STORE_PATH", store),
        ("WORKERS", workers),
    ):
        if value is not None:
            os.environ[f"ESCALATION_RISK_{name}"] = str(value)
    if backfill is not None and not backfill.is_dir():
        raise fail(f"--backfill {backfill}: no such folder")
    from serving.core.config import Settings

    try:
        settings = Settings()
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        raise fail(f"invalid service settings: {problems}") from None
    from serving.core.security import ExposureError, check_exposure

    try:  # no keys on a non-loopback address: refused unless explicitly allowed
        check_exposure(host, settings.key_ring, settings.allow_unauthenticated)
    except ExposureError as err:
        raise fail(str(err)) from None
    if settings.key_ring.unscoped:
        logging.getLogger(__name__).warning(
            "%d API key(s) have no scope and grant score, feedback and read (not admin); "
            "give each a scope (README 'Security')",
            settings.key_ring.unscoped,
        )
    # Compute threads x workers <= CPUs; models are loaded in each worker after the fork.
    os.environ.setdefault("SENTIMENT_THREADS", str(settings.compute_threads()))
    os.environ.setdefault("OMP_NUM_THREADS", str(settings.compute_threads()))
    # A service must not hang for minutes on an unreachable tracking server.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    import uvicorn

    uvicorn.run(
        "serving.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=settings.workers,
        log_level="debug" if verbose else "info",
    )
