"""One new event on a 10-event ticket, over HTTP: latency, the model's share, saturated throughput.

    .venv/bin/python benchmarks/bench_service.py --train /tmp/bench-model [--workers 2]
        [--n 200] [--load 2000] [--seconds 60] [--clients 8]
    .venv/bin/python benchmarks/bench_service.py --model models:/escalation-risk@champion \\
        --tracking-uri sqlite:///mlflow.db --data data/demo

``--train DIR`` trains a small model first (700 synthetic tickets, as the test registry; about
a minute, reused when DIR already holds it). The script starts ``uvicorn`` on 127.0.0.1 (a free
port) with ``--workers`` processes over a fresh store backfilled from the training data, then:

1. latency: for ``--n`` tickets, their first 9 events in one call, then the 10th alone (timed):
   a customer message with a new text (one transformer run) or an agent message (none);
2. the model: LightGBM + TreeSHAP on the same ticket's feature row, timed in this process
   during the same run (median and p99);
3. saturation: ``--clients`` threads send one event per call (new tickets, 10 events each)
   until ``--load`` calls or ``--seconds`` have passed; requests/s and errors;
4. where the time goes in process (cProfile of 100 appends, top functions by own time);
5. with ``--soak-seconds S``: the saturation load again for S seconds, and the resident memory
   of the server's processes (uvicorn and its workers, from /proc) after the warm-up and at the
   end, with their ratio.

Each step prints the load average (/proc/loadavg) it started at: figures taken on a busy
machine are upper bounds.

Loopback only; bounded in count and time. Prints medians and percentiles, asserts nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

_WORDS = (
    "invoice dashboard export login outage billing refund contract api latency timeout error "
    "report sync permissions upgrade renewal legal security breach password webhook cluster"
).split()
T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def _events(rng: np.random.Generator, k: int, n: int = 10) -> list[dict]:
    """A ticket's n events: an assignment, then customer and agent messages (unique texts)."""
    out = [
        {
            "event_id": f"{k}-0",
            "ts": (T0 + timedelta(minutes=1)).isoformat(),
            "event_type": "assignment",
            "actor": "system",
            "team": "frontline",
            "tier": 1,
            "agent_id": f"ag{k % 7}",
        }
    ]
    for i in range(1, n):
        customer = i % 2 == 1
        words = " ".join(rng.choice(_WORDS, 8))
        out.append(
            {
                "event_id": f"{k}-{i}",
                "ts": (T0 + timedelta(minutes=20 * i, seconds=k % 60)).isoformat(),
                "event_type": "customer_message" if customer else "agent_message",
                "actor": "customer" if customer else "agent",
                "text": f"[{k}-{i}-{rng.integers(1e9)}] our {words} is still broken, please fix!"
                if customer
                else f"Looking into {words} now [{k}-{i}]",
                **({} if customer else {"agent_id": f"ag{k % 7}"}),
            }
        )
    return out


def _head(k: int) -> dict:
    return {
        "ticket": {
            "ticket_id": f"bench-{k}",
            "created_at": T0.isoformat(),
            "priority": "P2",
            "channel": "email",
            "product_area": "billing",
        },
        "account": {"account_id": f"acct-{k % 50}", "arr": 250_000.0, "strategic": False},
    }


def _pct(xs: list[float]) -> str:
    a = np.array(xs) * 1e3
    return f"p50 {np.median(a):7.2f} ms  p99 {np.quantile(a, 0.99):7.2f} ms  (n={len(a)})"


def _train(root: Path) -> tuple[str, str, Path]:
    """A small registered model (as tests/conftest.py's registry), made once under root."""
    uri, data = f"sqlite:///{root / 'mlflow.db'}", root / "data"
    if not (root / "mlflow.db").exists():
        from models.text_scorer import TransformerTextScorer
        from sources.synthetic.generate import GeneratorConfig, generate_dataset
        from training.config import load_config
        from training.jobs import run_training

        root.mkdir(parents=True, exist_ok=True)
        generate_dataset(GeneratorConfig(n_tickets=700, seed=11, days=45), data, progress=False)
        os.environ["MLFLOW_TRACKING_URI"] = uri
        cwd = os.getcwd()
        os.chdir(root)
        try:
            cfg, raw = load_config(
                overrides=[
                    "search.n_trials=0",
                    "lightgbm.num_threads=1",
                    "lightgbm.n_estimators=300",
                    "lightgbm.learning_rate=0.1",
                ]
            )
            run_training(data, cfg, raw, "bench-service", TransformerTextScorer())
        finally:
            os.chdir(cwd)
    return "models:/bench-service@champion", uri, data


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(env: dict, workers: int, port: int, log: Path) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "serving.main:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
    ]
    return subprocess.Popen(
        cmd, env={**os.environ, **env}, stdout=log.open("w"), stderr=subprocess.STDOUT
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model")
    ap.add_argument("--tracking-uri")
    ap.add_argument("--data", type=Path, help="the store's backfill (the training data)")
    ap.add_argument("--train", type=Path, help="train (or reuse) a small model under this folder")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--load", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--ready-timeout", type=float, default=300.0)
    ap.add_argument(
        "--soak-seconds", type=float, default=0.0, help="memory soak under load (0: none)"
    )
    args = ap.parse_args()
    if args.train:
        args.model, args.tracking_uri, args.data = _train(args.train)
    if not (args.model and args.tracking_uri and args.data):
        raise SystemExit("give --train DIR, or --model, --tracking-uri and --data")

    import httpx

    tmp = Path(tempfile.mkdtemp(prefix="bench-service-"))
    env = {
        "ESCALATION_RISK_MODEL_URI": args.model,
        "ESCALATION_RISK_TRACKING_URI": args.tracking_uri,
        "ESCALATION_RISK_STORE_PATH": str(tmp / "serving.db"),
        "ESCALATION_RISK_BACKFILL_DIR": str(args.data),
        "ESCALATION_RISK_MODEL_CACHE_DIR": str(tmp / "model-cache"),
        "ESCALATION_RISK_WORKERS": str(args.workers),
    }
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _serve(env, args.workers, port, tmp / "server.log")
    try:
        _run(args, env, base, server, httpx)
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        print(f"server log: {tmp / 'server.log'}")


