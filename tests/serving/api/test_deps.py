"""The API-key dependency: 401 without a valid key, probes stay open (scopes:
tests/serving/test_security_routes.py)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from serving.api.deps import API_KEY_HEADER
from serving.main import create_app


def test_api_keys(make_settings, boot, tmp_path, valid_body, assert_error):
    key = "k" * 32
    svc = boot(make_settings(tmp_path, api_keys=key))
    try:
        with TestClient(create_app(service=svc, background=False)) as c:
            body = assert_error(c.post("/v1/score", json=valid_body), 401)
            assert body["error"] == "unauthorized" and API_KEY_HEADER in body["message"]
            wrong = c.post("/v1/score", json=valid_body, headers={API_KEY_HEADER: "w" * 32})
            assert assert_error(wrong, 401, secret="w" * 32)["error"] == "unauthorized"
            ok = c.post("/v1/score", json=valid_body, headers={API_KEY_HEADER: key})
            assert ok.status_code == 200
            bearer = {"Authorization": f"Bearer {key}"}
            assert c.get("/v1/model", headers=bearer).status_code == 200
            assert_error(c.post("/v1/feedback", json={}), 401)
            assert c.get("/healthz").status_code == 200  # probes stay open
            assert c.get("/readyz").status_code == 200
    finally:
        svc.store.close()
