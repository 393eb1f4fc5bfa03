"""Operations routes: /healthz, /readyz and /metrics, before and after the model is ready."""

from __future__ import annotations

from fastapi.testclient import TestClient

from serving.main import create_app
from serving.services.service import Service


def test_health_ready_metrics(client, valid_body):
    assert client.post("/v1/score", json=valid_body).status_code == 200
    assert client.get("/healthz").json() == {"status": "alive"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    assert ready.json()["status"] == "ready" and ready.json()["model_version"]
    text = client.get("/metrics").text
    assert "escalation_requests_total" in text and "escalation_model_info" in text
    assert "escalation_ready 1.0" in text
    assert 'escalation_decisions_total{action="' in text


def test_not_ready_until_loaded(make_settings, tmp_path, text_scorer, assert_error):
    svc = Service(make_settings(tmp_path), text_scorer=text_scorer)  # not booted
    with TestClient(create_app(service=svc, background=False)) as c:
        assert c.get("/healthz").status_code == 200
        ready = c.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"ready": False, "status": "loading", "model_version": None}
        assert_error(c.post("/v1/score", json={"ticket": {}, "account": {}}), 422)
        assert assert_error(c.get("/v1/model"), 503)["error"] == "not_ready"
