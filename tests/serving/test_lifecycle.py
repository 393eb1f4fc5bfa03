"""Model lifecycle: local copy when the registry is down, alias swaps under load, policy changes."""

from __future__ import annotations

import threading

import mlflow
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from models.policy import Bands, ThresholdPolicy
from serving.app import create_app
from training.policy_store import save_policy

from .conftest import MODEL, booted, make_settings, ticket_request  # noqa: TID252


def _request(dataset, k: int = 4) -> dict:
    counts = dataset.events.groupby("ticket_id").size()
    tid = counts[counts >= 8].index[1]
    ts = dataset.events.loc[dataset.events["ticket_id"] == tid, "ts"].sort_values()
    return ticket_request(dataset, tid, ts.iloc[k - 1] + pd.Timedelta(minutes=1))


def test_registry_down_serves_the_local_copy(registry, tmp_path, text_scorer, dataset):
    cache = tmp_path / "cache"
    first = booted(make_settings(registry, tmp_path / "a", model_cache_dir=cache), text_scorer)
    assert first.manager.current.source == "registry"
    first.store.close()
    # The tracking store is now unreachable (a folder that cannot hold a database).
    down = f"sqlite:///{tmp_path / 'no-such-dir' / 'x' / 'mlflow.db'}"
    settings = make_settings(registry, tmp_path / "b", model_cache_dir=cache, tracking_uri=down)
    svc = booted(settings, text_scorer)
    with TestClient(create_app(service=svc, background=False)) as c:
        assert c.get("/readyz").status_code == 200
        model = c.get("/v1/model").json()
        assert model["source"].startswith("local copy (registry unavailable")
        assert model["version"] == first.manager.current.version
        r = c.post("/v1/score", json=_request(dataset))
        assert r.status_code == 200 and r.json()["model"]["source"].startswith("local copy")
        assert svc.manager.refresh() is False  # still down: keeps serving, no crash
    svc.store.close()


def test_no_registry_and_no_copy_is_not_ready(registry, tmp_path, text_scorer, dataset):
    down = f"sqlite:///{tmp_path / 'no-such-dir' / 'x' / 'mlflow.db'}"
    svc = booted(make_settings(registry, tmp_path, tracking_uri=down), text_scorer)
    with TestClient(create_app(service=svc, background=False)) as c:
        assert c.get("/healthz").status_code == 200
        ready = c.get("/readyz")
        assert ready.status_code == 503 and "no local copy" in ready.json()["status"]
        r = c.post("/v1/score", json=_request(dataset))
        assert r.status_code == 503 and r.json()["error"] == "not_ready"
    svc.store.close()


@pytest.fixture
def own_registry(registry, monkeypatch):
    root = registry[0]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")
    client = mlflow.MlflowClient()
    champion = client.get_model_version_by_alias(MODEL, "champion")
    tags = dict(champion.tags)
    yield client, champion
    # Leave the session's registry as found: alias and the version's policy tags.
    client.set_registered_model_alias(MODEL, "champion", champion.version)
    now = client.get_model_version(MODEL, champion.version).tags
    for key in set(now) - set(tags):
        client.delete_model_version_tag(MODEL, champion.version, key)
    for key, value in tags.items():
        client.set_model_version_tag(MODEL, champion.version, key, value)


def test_alias_move_swaps_without_failing_requests(
    registry, tmp_path, text_scorer, dataset, own_registry
):
    client, champion = own_registry
    svc = booted(make_settings(registry, tmp_path), text_scorer)
    old = svc.manager.current.version
    # A second version of the same run's model, then the alias moves to it mid-traffic.
    new = mlflow.register_model(f"models:/{MODEL}/{old}", MODEL).version
    body = _request(dataset)
    seen: list[tuple[int, str]] = []
    stop = threading.Event()

    def traffic(c: TestClient) -> None:
        while not stop.is_set():
            r = c.post("/v1/score", json=body)
            seen.append((r.status_code, r.json().get("model", {}).get("version")))

    with TestClient(create_app(service=svc, background=False)) as c:
        workers = [threading.Thread(target=traffic, args=(c,)) for _ in range(3)]
        for w in workers:
            w.start()
        while len(seen) < 10:
            pass
        client.set_registered_model_alias(MODEL, "champion", new)
        assert svc.manager.refresh() is True
        n_at_swap = len(seen)
        while len(seen) < n_at_swap + 10:
            pass
        stop.set()
        for w in workers:
            w.join()
        assert c.get("/v1/model").json()["version"] == str(new)
    assert all(status == 200 for status, _ in seen), seen
    assert {v for _, v in seen} <= {str(old), str(new)}
    assert seen[-1][1] == str(new)
    svc.store.close()


def test_a_new_policy_changes_the_decision_near_the_boundary(
    registry, tmp_path, text_scorer, dataset, own_registry
):
    client, champion = own_registry
    svc = booted(make_settings(registry, tmp_path), text_scorer)
    version = svc.manager.current.version
    body = _request(dataset)
    with TestClient(create_app(service=svc, background=False)) as c:
        first = c.post("/v1/score", json=body).json()
        p = first["probability"]
        # Thresholds just below / just above this ticket's probability.
        below = ThresholdPolicy(Bands(p * 0.5, p * 0.99, min(1.0, p * 3)), {}, {"by": "test"})
        above = ThresholdPolicy(Bands(p * 0.5, min(1.0, p * 1.01), 1.0), {}, {"by": "test"})
        decisions = []
        for policy in (below, above):
            save_policy(MODEL, version, policy)
            assert svc.manager.refresh() is True
            assert c.get("/v1/model").json()["policy_version"] == policy.version
            out = c.post("/v1/score", json=body).json()
            assert out["model"]["policy_version"] == policy.version
            assert out["probability"] == pytest.approx(p, abs=1e-12)
            decisions.append(out["decision"]["action"])
        assert decisions == ["escalate", "watch"]
    svc.store.close()
