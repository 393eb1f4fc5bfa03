"""GET /v1/model: the served version, where it came from, and its threshold policy."""

from __future__ import annotations


def test_model_info_names_the_served_version(client, service, registry):
    r = client.get("/v1/model")
    assert r.status_code == 200, r.text
    body = r.json()
    served = service.manager.current
    assert body["name"] == registry.model
    assert body["version"] == served.version
    assert body["uri"] == f"models:/{registry.model}@champion"
    assert body["source"] == "registry" and body["status"] == "ready"
    assert body["feature_set_version"] == served.metadata["feature_set_version"]
    assert body["policy_version"] == served.policy.version
    assert isinstance(body["policy"], dict) and body["policy"]
