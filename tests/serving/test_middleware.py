"""The body limit (413 before parsing), the per-route request metrics, and backpressure: the
in-flight bound (503) and the per-key rate limit (429), both with Retry-After."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from serving.core.errors import install_error_handlers
from serving.core.metrics import Metrics
from serving.core.security import API_KEY_HEADER, KeyRing
from serving.middleware import BodyLimit, InFlightLimit, Observe, RateLimit


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


# -- backpressure: the in-flight bound (503) and the per-key rate limit (429) ------------------
def _blocking_app(metrics: Metrics, release: asyncio.Event, state: dict, **limits) -> FastAPI:
    """Each /work request holds its slot until ``release`` is set; ``state`` counts them."""
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/work")
    async def work() -> dict:
        state["running"] += 1
        state["max_running"] = max(state["max_running"], state["running"])
        try:
            await release.wait()
        finally:
            state["running"] -= 1
        return {"ok": True}

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "alive"}

    app.add_middleware(InFlightLimit, metrics=metrics, **limits)
    return app


def test_requests_beyond_the_bound_get_503_with_retry_after_before_the_work_ends(assert_error):
    """8 clients at once against 2 slots and 2 queue places: 2 run, 2 wait at most the bound
    and 4 are refused at once. Every refusal arrives while the 2 admitted requests are still
    held: no request waits for the work, only (at most) for the configured bound."""
    metrics = Metrics()

    async def run() -> tuple[list[httpx.Response], dict, list[int]]:
        release, state = asyncio.Event(), {"running": 0, "max_running": 0}
        app = _blocking_app(
            metrics, release, state, limit=2, max_queue=2, timeout=0.2, retry_after=3
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            tasks = [asyncio.create_task(c.get("/work")) for _ in range(8)]
            first: list[httpx.Response] = []
            async with asyncio.timeout(30):  # the test's own time-out, not a measurement
                for next_done in asyncio.as_completed(tasks):
                    first.append(await next_done)
                    if len(first) == 6:
                        break
                probe = await c.get("/healthz")  # probes are never limited
                held = dict(state) | {"probe": probe.status_code}
                release.set()
                codes = sorted([(await t).status_code for t in tasks])
        return first, held, codes

    first, held, codes = asyncio.run(run())
    # The 6 that finished first did so while the 2 admitted requests were still held.
    assert held["running"] == 2 and held["max_running"] == 2 and held["probe"] == 200
    for r in first:
        body = assert_error(r, 503)
        assert body["error"] == "overloaded" and r.headers["Retry-After"] == "3"
    assert codes == [200, 200] + [503] * 6
    value = metrics.registry.get_sample_value
    assert value("escalation_rejected_total", {"reason": "overload"}) == 6
    assert value("escalation_queue_wait_seconds_count") == 8
    assert value("escalation_in_flight") == 0 and value("escalation_queued") == 0


def test_a_waiting_request_takes_the_slot_that_frees_up():
    metrics = Metrics()

    async def run() -> list[int]:
        release, state = asyncio.Event(), {"running": 0, "max_running": 0}
        app = _blocking_app(
            metrics, release, state, limit=1, max_queue=4, timeout=30.0, retry_after=1
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            tasks = [asyncio.create_task(c.get("/work")) for _ in range(3)]
            async with asyncio.timeout(30):
                while metrics.registry.get_sample_value("escalation_queued") != 2:
                    await asyncio.sleep(0.005)
                release.set()
                return [(await t).status_code for t in tasks]

    assert asyncio.run(run()) == [200, 200, 200]
    assert metrics.registry.get_sample_value(
        "escalation_rejected_total", {"reason": "overload"}
    ) in (
        None,
        0,
    )


def _keyed_app(metrics: Metrics, keys: KeyRing, rate: float, burst: int) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/v1/thing")
    async def thing() -> dict:
        return {"ok": True}

    app.add_middleware(RateLimit, metrics=metrics, keys=keys, rate=rate, burst=burst)
    return app


def test_each_key_has_its_own_token_bucket_and_gets_429_with_retry_after(assert_error):
    a, b = "a" * 24, "b" * 24
    metrics = Metrics()
    keys = KeyRing.parse(f"score:{a},read:{b}")
    # One token per 100 s: the bucket cannot refill while the test runs, however slow.
    with TestClient(_keyed_app(metrics, keys, rate=0.01, burst=3)) as c:
        codes = [c.get("/v1/thing", headers={API_KEY_HEADER: a}).status_code for _ in range(3)]
        limited = c.get("/v1/thing", headers={"Authorization": f"Bearer {a}"})
        other = c.get("/v1/thing", headers={API_KEY_HEADER: b})
    assert codes == [200, 200, 200] and other.status_code == 200
    body = assert_error(limited, 429, secret=a)
    assert body["error"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 100
    assert (
        metrics.registry.get_sample_value("escalation_rejected_total", {"reason": "rate_limit"})
        == 1
    )


def test_unknown_keys_share_their_client_bucket_and_no_keys_means_no_limit():
    metrics = Metrics()
    keys = KeyRing.parse("score:" + "a" * 24)
    with TestClient(_keyed_app(metrics, keys, rate=0.01, burst=2)) as c:
        guesses = [
            c.get("/v1/thing", headers={API_KEY_HEADER: f"guess-{i:020d}"}) for i in range(3)
        ]
    assert [r.status_code for r in guesses] == [200, 200, 429]  # the app itself lets them in
    with TestClient(_keyed_app(Metrics(), KeyRing.parse(""), rate=0.01, burst=1)) as c:
        assert {c.get("/v1/thing").status_code for _ in range(5)} == {200}


def test_token_bucket_refills_at_the_rate_up_to_the_burst():
    limiter = RateLimit(None, Metrics(), KeyRing.parse("score:" + "a" * 24), rate=2.0, burst=2)
    assert limiter.take("k", 100.0) == 0 and limiter.take("k", 100.0) == 0
    assert limiter.take("k", 100.0) == pytest.approx(0.5)  # half a second to the next token
    assert limiter.take("k", 100.5) == 0  # refilled one
    assert limiter.take("k", 1000.0) == 0 and limiter.take("k", 1000.0) == 0  # capped at 2
    assert limiter.take("k", 1000.0) > 0
