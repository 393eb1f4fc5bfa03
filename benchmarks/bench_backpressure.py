"""Backpressure under load: the in-flight bound (503) and the per-key rate limit (429).

    .venv/bin/python benchmarks/bench_backpressure.py [--clients 16] [--seconds 10]
        [--work-ms 20] [--max-in-flight 4] [--max-queue 8] [--queue-timeout 0.25]
        [--rate 40] [--burst 20] [--keys 2] [--greedy]
    .venv/bin/python benchmarks/bench_backpressure.py --model models:/escalation-risk@champion \\
        --data data/demo  (the real scoring route, in process)
    .venv/bin/python benchmarks/bench_backpressure.py --url http://127.0.0.1:8000 --key KEY

In process (default), ``--clients`` concurrent clients (asyncio, ASGI transport) send requests
for ``--seconds`` through the service's real middleware (``serving.middleware``: rate limit,
in-flight bound) to a stand-in route that holds a worker thread for ``--work-ms`` of CPU (the
scoring route's cost), or, with ``--model``, to ``POST /v1/score`` of a booted service. Clients
do not back off (``--honour-retry-after`` makes them sleep as told). ``--greedy`` sends half the
clients' traffic with one key so its bucket runs dry.

Prints the share of 200 / 503 / 429, the p50 / p99 latency of the admitted requests, the
longest time to a refusal, and (in process) the longest wait for a slot measured inside the
middleware, beside the configured bound.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections import Counter

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

KEY_CHARS = 32


def _burn(ms: float) -> None:
    """Hold the calling thread on the CPU for ``ms`` milliseconds (the GIL included)."""
    end = time.perf_counter() + ms / 1000
    x = 0
    while time.perf_counter() < end:
        x += 1


class _Waits:
    """Stands in for the queue-wait histogram: keeps every observed wait."""

    def __init__(self, histogram) -> None:
        self.histogram, self.values = histogram, []

    def observe(self, value: float) -> None:
        self.values.append(value)
        self.histogram.observe(value)


def _stand_in_app(args, keys: list[str]):
    from fastapi import FastAPI

    from serving.core.config import Settings
    from serving.core.errors import install_error_handlers
    from serving.core.metrics import Metrics
    from serving.middleware import add_backpressure

    settings = _settings(Settings, args, keys)
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/v1/score")
    def score() -> dict:  # sync: runs in the worker thread pool, as the scoring route does
        _burn(args.work_ms)
        return {"ok": True}

    metrics = Metrics()
    add_backpressure(app, settings, metrics)
    return app, metrics, settings, None, lambda k: {}


def _settings(cls, args, keys: list[str], **extra):
    return cls(
        _env_file=None,
        api_keys=",".join(f"score:{k}" for k in keys),
        max_in_flight=args.max_in_flight,
        max_queue=args.max_queue,
        queue_timeout_seconds=args.queue_timeout,
        rate_limit_per_second=args.rate,
        rate_limit_burst=args.burst,
        **extra,
    )


def _model_app(args, keys: list[str]):
    import tempfile
    from pathlib import Path

    from bench_serving import _ticket  # the same synthetic ticket as the latency benchmark

    from serving.core.config import Settings
    from serving.main import create_app
    from serving.services.service import Service

    tmp = Path(tempfile.mkdtemp())
    settings = _settings(
        Settings,
        args,
        keys,
        model_uri=args.model,
        store_path=tmp / "serving.db",
        backfill_dir=args.data,
        refresh_seconds=3600,
    )
    svc = Service(settings)
    svc.boot()
    if not svc.ready:
        raise SystemExit(f"service not ready: {svc.status()}")
    rng = np.random.default_rng(0)
    body = _ticket(rng, 0)
    return create_app(service=svc, background=False), svc.metrics, settings, svc, lambda k: body


async def _load(args, client, keys: list[str], body_for) -> tuple[list, float]:
    results: list[tuple[int, float]] = []
    stop_at = time.perf_counter() + args.seconds

    async def one_client(i: int) -> None:
        key = keys[0] if args.greedy and i % 2 == 0 else keys[i % len(keys)]
        headers = {"X-API-Key": key}
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            r = await client.post("/v1/score", json=body_for(i), headers=headers)
            results.append((r.status_code, time.perf_counter() - t0))
            # In process nothing suspends on a refusal (no socket): yield as a network client
            # would, or one client's loop of instant 429s starves every other task.
            await asyncio.sleep(0)
            if r.status_code in (429, 503) and args.honour_retry_after:
                await asyncio.sleep(float(r.headers.get("retry-after", "1")))

    t0 = time.perf_counter()
    await asyncio.gather(*(one_client(i) for i in range(args.clients)))
    return results, time.perf_counter() - t0


def _report(results, elapsed: float, args, waits: list[float] | None) -> None:
    codes = Counter(code for code, _ in results)
    n = len(results)
    print(
        f"{args.clients} clients, {elapsed:.1f} s, {n} requests ({n / elapsed:.0f}/s); "
        f"bound: {args.max_in_flight} in flight, {args.max_queue} waiting, "
        f"{args.queue_timeout * 1000:.0f} ms queue time-out; rate {args.rate:g}/s burst {args.burst}"
    )
    for code in sorted(codes):
        print(f"  {code}: {codes[code] / n:6.1%}  ({codes[code]})")
    ok = [s for c, s in results if c == 200]
    if ok:
        p50, p99 = np.percentile(ok, [50, 99]) * 1000
        print(
            f"  admitted latency p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(ok) * 1000:.1f} ms"
        )
    for code in (503, 429):
        refused = [s for c, s in results if c == code]
        if refused:
            print(f"  time to a {code}: max {max(refused) * 1000:.1f} ms")
    if waits:
        print(
            f"  wait for a slot (inside the middleware, {len(waits)} requests): max "
            f"{max(waits) * 1000:.1f} ms, p99 {np.percentile(waits, 99) * 1000:.1f} ms "
            f"(bound {args.queue_timeout * 1000:.0f} ms)"
        )


async def _run(args) -> None:
    import httpx

    if args.url:
        keys = [args.key] if args.key else ["none"]
        async with httpx.AsyncClient(base_url=args.url, timeout=60) as client:
            from bench_serving import _ticket

            body = _ticket(np.random.default_rng(0), 0)
            results, elapsed = await _load(args, client, keys, lambda i: body)
        _report(results, elapsed, args, None)
        return
    keys = [f"bench-key-{i}-".ljust(KEY_CHARS, "x") for i in range(args.keys)]
    build = _model_app if args.model else _stand_in_app
    app, metrics, _, svc, body_for = build(args, keys)
    waits = _Waits(metrics.queue_wait)
    metrics.queue_wait = waits  # the middleware reads it at each request
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=60) as c:
        results, elapsed = await _load(args, c, keys, body_for)
    _report(results, elapsed, args, waits.values)
    if svc is not None and svc.store is not None:
        svc.store.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--work-ms", type=float, default=20.0, help="stand-in route's CPU time")
    p.add_argument("--max-in-flight", type=int, default=4)
    p.add_argument("--max-queue", type=int, default=8)
    p.add_argument("--queue-timeout", type=float, default=0.25)
    p.add_argument("--rate", type=float, default=40.0, help="requests/s per key (0: off)")
    p.add_argument("--burst", type=int, default=20)
    p.add_argument("--keys", type=int, default=2)
    p.add_argument("--greedy", action="store_true", help="half the clients share one key")
    p.add_argument("--honour-retry-after", action="store_true")
    p.add_argument("--model", help="serve this registered model (in process) instead")
    p.add_argument("--data", help="the model's data folder (store backfill), with --model")
    p.add_argument("--url", help="load a running service over HTTP instead")
    p.add_argument("--key", help="API key (score scope) for --url")
    asyncio.run(_run(p.parse_args()))


if __name__ == "__main__":
    main()
