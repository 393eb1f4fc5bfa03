"""The body limit (413 before parsing) and the per-route request metrics."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from serving.core.errors import install_error_handlers
from serving.core.metrics import Metrics
from serving.middleware import BodyLimit, Observe


def _echo_app(limit: int, metrics: Metrics) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/items/{item_id}")
    async def take(item_id: int, body: dict) -> dict:
        return {"keys": len(body)}

    app.add_middleware(Observe, metrics=metrics)
    app.add_middleware(BodyLimit, limit=limit)
    return app


def test_bodies_over_the_limit_get_413_in_the_error_format(assert_error):
    with TestClient(_echo_app(100, Metrics())) as c:
        assert c.post("/items/1", json={"a": "x" * 50}).status_code == 200
        r = c.post("/items/1", content=b'{"a": "' + b"x" * 200 + b'"}')
        body = assert_error(r, 413)
        assert body == {
            "error": "too_large",
            "message": "request body over 100 bytes",
            "details": [],
        }
        bad_length = c.post("/items/1", content=b"{}", headers={"content-length": "nope"})
        assert bad_length.status_code == 413


def test_a_streamed_body_over_the_limit_gets_413(assert_error):
    """No content-length: the limit counts the bytes as they arrive."""

    def chunks():
        yield b'{"a": "'
        yield b"x" * 200
        yield b'"}'

    with TestClient(_echo_app(100, Metrics())) as c:
        assert_error(c.post("/items/1", content=chunks()), 413)


def test_requests_are_counted_per_route_template_and_status(client, valid_body):
    metrics = Metrics()
    with TestClient(_echo_app(10_000, metrics)) as c:
        c.post("/items/1", json={})
        c.post("/items/2", json={})
        c.post("/items/x", json={})  # 422
        c.get("/nowhere")
    count = metrics.registry.get_sample_value
    assert count("escalation_requests_total", {"route": "/items/{item_id}", "status": "200"}) == 2
    assert count("escalation_requests_total", {"route": "/items/{item_id}", "status": "422"}) == 1
    assert count("escalation_requests_total", {"route": "unmatched", "status": "404"}) == 1
    assert count("escalation_request_seconds_count", {"route": "/items/{item_id}"}) == 3
    # The service's own app: the scoring route by its template.
    assert client.post("/v1/score", json=valid_body).status_code == 200
    assert 'route="/v1/score"' in client.get("/metrics").text
