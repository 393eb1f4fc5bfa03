"""A small model trained with the real text model, registered in a temporary MLflow store, and
services over it (booted synchronously: no background thread in tests)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from features.schema import read_dataset
from models.text_scorer import TransformerTextScorer
from serving.app import Service, create_app
from serving.config import Settings
from sources.synthetic.generate import GeneratorConfig, generate_dataset
from training.config import load_config
from training.jobs import run_training

MODEL = "serving-test"
OVERRIDES = [
    "search.n_trials=0",
    "lightgbm.num_threads=1",
    "lightgbm.n_estimators=300",
    "lightgbm.learning_rate=0.1",
]


@pytest.fixture(scope="session")
def text_scorer():
    return TransformerTextScorer()


@pytest.fixture(scope="session")
def registry(tmp_path_factory, text_scorer):
    """(root folder, data folder, training summary): one version, @champion."""
    root = tmp_path_factory.mktemp("serving-registry")
    data = root / "data"
    generate_dataset(
        GeneratorConfig(n_tickets=700, seed=11, days=45, truth_fraction=0.0), data, progress=False
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        cfg, raw = load_config(overrides=OVERRIDES)
        summary = run_training(data, cfg, raw, MODEL, text_scorer)
    return root, data, summary


@pytest.fixture(scope="session")
def dataset(registry):
    return read_dataset(registry[1])


def make_settings(registry, tmp: Path, **kw) -> Settings:
    root, data, _ = registry
    base = {
        "model_uri": f"models:/{MODEL}@champion",
        "tracking_uri": f"sqlite:///{root / 'mlflow.db'}",
        "store_path": tmp / "serving.db",
        "backfill_dir": data,
        "model_cache_dir": tmp / "model-cache",
        "refresh_seconds": 3600,
    }
    base.update(kw)
    return Settings(_env_file=None, **base)


def booted(settings: Settings, text_scorer) -> Service:
    svc = Service(settings, text_scorer=text_scorer)
    svc.boot()
    return svc


@pytest.fixture(scope="module")
def service(registry, text_scorer, tmp_path_factory):
    svc = booted(make_settings(registry, tmp_path_factory.mktemp("svc")), text_scorer)
    assert svc.ready, svc.status()
    yield svc
    svc.store.close()


@pytest.fixture(scope="module")
def client(service):
    with TestClient(create_app(service=service, background=False)) as c:
        yield c


def ticket_request(data, ticket_id: str, as_of: pd.Timestamp | None = None) -> dict:
    """A /v1/score body for one ticket of a data set, with its events up to as_of."""
    tk = data.tickets.set_index("ticket_id").loc[ticket_id]
    acc = data.accounts.set_index("account_id").loc[tk["account_id"]]
    ev = data.events[data.events["ticket_id"] == ticket_id]
    if as_of is not None:
        ev = ev[ev["ts"] <= as_of]

    def clean(v):
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            return None
        if isinstance(v, pd.Timestamp):
            return v.isoformat()
        return v.item() if hasattr(v, "item") else v

    events = []
    for r in ev.to_dict("records"):
        events.append({k: clean(r[k]) for k in r if k != "ticket_id" and clean(r[k]) is not None})
    body = {
        "ticket": {
            "ticket_id": ticket_id,
            "created_at": tk["created_at"].isoformat(),
            "priority": tk["priority"],
            "channel": clean(tk["channel"]),
            "product_area": clean(tk["product_area"]),
            "subject": clean(tk["subject"]),
        },
        "account": {
            "account_id": tk["account_id"],
            "arr": clean(acc["arr"]),
            "plan": clean(acc["plan"]),
            "strategic": bool(acc["strategic"]),
            "region": clean(acc["region"]),
            "industry": clean(acc["industry"]),
            "created_at": clean(acc["created_at"]),
            "renewal_date": clean(acc["renewal_date"]),
        },
        "events": events,
    }
    if as_of is not None:
        body["as_of"] = as_of.isoformat()
    return body


@pytest.fixture(autouse=True)
def _restore_tracking(monkeypatch):
    """The service points MLflow at its registry process-wide; tests restore the previous URI."""
    import os

    import mlflow

    before = mlflow.get_tracking_uri()
    if "MLFLOW_TRACKING_URI" in os.environ:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", os.environ["MLFLOW_TRACKING_URI"])
    else:
        monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    yield
    mlflow.set_tracking_uri(before)