def _load() -> str:
    """The machine's load average now (1, 5, 15 minutes)."""
    try:
        return "load " + " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "load unknown"


def _tree_rss_mib(root: int) -> float:
    """Resident memory (MiB) of ``root`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        pid = int(entry.name)
        children.setdefault(int(fields.get("PPid", "0")), []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0])
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total / 1024.0


def _ready(base: str, server, timeout: float, httpx) -> None:
    """Until 20 probes in a row, each on a new connection (so on any worker), say ready."""
    deadline, in_row = time.monotonic() + timeout, 0
    while time.monotonic() < deadline and in_row < 20:
        if server.poll() is not None:
            raise SystemExit(f"the server exited ({server.returncode}); see its log")
        try:
            ok = httpx.get(f"{base}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            ok = False
        in_row = in_row + 1 if ok else 0
        if not ok:
            time.sleep(0.5)
    if in_row < 20:
        raise SystemExit(f"not ready after {timeout:.0f} s")


def _run(args, env: dict, base: str, server, httpx) -> None:
    t = time.perf_counter()
    _ready(base, server, args.ready_timeout, httpx)
    print(f"{args.workers} worker(s) ready after {time.perf_counter() - t:.1f} s")
    # Every worker warms its own process: a few calls each before timing.
    rng = np.random.default_rng(0)
    client = httpx.Client(base_url=base, timeout=30)

    def post(k: int, body: dict) -> float:
        start = time.perf_counter()
        r = client.post(f"/v1/tickets/bench-{k}/events", json=body)
        dt = time.perf_counter() - start
        if r.status_code != 200:
            raise SystemExit(f"HTTP {r.status_code}: {r.text[:300]}")
        return dt

    for k in range(-40, 0):
        ev = _events(rng, k)
        post(k, {**_head(k), "events": ev})
    customer, agent = [], []
    for k in range(args.n):
        ev = _events(rng, k, 11)
        post(k, {**_head(k), "events": ev[:9]})
        (customer if k % 2 == 0 else agent).append(
            post(k, {"events": [ev[9] if k % 2 == 0 else ev[10]]})
        )
    print(f"latency measured from {_load()}")
    print(f"10th event, customer message (new text):  {_pct(customer)}")
    print(f"10th event, agent message:                {_pct(agent)}")

    model_s = _model_time(args, env, rng)
    print(f"LightGBM + TreeSHAP, one row (this process): {_pct(model_s)}")
    p99 = np.quantile(customer + agent, 0.99)
    print(
        f"p99 / model p99: {p99 / np.quantile(model_s, 0.99):.1f}x   "
        f"p99 / model p50: {p99 / np.median(model_s):.1f}x   "
        f"p50 / model p50: {np.median(customer + agent) / np.median(model_s):.1f}x"
    )
    _saturate(args, base, httpx, args.seconds)
    if args.soak_seconds > 0:
        warm = _tree_rss_mib(server.pid)
        print(f"memory after warm-up: {warm:.0f} MiB (server and workers)")
        _saturate(args, base, httpx, args.soak_seconds, bounded=False, id_base=50_000_000)
        end = _tree_rss_mib(server.pid)
        print(f"memory after a {args.soak_seconds:.0f} s soak: {end:.0f} MiB ({end / warm:.3f}x)")
    _profile(args, env)


def _model_time(args, env: dict, rng) -> list[float]:
    """LightGBM + TreeSHAP on one feature row of a 10-event ticket, as the service calls it."""
    from serving.core.config import Settings
    from serving.schemas import EventsIn
    from serving.services.service import Service

    tmp = Path(tempfile.mkdtemp(prefix="bench-model-"))
    settings = Settings(
        _env_file=None,
        model_uri=args.model,
        tracking_uri=args.tracking_uri,
        store_path=tmp / "serving.db",
        model_cache_dir=tmp / "model-cache",
        refresh_seconds=3600,
        threads=1,
    )
    svc = Service(settings)
    svc.boot()
    served = svc.served()
    svc.add_events(
        "bench--999",
        EventsIn.model_validate({**_head(-999), "events": _events(rng, -999)}),
        served,
    )
    from features.build import build_ticket_features

    state = svc._ticket("bench--999")
    from serving.schemas import AccountIn, ScoreIn

    req = ScoreIn.model_construct(
        ticket=state.ticket,
        account=AccountIn(account_id=state.account_id),
        events=state.events,
        as_of=state.events[-1].ts,
    )
    a, tk, ev, as_of = svc.scorer.frames(
        req, svc.store.account(state.account_id), datetime.now(UTC)
    )
    ev = svc.scorer.signals(ev, served)
    X = build_ticket_features(tk, ev, as_of, svc.live.view(a, tk), frame=False)
    out = []
    for _ in range(max(200, args.n)):
        start = time.perf_counter()
        served.model.score(X)
        out.append(time.perf_counter() - start)
    svc.store.close()
    return out


def _saturate(
    args, base: str, httpx, seconds: float, bounded: bool = True, id_base: int = 1_000_000
) -> None:
    """``--clients`` threads, one event per call on fresh 10-event tickets, for ``seconds``
    (and at most ``--load`` calls when ``bounded``)."""
    lock = threading.Lock()
    state = {"sent": 0, "errors": 0, "lat": []}
    deadline = time.monotonic() + seconds
    limit = args.load if bounded else sys.maxsize
    print(f"saturation from {_load()}")

    def client_loop(c: int) -> None:
        rng = np.random.default_rng(100 + c)
        with httpx.Client(base_url=base, timeout=30) as http:
            k = 0
            while True:
                tid = id_base + c * 100_000 + k
                k += 1
                for i, ev in enumerate(_events(rng, tid)):
                    with lock:
                        if state["sent"] >= limit or time.monotonic() > deadline:
                            return
                        state["sent"] += 1
                    body = {"events": [ev], **(_head(tid) if i == 0 else {})}
                    start = time.perf_counter()
                    try:
                        r = http.post(f"/v1/tickets/bench-{tid}/events", json=body)
                        ok = r.status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    dt = time.perf_counter() - start
                    with lock:
                        state["lat"].append(dt)
                        state["errors"] += not ok

    start = time.perf_counter()
    threads = [threading.Thread(target=client_loop, args=(c,)) for c in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    n = len(state["lat"])
    print(
        f"saturated, {args.clients} clients, {args.workers} workers: {n / wall:.1f} requests/s, "
        f"{state['errors']} errors of {n}; {_pct(state['lat'])}"
    )


def _profile(args, env: dict) -> None:
    """In process: one append on an empty store and on the backfilled one (the cost of an event
    should not grow with the store), then where the time goes (cProfile, 100 appends)."""
    from serving.core.config import Settings
    from serving.schemas import EventsIn
    from serving.services.service import Service

    for backfill in (None, args.data):
        tmp = Path(tempfile.mkdtemp(prefix="bench-profile-"))
        settings = Settings(
            _env_file=None,
            model_uri=args.model,
            tracking_uri=args.tracking_uri,
            store_path=tmp / "serving.db",
            backfill_dir=backfill,
            model_cache_dir=tmp / "model-cache",
            refresh_seconds=3600,
            threads=1,
        )
        svc = Service(settings)
        svc.boot()
        served = svc.served()
        events = svc.store.count("events")
        rng = np.random.default_rng(7)
        tickets = [(k, _events(rng, k, 11)) for k in range(5_000, 5_100)]
        for k, ev in tickets:
            body = EventsIn.model_validate({**_head(k), "events": ev[:9]})
            svc.add_events(f"bench-{k}", body, served)
        prof = cProfile.Profile()
        times: dict[str, list[float]] = {"customer message": [], "agent message": []}
        for k, ev in tickets:
            kind = "customer message" if k % 2 == 0 else "agent message"
            req = EventsIn.model_validate({"events": [ev[9] if k % 2 == 0 else ev[10]]})
            start = time.perf_counter()
            prof.enable()
            svc.add_events(f"bench-{k}", req, served)
            prof.disable()
            times[kind].append(time.perf_counter() - start)
        for kind, xs in times.items():
            print(f"in process, store of {events:,} events, 10th event ({kind}): {_pct(xs)}")
        svc.store.close()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(20)
    print(out.getvalue()[-5000:])


if __name__ == "__main__":
    main()
