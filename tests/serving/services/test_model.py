"""Model lifecycle: local copy when the registry is down, alias swaps under load, policy changes."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import mlflow
import pytest
from fastapi.testclient import TestClient

from models.policy import Bands, ThresholdPolicy
from serving.main import create_app
from training.policy_store import save_policy

JOIN_SECONDS = 60.0


@pytest.fixture
def lifecycle_body(dataset, ticket_body, open_snapshot) -> dict:
    tid, as_of = open_snapshot(4, which=1, minutes_after=1)
    return ticket_body(dataset, tid, as_of)


def _unreachable(tmp_path) -> str:
    """A tracking store that cannot open (a folder that cannot hold a database)."""
    return f"sqlite:///{tmp_path / 'no-such-dir' / 'x' / 'mlflow.db'}"


def test_registry_down_serves_the_local_copy(make_settings, boot, tmp_path, lifecycle_body):
    cache = tmp_path / "cache"
    first = boot(make_settings(tmp_path / "a", model_cache_dir=cache))
    assert first.manager.current.source == "registry"
    first.store.close()
    settings = make_settings(
        tmp_path / "b", model_cache_dir=cache, tracking_uri=_unreachable(tmp_path)
    )
    svc = boot(settings)
    with TestClient(create_app(service=svc, background=False)) as c:
        assert c.get("/readyz").status_code == 200
        model = c.get("/v1/model").json()
        assert model["source"].startswith("local copy (registry unavailable")
        assert model["version"] == first.manager.current.version
        r = c.post("/v1/score", json=lifecycle_body)
        assert r.status_code == 200 and r.json()["model"]["source"].startswith("local copy")
        assert svc.manager.refresh() is False  # still down: keeps serving, no crash
    svc.store.close()


def test_no_registry_and_no_copy_is_not_ready(make_settings, boot, tmp_path, lifecycle_body):
    svc = boot(make_settings(tmp_path, tracking_uri=_unreachable(tmp_path)))
    with TestClient(create_app(service=svc, background=False)) as c:
        assert c.get("/healthz").status_code == 200
        ready = c.get("/readyz")
        assert ready.status_code == 503 and "no local copy" in ready.json()["status"]
        r = c.post("/v1/score", json=lifecycle_body)
        assert r.status_code == 503 and r.json()["error"] == "not_ready"
    svc.store.close()


@pytest.fixture
def own_registry(registry, monkeypatch) -> Iterator[tuple[mlflow.MlflowClient, object]]:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", registry.tracking_uri)
    mlflow.set_tracking_uri(registry.tracking_uri)
    client = mlflow.MlflowClient()
    champion = client.get_model_version_by_alias(registry.model, "champion")
    tags = dict(champion.tags)
    yield client, champion
    # Leave the session's registry as found: alias and the version's policy tags.
    client.set_registered_model_alias(registry.model, "champion", champion.version)
    now = client.get_model_version(registry.model, champion.version).tags
    for key in set(now) - set(tags):
        client.delete_model_version_tag(registry.model, champion.version, key)
    for key, value in tags.items():
        client.set_model_version_tag(registry.model, champion.version, key, value)


def test_alias_move_swaps_without_failing_requests(
    registry, make_settings, boot, tmp_path, lifecycle_body, own_registry, wait_until
):
    client, _ = own_registry
    svc = boot(make_settings(tmp_path))
    old = svc.manager.current.version
    # A second version of the same run's model, then the alias moves to it mid-traffic.
    new = mlflow.register_model(f"models:/{registry.model}/{old}", registry.model).version
    seen: list[tuple[int, str]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def traffic(c: TestClient) -> None:
        try:
            while not stop.is_set():
                r = c.post("/v1/score", json=lifecycle_body)
                seen.append((r.status_code, r.json().get("model", {}).get("version")))
        except BaseException as err:  # surfaced by the waits below, not lost in a thread
            errors.append(err)

    def progress(n: int):
        return lambda: len(seen) >= n or bool(errors)

    with TestClient(create_app(service=svc, background=False)) as c:
        workers = [threading.Thread(target=traffic, args=(c,), daemon=True) for _ in range(3)]
        for w in workers:
            w.start()
        try:
            wait_until(progress(10), "10 requests before the alias moves")
            client.set_registered_model_alias(registry.model, "champion", new)
            assert svc.manager.refresh() is True
            n_at_swap = len(seen)
            wait_until(progress(n_at_swap + 10), "10 requests after the alias moved")
        finally:
            stop.set()
            for w in workers:
                w.join(JOIN_SECONDS)
        assert not any(w.is_alive() for w in workers), f"traffic still running {JOIN_SECONDS} s"
        assert not errors, errors
        assert c.get("/v1/model").json()["version"] == str(new)
    assert all(status == 200 for status, _ in seen), seen
    assert {v for _, v in seen} <= {str(old), str(new)}
    assert seen[-1][1] == str(new)
    svc.store.close()


def test_a_new_policy_changes_the_decision_near_the_boundary(
    registry, make_settings, boot, tmp_path, lifecycle_body, own_registry
):
    svc = boot(make_settings(tmp_path))
    version = svc.manager.current.version
    with TestClient(create_app(service=svc, background=False)) as c:
        first = c.post("/v1/score", json=lifecycle_body).json()
        p = first["probability"]
        # Thresholds just below / just above this ticket's probability.
        below = ThresholdPolicy(Bands(p * 0.5, p * 0.99, min(1.0, p * 3)), {}, {"by": "test"})
        above = ThresholdPolicy(Bands(p * 0.5, min(1.0, p * 1.01), 1.0), {}, {"by": "test"})
        decisions = []
        for policy in (below, above):
            save_policy(registry.model, version, policy)
            assert svc.manager.refresh() is True
            assert c.get("/v1/model").json()["policy_version"] == policy.version
            out = c.post("/v1/score", json=lifecycle_body).json()
            assert out["model"]["policy_version"] == policy.version
            assert out["probability"] == pytest.approx(p, abs=1e-12)
            decisions.append(out["decision"]["action"])
        assert decisions == ["escalate", "watch"]
    svc.store.close()
