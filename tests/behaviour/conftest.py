"""The behavioural suite's fixtures: the real scoring service over a small model trained for this
session (synthetic data -> LightGBM -> MLflow on SQLite in a tmp dir -> FastAPI app in-process).

tests/serving/conftest.py builds the same thing, but a conftest's fixtures are visible only in
its own folder and below, so this one calls the same public functions with the same settings
(700 tickets, seed 11, 45 days; no search, 300 trees at rate 0.1, one thread).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pytest
from fastapi.testclient import TestClient

from serving.core.config import Settings
from serving.main import create_app
from serving.services.service import Service
from sources.synthetic.generate import GeneratorConfig, generate_dataset
from training.config import load_config
from training.jobs import run_training

MODEL_NAME = "behaviour-test"
OVERRIDES = [
    "search.n_trials=0",
    "lightgbm.num_threads=1",
    "lightgbm.n_estimators=300",
    "lightgbm.learning_rate=0.1",
]


@dataclass(frozen=True)
class BehaviourWorld:
    """The synthetic organisation the model was trained on and the registry holding it."""

    root: Path
    data_dir: Path
    tracking_uri: str


@pytest.fixture(scope="session")
def behaviour_world(tmp_path_factory, text_scorer) -> BehaviourWorld:
    """700 synthetic tickets (seed 11, 45 days) and one trained version, aliased @champion."""
    root = tmp_path_factory.mktemp("behaviour-registry")
    data = root / "data"
    generate_dataset(
        GeneratorConfig(n_tickets=700, seed=11, days=45, truth_fraction=0.0), data, progress=False
    )
    tracking_uri = f"sqlite:///{root / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv("MLFLOW_TRACKING_URI", tracking_uri)
        cfg, raw = load_config(overrides=OVERRIDES)
        run_training(data, cfg, raw, MODEL_NAME, text_scorer)
    return BehaviourWorld(root, data, tracking_uri)


@pytest.fixture(scope="session")
def behaviour_service(behaviour_world, text_scorer) -> Iterator[Service]:
    """A service booted synchronously (no background thread: the store's context is the
    synthetic organisation's and stays so), its store backfilled with that organisation."""
    world = behaviour_world
    settings = Settings(
        _env_file=None,
        model_uri=f"models:/{MODEL_NAME}@champion",
        tracking_uri=world.tracking_uri,
        store_path=world.root / "serving.db",
        backfill_dir=world.data_dir,
        model_cache_dir=world.root / "model-cache",
        refresh_seconds=3600,
    )
    svc = Service(settings, text_scorer=text_scorer)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(world.root)  # the backfill reuses the training run's text-signal cache there
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
def _restore_tracking(monkeypatch):
    """The service points MLflow at its registry process-wide; tests restore the previous URI."""
    before = mlflow.get_tracking_uri()
    if "MLFLOW_TRACKING_URI" in os.environ:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", os.environ["MLFLOW_TRACKING_URI"])
    else:
        monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    yield
    mlflow.set_tracking_uri(before)
