"""Sentiment subcommands of the `escalation-risk` CLI: train-sentiment, build-sentiment, sentiment.

Registered in cli/main.py.
Heavy modules (torch, onnxruntime, transformers) are imported inside the commands.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.common import fail, setup

CHUNK = 1024  # texts scored per call when streaming a file


def read_texts(path: Path) -> list[str]:
    """Texts from a file, one per line (``-`` reads stdin).

    Raises:
        ValueError: on an empty or blank line, naming its 1-based line number (a blank line is
            almost always a formatting mistake, and silently dropping it would shift the output).
    """
    content = sys.stdin.read() if str(path) == "-" else Path(path).read_text(encoding="utf-8")
    texts = content.splitlines()
    for number, text in enumerate(texts, start=1):
        if not text.strip():
            raise ValueError(f"line {number} of {path} is empty: give one non-empty text per line")
    return texts


def train_sentiment_command(
    data_dir: Annotated[
        Path | None, typer.Option(help="Shared data folder (default: ../shared/data).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of splits, initialisation and order.")] = 13,
    epochs: Annotated[
        float, typer.Option(min=0.01, help="Passes over the training tweets.")
    ] = 1.0,
    max_steps: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many steps (smoke runs).")
    ] = None,
    compare_frozen: Annotated[
        bool, typer.Option(help="Also measure a head on the frozen encoder (+3 min).")
    ] = True,
    intents_only: Annotated[
        bool, typer.Option(help="Only refit the intent heads on the current build.")
    ] = False,
    evaluate_only: Annotated[
        bool,
        typer.Option(help="Only measure the built model on tweeteval-val + airline hold-out."),
    ] = False,
    threads: Annotated[int, typer.Option(min=1, help="torch / ONNX Runtime threads.")] = 2,
    verbose: bool = False,
) -> None:
    """Fine-tune the sentiment adapter + head and the intent heads; write models/artifacts/.

    Takes about 20-25 minutes on 2 CPU cores. Then run `escalation-risk build-sentiment`
    on other machines (the build here is refreshed automatically).
    """

    setup(verbose)
    from training.sentiment.data import DEFAULT_DATA_DIR
    from training.sentiment.evaluate import evaluate_built
    from training.sentiment.intents import fit_intent_heads
    from training.sentiment.train import SentimentTrainConfig, train_sentiment

    if evaluate_only:
        try:
            report = evaluate_built(data_dir or DEFAULT_DATA_DIR, seed, threads)
        except FileNotFoundError as err:
            raise fail(str(err)) from None
        typer.echo(json.dumps(report, indent=2))
        return
    if intents_only:
        meta = fit_intent_heads()
        typer.echo(json.dumps({k: meta.get(k) for k in ("intents", "intents_eval")}, indent=2))
        return
    config = SentimentTrainConfig(
        data_dir=data_dir or DEFAULT_DATA_DIR,
        seed=seed,
        epochs=epochs,
        max_steps=max_steps,
        compare_frozen=compare_frozen,
        threads=threads,
    )
    try:
        meta = train_sentiment(config)
    except FileNotFoundError as err:
        raise fail(str(err)) from None
    typer.echo(json.dumps({"metrics": meta["metrics"], "training": meta["training"]}, indent=2))


def build_sentiment_command(
    force: Annotated[bool, typer.Option(help="Rebuild even if up to date.")] = False,
    verbose: bool = False,
) -> None:
    """Merge the committed LoRA adapter into the packaged MiniLM; export ONNX fp32 + int8.

    A no-op when models/artifacts/build/ is up to date.
    """

    setup(verbose)
    from models.build import build_sentiment

    typer.echo(str(build_sentiment(force=force)))


def sentiment_command(
    texts: Annotated[
        list[str] | None, typer.Argument(help="Texts to score (or use --input).")
    ] = None,
    input: Annotated[
        Path | None,
        typer.Option(
            "--input",
            "-i",
            help="File with one text per line; '-' reads stdin. Blank lines are an error.",
        ),
    ] = None,
) -> None:
    """Print one JSON object per text, in order: negative, neutral, positive, score in [-1, 1]."""

    setup()
    if bool(texts) == (input is not None):
        raise fail("give either TEXT arguments or --input FILE (one text per line)")
    if input is not None:
        if str(input) != "-" and not input.is_file():
            raise fail(f"input file {input} does not exist")
        try:
            items = read_texts(input)
        except ValueError as err:
            raise fail(str(err)) from None
    else:
        items = list(texts or [])
        for number, text in enumerate(items, start=1):
            if not text.strip():
                raise fail(f"text {number} is empty")

    from models.sentiment import (
        SentimentArtifactsMissing,
        load_sentiment_model,
        score_from_proba,
    )

    try:
        model = load_sentiment_model()
    except SentimentArtifactsMissing as err:
        raise fail(str(err)) from None
    for start in range(0, len(items), CHUNK):
        proba = model.predict_proba(items[start : start + CHUNK])
        scores = score_from_proba(proba)
        for row, score in zip(proba, scores, strict=True):
            typer.echo(
                json.dumps(
                    {
                        "negative": round(float(row[0]), 4),
                        "neutral": round(float(row[1]), 4),
                        "positive": round(float(row[2]), 4),
                        "score": round(float(score), 4),
                    }
                )
            )
