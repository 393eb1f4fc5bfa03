"""Scoring API latency and throughput, in process (FastAPI app + ASGI test client).

    .venv/bin/python benchmarks/bench_serving.py [--model models:/escalation-risk@champion]
        [--data data/demo] [--n 200]
    .venv/bin/python benchmarks/bench_serving.py --url http://127.0.0.1:8000 [--n 300]

Needs a registered model and its data folder (``make run`` makes both; run it from the repo
root). Prints p50/p99 wall latency of ``POST /v1/score`` for:

- cold: a 10-message ticket whose texts were never seen (10 transformer runs);
- warm+1: the same ticket with one new customer message (the others cached);
- cached: the same request again (no transformer run);

and batch throughput (``/v1/score/batch``, 32 tickets a call), plus where the time of a cached
request goes (frames, text, context overlay, features, model + TreeSHAP, words). Medians and
percentiles only; machines are shared, so compare ratios on one machine.
"""

from __future__ import annotations

import argparse
import copy
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

_WORDS = (
    "invoice dashboard export login outage billing refund contract api latency timeout error "
    "report sync permissions upgrade renewal legal security breach password webhook cluster"
).split()


def _ticket(rng: np.random.Generator, k: int, n_messages: int = 10) -> dict:
    """A ticket with n customer/agent message pairs, every text unique (never cached)."""
    t0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
    events = [
        {
            "ts": (t0 + timedelta(minutes=5)).isoformat(),
            "event_type": "assignment",
            "actor": "system",
            "team": "frontline",
            "tier": 1,
            "agent_id": "ag0001",
        }
    ]
    for i in range(n_messages):
        words = " ".join(rng.choice(_WORDS, 8))
        text = f"[{k}-{i}-{rng.integers(1e9)}] our {words} is still broken, please fix this!"
        events.append(
            {
                "ts": (t0 + timedelta(minutes=30 * i)).isoformat(),
                "event_type": "customer_message" if i % 2 == 0 else "agent_message",
                "actor": "customer" if i % 2 == 0 else "agent",
                "text": text,
                **({} if i % 2 == 0 else {"agent_id": "ag0001"}),
            }
        )
    return {
        "ticket": {
            "ticket_id": f"bench-{k}",
            "created_at": t0.isoformat(),
            "priority": "P2",
            "channel": "email",
            "product_area": "billing",
        },
        "account": {"account_id": "acct-bench", "arr": 250_000, "strategic": False},
        "events": sorted(events, key=lambda e: e["ts"]),
        "as_of": (t0 + timedelta(hours=6)).isoformat(),
    }


def _customer_messages(n: int) -> int:
    return (n + 1) // 2


def _pct(xs: list[float]) -> str:
    a = np.array(xs) * 1e3
    return f"p50 {np.median(a):6.2f} ms   p99 {np.quantile(a, 0.99):6.2f} ms   (n={len(a)})"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models:/escalation-risk@champion")
    ap.add_argument("--data", default="data/demo", type=Path)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--url", default=None, help="measure a running service over HTTP")
    args = ap.parse_args()
    if args.url:
        _over_http(args.url, args.n)
        return

    from fastapi.testclient import TestClient

    from features.build import build_ticket_features
    from features.text import attach_text_signals
    from serving.core.config import Settings
    from serving.main import create_app
    from serving.schemas import ScoreIn
    from serving.services.service import Service

    tmp = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    settings = Settings(
        _env_file=None,
        model_uri=args.model,
        store_path=tmp / "serving.db",
        backfill_dir=args.data,
        model_cache_dir=tmp / "model",
        refresh_seconds=3600,
    )
    t = time.perf_counter()
    svc = Service(settings)
    svc.boot()
    print(f"start-up (backfill, context, model, warm-up): {time.perf_counter() - t:.1f} s")
    if not svc.ready:
        raise SystemExit(f"not ready: {svc.status()}")
    served = svc.manager.current
    trees = served.model.booster.num_trees()
    print(f"model {served.name} v{served.version}: {trees} trees; text model {served.text_model}")
    rng = np.random.default_rng(0)
    client = TestClient(create_app(service=svc, background=False))

    def post(body: dict) -> float:
        start = time.perf_counter()
        r = client.post("/v1/score", json=body)
        elapsed = time.perf_counter() - start
        assert r.status_code == 200, r.text
        return elapsed

    for k in range(5):  # warm the path
        post(_ticket(rng, -k - 1))
    cold, warm1, cached = [], [], []
    for k in range(args.n):
        body = _ticket(rng, k)
        cold.append(post(body))
        cached.append(post(body))
        more = copy.deepcopy(body)
        last = datetime.fromisoformat(body["events"][-1]["ts"]) + timedelta(minutes=10)
        more["events"].append(
            {
                "ts": last.isoformat(),
                "event_type": "customer_message",
                "actor": "customer",
                "text": f"any update on this? ref {rng.integers(1e9)}",
            }
        )
        more["as_of"] = (last + timedelta(minutes=1)).isoformat()
        warm1.append(post(more))
    print(f"cold, 10 messages (5 customer, never seen): {_pct(cold)}")
    print(f"warm + 1 new customer message:              {_pct(warm1)}")
    print(f"cached (same request again):                {_pct(cached)}")

    batch = [_ticket(rng, 10_000 + k) for k in range(32)]
    client.post("/v1/score/batch", json={"items": batch})  # texts now cached
    times = []
    for _ in range(10):
        start = time.perf_counter()
        r = client.post("/v1/score/batch", json={"items": batch})
        times.append(time.perf_counter() - start)
        assert r.status_code == 200
    print(f"batch of 32 (cached texts): {32 / np.median(times):.0f} tickets/s")

    # Where a cached request's time goes (single thread CPU, median of n).
    req = ScoreIn.model_validate(_ticket(rng, 0))
    scorer, parts = (
        svc.scorer,
        {
            k: []
            for k in ("frames", "text", "overlay", "features", "model+TreeSHAP", "total score()")
        },
    )
    now = datetime.now(UTC)
    for _ in range(args.n):
        t0 = time.perf_counter()
        a, tk, ev, as_of = scorer.frames(req, None, now)
        t1 = time.perf_counter()
        ev = attach_text_signals(ev, scorer.text_scorer)
        t2 = time.perf_counter()
        ctx = svc.context.overlay(a, tk, ev)
        t3 = time.perf_counter()
        X = build_ticket_features(tk, ev, as_of, ctx, frame=False)
        t4 = time.perf_counter()
        served.model.score(X)
        t5 = time.perf_counter()
        scorer.score(req, served, svc.context)
        t6 = time.perf_counter()
        for key, dt in zip(
            parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5), strict=True
        ):
            parts[key].append(dt)
    for key, xs in parts.items():
        print(f"  {key:16s} median {np.median(xs) * 1e3:6.2f} ms")
    svc.store.close()


def _over_http(url: str, n: int) -> None:
    import httpx

    body = _ticket(np.random.default_rng(1), 0)
    with httpx.Client(base_url=url, timeout=30) as client:
        for _ in range(20):
            client.post("/v1/score", json=body).raise_for_status()
        times = []
        for _ in range(n):
            start = time.perf_counter()
            client.post("/v1/score", json=body).raise_for_status()
            times.append(time.perf_counter() - start)
    print(f"over HTTP, cached 10-message ticket: {_pct(times)}")


if __name__ == "__main__":
    main()
