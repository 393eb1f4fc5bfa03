"""`escalation-risk forget` and `escalation-risk purge`: erasure and retention on the service's
store file (registered in cli/main.py).

Both work on the SQLite store directly. A service running on the same store keeps what it has
in memory (its feature context, its cached accounts) until it restarts: for a live service use
``DELETE /v1/admin/accounts/{id}`` (admin scope), which also rebuilds the context.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from cli.common import fail, setup


def forget_account(store_path: Path, account_id: str) -> dict[str, int]:
    """Delete everything the store at ``store_path`` holds of one account; rows per table.

    Raises:
        FileNotFoundError: no store at ``store_path`` (a typo must not create an empty one).
    """
    from serving.services.store import Store

    if not store_path.is_file():
        raise FileNotFoundError(f"{store_path}: no such store")
    store = Store(store_path)
    try:
        return store.forget_account(account_id)
    finally:
        store.close()


def purge_store(store_path: Path, older_than_days: float, now: datetime) -> dict[str, int]:
    """Delete what went quiet more than ``older_than_days`` before ``now``; rows per table.

    Raises:
        FileNotFoundError: no store at ``store_path``.
    """
    from serving.services.purge import purge_expired
    from serving.services.store import Store

    if not store_path.is_file():
        raise FileNotFoundError(f"{store_path}: no such store")
    store = Store(store_path)
    try:
        return purge_expired(store, older_than_days, now)
    finally:
        store.close()


def _report(removed: dict[str, int], what: str, json_: bool) -> None:
    if json_:
        typer.echo(json.dumps(removed, indent=2, sort_keys=True))
        return
    total = sum(removed.values())
    typer.echo(f"{what}: {total} rows removed")
    for table, n in sorted(removed.items()):
        if n:
            typer.echo(f"  {table}: {n}")


def forget_command(
    account: Annotated[str, typer.Option("--account", help="The account id to erase.")],
    store: Annotated[Path, typer.Option(help="The service's SQLite store.")] = Path("serving.db"),
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Erase one account from the service's store and say what was removed."""
    setup()
    if not account.strip():
        raise fail("--account must not be empty")
    try:
        removed = forget_account(store, account)
    except FileNotFoundError as err:
        raise fail(str(err)) from None
    _report(removed, "account erased" if any(removed.values()) else "nothing held", json_)


def purge_command(
    older_than_days: Annotated[
        float | None,
        typer.Option(min=0.001, help="Age in days (default: ESCALATION_RISK_RETENTION_DAYS)."),
    ] = None,
    store: Annotated[Path, typer.Option(help="The service's SQLite store.")] = Path("serving.db"),
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Delete stored tickets (events, scores, feedback, alerts) that went quiet long ago."""
    from pydantic import ValidationError

    setup()
    if older_than_days is None:
        from serving.core.config import Settings

        try:
            older_than_days = Settings().retention_days
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors()
            )
            raise fail(f"invalid service settings: {problems}") from None
        if older_than_days <= 0:
            raise fail(
                "retention is off (ESCALATION_RISK_RETENTION_DAYS=0); give --older-than-days"
            )
    try:
        removed = purge_store(store, older_than_days, datetime.now(UTC))
    except FileNotFoundError as err:
        raise fail(str(err)) from None
    _report(removed, f"purged what went quiet over {older_than_days:g} days ago", json_)
