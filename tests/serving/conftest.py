"""A small model trained with the real text model, registered in a temporary MLflow store, and
services over it (booted synchronously: no background thread in tests).

Helpers come as fixtures (``make_settings``, ``boot``, ``ticket_body``, ``wait_until``), so test
modules import nothing from here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from features.schema import SupportData, json_value, read_dataset
from serving.core.config import Settings
from serving.main import create_app
from serving.services.service import Service


@pytest.fixture(scope="session")
def dataset(registry) -> SupportData:
    return read_dataset(registry.data_dir)


@pytest.fixture(scope="session")
def make_settings(registry) -> Callable[..., Settings]:
    """``make_settings(folder, **overrides)``: settings over the test registry, state in folder."""

    def make(tmp: Path, **kw) -> Settings:
        base = {
            "model_uri": f"models:/{registry.model}@champion",
            "tracking_uri": registry.tracking_uri,
            "store_path": tmp / "serving.db",
            "backfill_dir": registry.data_dir,
            "model_cache_dir": tmp / "model-cache",
            "refresh_seconds": 3600,
        }
        base.update(kw)
        return Settings(_env_file=None, **base)

    return make


@pytest.fixture(scope="session")
def boot(text_scorer) -> Callable[[Settings], Service]:
    """``boot(settings)``: a service loaded synchronously (the caller closes its store)."""

    def make(settings: Settings) -> Service:
        svc = Service(settings, text_scorer=text_scorer)
        svc.boot()
        return svc

    return make


@pytest.fixture(scope="session")
def service(make_settings, boot, tmp_path_factory) -> Iterator[Service]:
    """One booted service shared by the tests that only read it (and record their requests)."""
    svc = boot(make_settings(tmp_path_factory.mktemp("svc")))
    assert svc.ready, svc.status()
    yield svc
    svc.store.close()


@pytest.fixture(scope="session")
def client(service) -> Iterator[TestClient]:
    with TestClient(create_app(service=service, background=False)) as c:
        yield c


def _ticket_request(data: SupportData, ticket_id: str, as_of: pd.Timestamp | None = None) -> dict:
    tk = data.tickets.set_index("ticket_id").loc[ticket_id]
    acc = data.accounts.set_index("account_id").loc[tk["account_id"]]
    ev = data.events[data.events["ticket_id"] == ticket_id]
    if as_of is not None:
        ev = ev[ev["ts"] <= as_of]

    events = []
    for r in ev.to_dict("records"):
        events.append(
            {k: json_value(r[k]) for k in r if k != "ticket_id" and json_value(r[k]) is not None}
        )
    body = {
        "ticket": {
            "ticket_id": ticket_id,
            "created_at": tk["created_at"].isoformat(),
            "priority": tk["priority"],
            "channel": json_value(tk["channel"]),
            "product_area": json_value(tk["product_area"]),
            "subject": json_value(tk["subject"]),
        },
        "account": {
            "account_id": tk["account_id"],
            "arr": json_value(acc["arr"]),
            "plan": json_value(acc["plan"]),
            "strategic": bool(acc["strategic"]),
            "region": json_value(acc["region"]),
            "industry": json_value(acc["industry"]),
            "created_at": json_value(acc["created_at"]),
            "renewal_date": json_value(acc["renewal_date"]),
        },
        "events": events,
    }
    if as_of is not None:
        body["as_of"] = as_of.isoformat()
    return body


@pytest.fixture(scope="session")
def ticket_body() -> Callable[..., dict]:
    """``ticket_body(data, ticket_id, as_of=None)``: a /v1/score body for one ticket of a data
    set, with its events up to as_of."""
    return _ticket_request


@pytest.fixture(scope="session")
def open_snapshot(dataset) -> Callable[..., tuple[str, pd.Timestamp]]:
    """``open_snapshot(k, which=0, minutes_after=5)``: (ticket id, an instant just after its
    k-th event) of the ``which``-th ticket with at least 8 events."""

    def pick(k: int = 3, which: int = 0, minutes_after: float = 5.0):
        counts = dataset.events.groupby("ticket_id").size()
        tid = counts[counts >= 8].index[which]
        ts = dataset.events.loc[dataset.events["ticket_id"] == tid, "ts"].sort_values()
        return tid, ts.iloc[k - 1] + pd.Timedelta(minutes=minutes_after)

    return pick


@pytest.fixture
def valid_body(dataset, ticket_body, open_snapshot) -> dict:
    """A valid /v1/score body (a fresh copy per test: tests may change it)."""
    tid, as_of = open_snapshot(3)
    return ticket_body(dataset, tid, as_of)


def _assert_error(r, status: int, where: str | None = None, secret: str | None = None) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "message", "details"}
    assert "Traceback" not in r.text
    if secret is not None:
        assert secret not in r.text
    if where is not None:
        assert any(where in d["location"] for d in body["details"]), body
    return body


@pytest.fixture(scope="session")
def assert_error() -> Callable[..., dict]:
    """``assert_error(response, status, where=None, secret=None)``: the one error format, with
    ``where`` in a detail's location and ``secret`` (part of the input) nowhere in the body."""
    return _assert_error


def _wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.01)


@pytest.fixture(scope="session")
def wait_until() -> Callable[..., None]:
    """``wait_until(condition, what, timeout=60)``: poll; fail the test, naming ``what``, on
    time-out."""
    return _wait_until


@pytest.fixture(autouse=True)
def _restore_tracking(restore_tracking):
    """Every serving test leaves MLflow's tracking URI as it found it."""
    yield
