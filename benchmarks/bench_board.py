"""The risk board's first render with thousands of open tickets, and its screenshots.

    .venv/bin/python benchmarks/bench_board.py [--open 5000] [--runs 9] [--screenshots docs/images]

Builds a world for it in a temporary folder: a synthetic organisation (``--open`` + 20%
tickets), a small text-free model trained and registered into a temporary MLflow store, the
service's store backfilled with that organisation, and each ticket answered after each of its
2nd to 5th events: the earlier answers through the batch feature path and the registered model
(the score rows only), the latest through the service itself (``Service.score_one`` and
``record_scores``, as ``POST /v1/score`` does), so every ticket's latest score carries its
stored answer (then the whole event histories are stored again: scoring cut each ticket's to
its answer's instant, and the queue's query should scan them all). Then it serves the app with uvicorn on a loopback port and measures, ``--runs``
times each:

- server: ``GET /board`` over HTTP in three states: the first read after a start (the board
  reads every scored ticket), after a new score (the store changed: the board reads the
  tickets answered since and re-ranks), and with the store unchanged (ranked rows cached);
- browser: a headless Chromium load of ``/board`` in the same three states (navigation start
  to the load event: server time, transfer, parsing, style, script);
- the ticket view of the riskiest ticket (reads its stored answer).

Prints the medians (and min/max). With ``--screenshots DIR`` it saves the queue and the ticket
view of the riskiest ticket as ``DIR/board-queue.png`` and ``DIR/board-ticket.png``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sqlite3
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


def _build_world(root: Path, n_open: int) -> tuple[str, str, Path, list[tuple[str, object]]]:
    """(model URI, tracking URI, store path, the latest snapshot of each ticket still to answer)
    of a world with about ``n_open`` open tickets; every earlier snapshot is answered."""
    import mlflow
    import numpy as np
    import pandas as pd

    from features.build import build_features
    from features.context import FeatureContext
    from features.schema import read_dataset
    from features.text import attach_text_signals
    from serving.core.config import Settings
    from serving.services.model import ModelManager
    from serving.services.store import Store
    from sources.synthetic.generate import GeneratorConfig, generate_dataset
    from training.config import load_config
    from training.jobs import run_training

    data, train = root / "data", root / "train"
    n = int(n_open * 1.4)  # some close before their last answer and leave the queue
    t0 = time.perf_counter()
    generate_dataset(
        GeneratorConfig(n_tickets=n, seed=7, days=21, truth_fraction=0.0), data, progress=False
    )
    _shift_to_now(data)
    # The model only has to answer: a small world of its own trains it in seconds.
    generate_dataset(
        GeneratorConfig(n_tickets=800, seed=8, days=30, truth_fraction=0.0), train, progress=False
    )
    tracking = f"sqlite:///{root / 'mlflow.db'}"
    os.environ["MLFLOW_TRACKING_URI"] = tracking
    cwd = os.getcwd()
    os.chdir(root)
    try:
        cfg, raw = load_config(
            overrides=["search.n_trials=0", "lightgbm.n_estimators=150", "lightgbm.num_threads=2"]
        )
        run_training(train, cfg, raw, "board-bench", None)
    finally:
        os.chdir(cwd)
    print(f"world: {n} tickets generated, a model trained in {time.perf_counter() - t0:.0f} s")

    store_path = root / "serving.db"
    store = Store(store_path)
    store.backfill(data)
    ds = read_dataset(data)
    ev = attach_text_signals(ds.events, None)
    # Each ticket answered after each of its 2nd to 5th events (as a desk's client would ask),
    # up to the first answer at or after the ticket closed; the queue shows the latest.
    ev = ev.assign(k=ev.groupby("ticket_id").cumcount())
    snaps = ev.loc[ev["k"].between(1, 4), ["ticket_id", "ts", "k"]].rename(columns={"ts": "as_of"})
    snaps["as_of"] = snaps["as_of"] + pd.Timedelta(minutes=1)
    snaps = snaps[snaps["as_of"] <= pd.Timestamp.now(tz="UTC")]
    snaps = snaps.sort_values(["k", "ticket_id"]).drop(columns="k").reset_index(drop=True)
    ctx = FeatureContext.from_data(ds.accounts, ds.tickets, ev, None)
    X = build_features(ds.accounts, ds.tickets, ev, snaps, context=ctx)
    settings = Settings(
        _env_file=None,
        model_uri="models:/board-bench@champion",
        tracking_uri=tracking,
        model_cache_dir=root / "model-cache",
    )
    served = ModelManager(settings).start()
    proba, _ = served.model.score(X)
    decided = served.policy.decide_frame(np.asarray(proba), X)
    last = (X["as_of"] == X.groupby("ticket_id")["as_of"].transform("max")).to_numpy()
    rows = [
        (tid, as_of.to_pydatetime(), float(p), str(a), served.version, served.policy.version)
        for tid, as_of, p, a, is_last in zip(
            X["ticket_id"], X["as_of"], proba, decided["decision"], last, strict=True
        )
        if not is_last
    ]
    store.record_score(rows)
    store.flush()
    store.close()
    mlflow.set_tracking_uri(tracking)
    latest = list(zip(X.loc[last, "ticket_id"], X.loc[last, "as_of"], strict=True))
    return "models:/board-bench@champion", tracking, store_path, latest


def _answer_latest(svc, data: Path, latest: list[tuple[str, object]]) -> None:
    """Score each ticket's latest snapshot through the service, as ``POST /v1/score`` does:
    the answer and its decision fields are stored with the score."""
    from tqdm import tqdm

    from features.schema import json_value, read_dataset
    from serving.schemas import ScoreIn

    ds = read_dataset(data)
    tickets = ds.tickets.set_index("ticket_id")
    accounts = ds.accounts.set_index("account_id")
    events = dict(tuple(ds.events.groupby("ticket_id")))
    served = svc.manager.current

    t0 = time.perf_counter()
    for tid, as_of in tqdm(latest, desc="answering the latest snapshots", mininterval=5):
        tk, ev = tickets.loc[tid], events[tid]
        acc = accounts.loc[tk["account_id"]]
        ev = ev[ev["ts"] <= as_of].drop(columns="ticket_id")
        body = {
            "ticket": {"ticket_id": tid, "created_at": tk["created_at"].isoformat()}
            | {k: json_value(tk[k]) for k in ("priority", "channel", "product_area", "subject")},
            "account": {"account_id": tk["account_id"]}
            | {k: json_value(acc[k]) for k in ("arr", "plan", "region", "industry")}
            | {"strategic": bool(acc["strategic"])},
            "events": [
                {k: json_value(v) for k, v in r.items() if json_value(v) is not None}
                for r in ev.to_dict("records")
            ],
            "as_of": as_of.isoformat(),
        }
        answer = svc.score_one(ScoreIn.model_validate(body), served)
        svc.record_scores([answer], served)
    svc.store.flush()
    n = len(latest)
    print(f"answered {n} latest snapshots through the service in {time.perf_counter() - t0:.0f} s")
    # Scoring replaced each ticket's stored events with those up to its answer; the whole
    # histories go back in (the backfill again), so the queue's query scans every event.
    with sqlite3.connect(svc.store.path) as db:
        db.execute("DELETE FROM meta WHERE key = 'backfill'")
    db.close()
    svc.store.backfill(data)


def _shift_to_now(data: Path) -> None:
    """Move every time of the generated world by whole weeks so that its last ticket opens in
    the past week (the business-hour and weekday rhythm stays; the SLA clocks count against the
    real clock). Later events of the last tickets lie in the future: nothing answers them."""
    import pandas as pd

    names = ("accounts", "tickets", "events", "outcomes", "ground_truth")
    tables = {
        n: pd.read_parquet(data / f"{n}.parquet")
        for n in names
        if (data / f"{n}.parquet").exists()
    }
    last = tables["tickets"]["created_at"].max()
    weeks = (pd.Timestamp.now(tz="UTC") - last) // pd.Timedelta(weeks=1)
    shift = pd.Timedelta(weeks=int(weeks))
    for name, frame in tables.items():
        for col in frame.columns:
            if isinstance(frame[col].dtype, pd.DatetimeTZDtype):
                frame[col] = frame[col] + shift
        frame.to_parquet(data / f"{name}.parquet", index=False)


def _serve(app) -> tuple[str, object]:
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start within 30 s")
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


def _browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (browser and driver):
        raise SystemExit("needs Debian's chromium and chromium-driver (apt-get install ...)")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    options.add_argument("--window-size=1500,1100")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=DriverService(executable_path=driver))


def _summary(name: str, values: list[float]) -> None:
    ms = [v * 1000 for v in values]
    print(
        f"  {name:<34} median {statistics.median(ms):7.1f} ms   "
        f"min {min(ms):7.1f}   max {max(ms):7.1f}   (n={len(ms)})"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--open", type=int, default=5000, help="open scored tickets (about)")
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--screenshots", type=Path, default=None, help="folder for the PNGs")
    ap.add_argument("--keep", type=Path, default=None, help="build the world here and keep it")
    ap.add_argument("--world", type=Path, default=None, help="reuse a world kept with --keep")
    args = ap.parse_args()

    import httpx

    from serving.board.queries import BoardQueries
    from serving.core.config import Settings
    from serving.main import create_app
    from serving.services.service import Service

    if args.world is not None:
        root = args.world
        tracking = f"sqlite:///{root / 'mlflow.db'}"
        os.environ["MLFLOW_TRACKING_URI"] = tracking
        model_uri, store_path = "models:/board-bench@champion", root / "serving.db"
    else:
        root = args.keep or Path(tempfile.mkdtemp(prefix="bench-board-"))
        root.mkdir(parents=True, exist_ok=True)
        model_uri, tracking, store_path, latest = _build_world(root, args.open)
    settings = Settings(
        _env_file=None,
        model_uri=model_uri,
        tracking_uri=tracking,
        store_path=store_path,
        model_cache_dir=root / "model-cache",
        refresh_seconds=3600,
    )
    svc = Service(settings)
    svc.boot()
    if not svc.ready:
        raise SystemExit(f"service not ready: {svc.status()}")
    if args.world is None:
        _answer_latest(svc, root / "data", latest)
    app = create_app(service=svc, background=False)
    url, server = _serve(app)
    first = httpx.get(f"{url}/board/api/queue", params={"size": 25}, timeout=30).json()
    print(
        f"open scored tickets in the store: {first['total_open']} (pages of 25: {first['pages']})"
    )
    top = first["rows"][0]["ticket_id"]
    last_page = httpx.get(
        f"{url}/board/api/queue", params={"size": 25, "page": first["pages"]}, timeout=30
    ).json()

    row = last_page["rows"][-1]
    answer = BoardQueries(store_path).latest_answer(row["ticket_id"])

    def touch() -> None:
        """One more stored answer (the lowest-ranked ticket's latest, again): the store's
        version moves, so the next render re-reads and re-ranks the queue."""
        as_of = datetime.fromtimestamp(row["as_of"], UTC)  # the same answer once more
        served = svc.manager.current
        record = (
            row["ticket_id"],
            as_of,
            row["probability"],
            row["action"],
            served.version,
            served.policy.version,
            answer,
        )
        svc.store.record_score([record])
        svc.store.flush()

    def forget() -> None:
        """As after a restart: the board's in-memory queue is empty, the next render reads
        every scored ticket."""
        app.state.board_queue = None

    first_read, cold, warm = [], [], []
    with httpx.Client(timeout=30) as client:
        client.get(f"{url}/board")
        for _ in range(args.runs):
            forget()
            t = time.perf_counter()
            assert client.get(f"{url}/board").status_code == 200
            first_read.append(time.perf_counter() - t)
            touch()
            t = time.perf_counter()
            assert client.get(f"{url}/board").status_code == 200
            cold.append(time.perf_counter() - t)
            t = time.perf_counter()
            assert client.get(f"{url}/board").status_code == 200
            warm.append(time.perf_counter() - t)
        ticket = []
        for _ in range(args.runs):
            t = time.perf_counter()
            assert client.get(f"{url}/board/ticket", params={"id": top}).status_code == 200
            ticket.append(time.perf_counter() - t)
    print("server (GET /board over HTTP, 25 rows of the ranked queue):")
    _summary("first read (every scored ticket)", first_read)
    _summary("after a new score (re-read, re-rank)", cold)
    _summary("unchanged store", warm)
    _summary("ticket view (its stored answer)", ticket)

    driver = _browser()
    load = "const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd;"
    b_first, b_cold, b_warm = [], [], []
    try:
        driver.get(f"{url}/board")
        for _ in range(args.runs):
            forget()
            driver.get(f"{url}/board")
            b_first.append(driver.execute_script(load) / 1000)
            touch()
            driver.get(f"{url}/board")
            b_cold.append(driver.execute_script(load) / 1000)
            driver.get(f"{url}/board")
            b_warm.append(driver.execute_script(load) / 1000)
        print("browser (headless Chromium: navigation start to load event, server time included):")
        _summary("first read (every scored ticket)", b_first)
        _summary("after a new score", b_cold)
        _summary("unchanged store", b_warm)
        errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        print(f"browser console errors: {len(errors)}")
        if args.screenshots is not None:
            args.screenshots.mkdir(parents=True, exist_ok=True)
            driver.get(f"{url}/board")
            time.sleep(1.2)  # the SLA clocks' first tick
            driver.save_screenshot(str(args.screenshots / "board-queue.png"))
            driver.set_window_size(1500, 1700)
            driver.get(f"{url}/board/ticket?id={top}")
            time.sleep(1.2)
            driver.save_screenshot(str(args.screenshots / "board-ticket.png"))
            print(f"screenshots in {args.screenshots}/board-queue.png, board-ticket.png")
    finally:
        driver.quit()
        server.should_exit = True
        svc.store.close()
        if args.keep is None and args.world is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
