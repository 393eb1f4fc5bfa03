"""The behavioural suite's fixtures: the real scoring service over a small model trained for this
session (synthetic data -> LightGBM -> MLflow on SQLite in a tmp dir -> FastAPI app in-process).

The model is the session's shared one (the ``registry`` fixture of tests/conftest.py, also used
by tests/serving): 700 synthetic tickets, seed 11, 45 days; no search, 300 trees.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from serving.core.config import Settings
from serving.main import create_app
from serving.services.service import Service


@pytest.fixture(scope="session")
def behaviour_service(registry, text_scorer, tmp_path_factory) -> Iterator[Service]:
    """A service booted synchronously (no background thread: the store's context is the
    synthetic organisation's and stays so), its store backfilled with that organisation."""
    state = tmp_path_factory.mktemp("behaviour-service")
    settings = Settings(
        _env_file=None,
        model_uri=f"models:/{registry.model}@champion",
        tracking_uri=registry.tracking_uri,
        store_path=state / "serving.db",
        backfill_dir=registry.data_dir,
        model_cache_dir=state / "model-cache",
        refresh_seconds=3600,
    )
    svc = Service(settings, text_scorer=text_scorer)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(registry.root)  # the backfill reuses the training run's text-signal cache
        svc.boot()
    assert svc.ready, svc.status()
    yield svc
    svc.store.close()


@pytest.fixture(scope="session")
def behaviour_client(behaviour_service) -> Iterator[TestClient]:
    with TestClient(create_app(service=behaviour_service, background=False)) as c:
        yield c


@pytest.fixture(scope="session")
def score(behaviour_client) -> Callable[[dict], dict]:
    """``score(request)``: the /v1/score answer for a request body (a copy is sent)."""

    def post(request: dict) -> dict:
        r = behaviour_client.post("/v1/score", json=copy.deepcopy(request))
        assert r.status_code == 200, r.text
        return r.json()

    return post


@pytest.fixture(scope="session")
def served_policy(behaviour_client) -> dict:
    """The threshold policy in force (GET /v1/model): ``default`` and ``segments`` bands."""
    r = behaviour_client.get("/v1/model")
    assert r.status_code == 200, r.text
    return r.json()["policy"]


@pytest.fixture(autouse=True)
def _restore_tracking(restore_tracking):
    """Every behavioural test leaves MLflow's tracking URI as it found it."""
    yield
