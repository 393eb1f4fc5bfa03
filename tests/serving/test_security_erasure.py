"""Retention and erasure against the real store: ``DELETE /v1/admin/accounts/{id}`` (admin
scope), ``escalation-risk forget`` and ``purge``, and the service's periodic purge."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cli.forget import purge_store
from cli.main import app as cli
from features.schema import read_dataset
from serving.core.config import Settings
from serving.core.security import API_KEY_HEADER
from serving.main import create_app
from serving.services.purge import purge_expired, retention_cutoff, start_purge
from serving.services.service import Service
from serving.services.store import Store

pytestmark = pytest.mark.slow  # a generated data set and a backfilled store per test

ADMIN, SCORE = "a" * 24, "s" * 24


@pytest.fixture
def filled(synthetic_dir, lexical_scorer, tmp_path):
    """A store backfilled from the 3,000-ticket synthetic set, and that data set."""
    data_dir, _ = synthetic_dir
    path = tmp_path / "serving.db"
    store = Store(path)
    store.backfill(data_dir, lexical_scorer)
    yield store, read_dataset(data_dir)
    store.close()


def _busiest(data, rank: int = 0) -> tuple[str, int]:
    counts = data.tickets["account_id"].value_counts()
    return str(counts.index[rank]), int(counts.iloc[rank])


def _rows_of(store: Store, account: str) -> dict[str, int]:
    tickets = store.table("tickets")
    ids = set(tickets.loc[tickets["account_id"] == account, "ticket_id"])
    return {
        "accounts": int((store.table("accounts")["account_id"] == account).sum()),
        "tickets": len(ids),
        "events": int(store.table("events")["ticket_id"].isin(ids).sum()),
        "escalations": int((store.table("escalations")["account_id"] == account).sum()),
    }


def test_the_admin_endpoint_erases_an_account_and_says_what_it_removed(filled, tmp_path):
    store, data = filled
    account, n_tickets = _busiest(data)
    before = _rows_of(store, account)
    assert before["tickets"] == n_tickets > 0 and before["events"] > 0
    settings = Settings(
        _env_file=None, api_keys=f"admin:{ADMIN},score:{SCORE}", store_path=store.path
    )
    service = Service(settings, store=store)
    with TestClient(create_app(service=service, background=False)) as c:
        url = f"/v1/admin/accounts/{account}"
        refused = c.delete(url, headers={API_KEY_HEADER: SCORE})
        assert refused.status_code == 403 and "'admin' scope" in refused.json()["message"]
        assert _rows_of(store, account) == before  # nothing went
        r = c.delete(url, headers={API_KEY_HEADER: ADMIN})
        assert r.status_code == 200, r.text
        out = r.json()
        assert account not in r.text  # the id may be personal: not echoed
        assert out["removed"]["tickets"] == n_tickets and out["removed"]["accounts"] == 1
        assert out["removed"]["events"] == before["events"]
        assert out["total"] == sum(out["removed"].values())
        assert _rows_of(store, account) == dict.fromkeys(before, 0)
        assert service.context is not None  # rebuilt from the store at once
        again = c.delete(url, headers={API_KEY_HEADER: ADMIN}).json()
        assert again["total"] == 0
        other, _ = _busiest(data, 1)
        assert _rows_of(store, other)["tickets"] > 0  # other accounts stay


def test_forget_command_erases_from_the_store_file(filled):
    store, data = filled
    account, n_tickets = _busiest(data, 2)
    store.close()  # the command opens the file itself
    r = CliRunner().invoke(cli, ["forget", "--account", account, "--store", str(store.path)])
    assert r.exit_code == 0, r.output
    assert "account erased:" in r.output and f"tickets: {n_tickets}" in r.output
    again = CliRunner().invoke(
        cli, ["forget", "--account", account, "--store", str(store.path), "--json"]
    )
    assert again.exit_code == 0 and sum(json.loads(again.output).values()) == 0
    reopened = Store(store.path)
    try:
        assert _rows_of(reopened, account)["tickets"] == 0
    finally:
        reopened.close()
    missing = CliRunner().invoke(cli, ["forget", "--account", account, "--store", "nope.db"])
    assert missing.exit_code == 2 and "no such store" in missing.output


def test_purge_removes_what_went_quiet_before_the_cutoff(filled):
    store, data = filled
    last = pd.concat(
        [
            data.tickets.set_index("ticket_id")["created_at"],
            data.events.groupby("ticket_id")["ts"].max(),
        ],
        axis=1,
    ).max(axis=1)
    cutoff = last.sort_values().iloc[len(last) // 2]  # half the tickets are older
    now = cutoff.to_pydatetime() + timedelta(days=30)
    expected = int((last < cutoff).sum())
    assert 0 < expected < len(last)
    removed = purge_expired(store, 30, now)
    assert removed["tickets"] == expected
    assert store.count("tickets") == len(last) - expected
    assert purge_expired(store, 30, now)["tickets"] == 0  # nothing left to purge
    assert purge_expired(store, 0, now) == {}  # retention off
    store.close()
    assert purge_store(store.path, 30, now)["tickets"] == 0
    r = CliRunner().invoke(
        cli, ["purge", "--older-than-days", "100000", "--store", str(store.path)]
    )
    assert r.exit_code == 0 and "0 rows removed" in r.output


def test_the_service_purges_periodically_and_rebuilds_its_context(wait_until):
    calls: list[datetime] = []
    rebuilt = threading.Event()
    store = SimpleNamespace(purge=lambda before: calls.append(before) or {"tickets": 1})
    service = SimpleNamespace(
        settings=Settings(_env_file=None, retention_days=30, purge_interval_seconds=0.01),
        store=store,
        stop=threading.Event(),
        refresh_context=lambda force: rebuilt.set(),
    )
    started = datetime.now(UTC)
    thread = start_purge(service)
    try:
        wait_until(lambda: len(calls) >= 2 and rebuilt.is_set(), "two purge rounds", 30)
    finally:
        service.stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert started - timedelta(days=30) <= calls[0] <= datetime.now(UTC) - timedelta(days=30)
    off = SimpleNamespace(settings=Settings(_env_file=None, retention_days=0))
    assert start_purge(off) is None and retention_cutoff(0, started) is None
    with pytest.raises(ValueError, match="time zone"):
        retention_cutoff(30, datetime(2026, 1, 1))
