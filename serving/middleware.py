"""Pure ASGI middleware: the request body limit (413), per-route request metrics, and
backpressure: a bound on the requests processed at once (503) and a per-key rate limit (429),
both answered with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import math
import time
import weakref
from dataclasses import dataclass

from cachetools import LRUCache
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.core.config import Settings
from serving.core.errors import error_response
from serving.core.metrics import Metrics
from serving.core.security import KeyRing, presented_key

# Probes and the scraper must answer when the service is saturated (a liveness probe that times
# out under load gets a busy pod killed); they do no work worth limiting.
UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class BodyLimit:
    """Bodies over ``limit`` bytes get 413 before anything parses them.

    A declared ``content-length`` over the limit is refused at once. A body without one
    (chunked) is counted as it arrives: past the limit the client gets the 413 and the app a
    disconnect, and whatever the app answers then is dropped (the client has its answer).
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            return await _send_413(send, self.limit)
        seen = 0
        started = refused = False

        async def limited() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    refused = True
                    if not started:
                        await _send_413(send, self.limit)
                    return {"type": "http.disconnect"}
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            if refused and not started:
                return  # the 413 went out instead
            started = True
            await send(message)

        await self.app(scope, limited, sending)


async def _send_413(send: Send, limit: int) -> None:
    response = error_response(413, "too_large", f"request body over {limit} bytes")
    await send({"type": "http.response.start", "status": 413, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})


class Observe:
    """Request counts and latency per route template and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        status = {"code": 500}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(path, str(status["code"])).inc()
            self.metrics.latency.labels(path).observe(time.perf_counter() - start)


async def _refuse(send: Send, status: int, error: str, message: str, retry_after: int) -> None:
    response = error_response(status, error, message)
    headers = [*response.raw_headers, (b"retry-after", str(retry_after).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


@dataclass
class _Slots:
    """The slots of one event loop (a server runs one; test clients may start several)."""

    semaphore: asyncio.Semaphore
    active: int = 0
    waiting: int = 0


class InFlightLimit:
    """At most ``limit`` requests of this worker are processed at once.

    A request beyond them waits for a slot at most ``timeout`` seconds, and only while fewer
    than ``max_queue`` others wait; otherwise it gets 503 with ``Retry-After`` (so no request
    waits longer than ``timeout`` before it is admitted or told to come back, give or take the
    event loop's own lag when it is starved of CPU).
    """

    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        limit: int,
        max_queue: int,
        timeout: float,
        retry_after: int,
    ) -> None:
        self.app, self.metrics = app, metrics
        self.limit, self.max_queue, self.timeout, self.retry_after = (
            limit,
            max_queue,
            timeout,
            retry_after,
        )
        self._slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Slots] = (
            weakref.WeakKeyDictionary()
        )

    def _for_loop(self) -> _Slots:
        loop = asyncio.get_running_loop()
        slots = self._slots.get(loop)
        if slots is None:
            slots = self._slots[loop] = _Slots(asyncio.Semaphore(self.limit))
        return slots

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in UNLIMITED_PATHS:
            return await self.app(scope, receive, send)
        slots = self._for_loop()
        start = time.perf_counter()
        if slots.semaphore.locked():
            if slots.waiting >= self.max_queue:
                return await self._overloaded(send, start)
            slots.waiting += 1
            self.metrics.queued.set(slots.waiting)
            try:
                async with asyncio.timeout(self.timeout):
                    await slots.semaphore.acquire()
            except TimeoutError:
                return await self._overloaded(send, start)
            finally:
                slots.waiting -= 1
                self.metrics.queued.set(slots.waiting)
        else:
            await slots.semaphore.acquire()
        self.metrics.queue_wait.observe(time.perf_counter() - start)
        slots.active += 1
        self.metrics.in_flight.set(slots.active)
        try:
            await self.app(scope, receive, send)
        finally:
            slots.active -= 1
            self.metrics.in_flight.set(slots.active)
            slots.semaphore.release()

    async def _overloaded(self, send: Send, start: float) -> None:
        self.metrics.queue_wait.observe(time.perf_counter() - start)
        self.metrics.rejected.labels("overload").inc()
        await _refuse(
            send,
            503,
            "overloaded",
            f"the service is at capacity; retry after {self.retry_after} s",
            self.retry_after,
        )


class RateLimit:
    """A token bucket per API key: ``rate`` requests per second, bursts up to ``burst``.

    Requests with a valid key are counted against that key; requests with a missing or unknown
    key against the client's address (so guessing keys is throttled too). Without configured
    keys (local use) nothing is limited here. Beyond the bucket: 429 with ``Retry-After``
    (whole seconds until a token is back).
    """

    def __init__(
        self, app: ASGIApp, metrics: Metrics, keys: KeyRing, rate: float, burst: int
    ) -> None:
        self.app, self.metrics, self.keys, self.rate, self.burst = app, metrics, keys, rate, burst
        # (tokens, last refill) per caller; bounded so that random keys cannot exhaust memory.
        self.buckets: LRUCache[str, tuple[float, float]] = LRUCache(maxsize=10_000)

    def _identity(self, scope: Scope) -> str:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        caller = self.keys.identify(presented_key(headers))
        if caller is not None:
            return f"key:{caller.key_id}"
        client = scope.get("client")
        return f"client:{client[0] if client else 'unknown'}"

    def take(self, identity: str, now: float) -> float:
        """Take a token for ``identity``; 0 if granted, else seconds until one is back."""
        tokens, last = self.buckets.get(identity, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self.buckets[identity] = (tokens - 1.0, now)
            return 0.0
        self.buckets[identity] = (tokens, now)
        return (1.0 - tokens) / self.rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not self.keys
            or self.rate <= 0
            or scope.get("path") in UNLIMITED_PATHS
        ):
            return await self.app(scope, receive, send)
        wait = self.take(self._identity(scope), time.monotonic())
        if wait > 0:
            self.metrics.rejected.labels("rate_limit").inc()
            retry = max(1, math.ceil(wait))
            return await _refuse(
                send, 429, "rate_limited", f"too many requests; retry after {retry} s", retry
            )
        await self.app(scope, receive, send)


def add_backpressure(app: FastAPI, settings: Settings, metrics: Metrics) -> None:
    """Install the rate limit (outside) and the in-flight bound (inside) on ``app``.

    Call before adding :class:`Observe` so that the request metrics count the 429s and 503s.
    """
    app.add_middleware(
        InFlightLimit,
        metrics=metrics,
        limit=settings.max_in_flight,
        max_queue=settings.max_queue,
        timeout=settings.queue_timeout_seconds,
        retry_after=settings.retry_after_seconds,
    )
    app.add_middleware(
        RateLimit,
        metrics=metrics,
        keys=settings.key_ring,
        rate=settings.rate_limit_per_second,
        burst=settings.rate_limit_burst,
    )
