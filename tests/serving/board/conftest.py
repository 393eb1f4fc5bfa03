"""The risk board's fixtures: a small model without text signals (so the board's tests need
no transformer), a service with demo tickets scored through the API (one of them with hostile
text in every stored field), the board served by a real uvicorn server, and a headless Chromium
driven by Selenium.

Chromium and its driver are Debian's ``chromium`` and ``chromium-driver`` packages (``.ci/run``
installs them). Without them the browser tests skip, except under CI, where they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import uvicorn
from fastapi.testclient import TestClient

from features.schema import SupportData, read_dataset
from serving.core.config import Settings
from serving.main import create_app
from serving.services.service import Service

KEY = "board-test-key-0123456789abcdef"
# Markup and script in every free-text field the store keeps and the board shows.
HOSTILE = {
    "ticket_id": "<img src=x onerror=window.__xss=1>",
    "account_id": "acct-<script>window.__xss=2</script>",
    "product_area": '"><svg onload=window.__xss=3>',
    "channel": "<b>email</b>",
    "plan": "</td><script>window.__xss=4</script>",
    "team": "<iframe src=javascript:window.__xss=5>",
    "note": "<script>window.__xss=6</script> & 'quotes' \"too\"",
}


@dataclass(frozen=True)
class BoardRegistry:
    """A temporary MLflow registry with one text-free model (@champion) and its data."""

    root: Path
    data_dir: Path
    model: str

    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{self.root / 'mlflow.db'}"


@pytest.fixture(scope="session")
def board_registry(tmp_path_factory, lexical_scorer) -> BoardRegistry:
    """400 synthetic tickets (seed 11, 30 days), 100 trees, no text model: the board shows
    what any served model answers, and its tests should not wait for the transformer."""
    from sources.synthetic.generate import GeneratorConfig, generate_dataset
    from training.config import load_config
    from training.jobs import run_training

    root = tmp_path_factory.mktemp("board-registry")
    data = root / "data"
    generate_dataset(
        GeneratorConfig(n_tickets=400, seed=11, days=30, truth_fraction=0.0), data, progress=False
    )
    overrides = [
        "search.n_trials=0",
        "lightgbm.num_threads=1",
        "lightgbm.n_estimators=100",
        "lightgbm.learning_rate=0.1",
    ]
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        cfg, raw = load_config(overrides=overrides)
        run_training(data, cfg, raw, "board-test", lexical_scorer)
    return BoardRegistry(root, data, "board-test")


@pytest.fixture(scope="session")
def board_dataset(board_registry) -> SupportData:
    return read_dataset(board_registry.data_dir)


def _settings(registry: BoardRegistry, tmp: Path, **kw) -> Settings:
    base = {
        "model_uri": f"models:/{registry.model}@champion",
        "tracking_uri": registry.tracking_uri,
        "store_path": tmp / "serving.db",
        "backfill_dir": registry.data_dir,
        "model_cache_dir": tmp / "model-cache",
        "refresh_seconds": 3600,
    }
    return Settings(_env_file=None, **{**base, **kw})


@dataclass(frozen=True)
class Demo:
    """A booted service and the demo tickets scored into its store."""

    service: Service
    ticket_ids: list[str]
    hostile_id: str


def _score_demo(client: TestClient, dataset, ticket_body, n: int) -> list[str]:
    """Score ``n`` synthetic tickets twice each (after their 2nd and their 4th event)."""
    counts = dataset.events.groupby("ticket_id").size()
    ids = list(counts[counts >= 6].index[:n])
    for tid in ids:
        ts = dataset.events.loc[dataset.events["ticket_id"] == tid, "ts"].sort_values()
        for k in (1, 3):
            body = ticket_body(dataset, tid, ts.iloc[k] + pd.Timedelta(minutes=5))
            r = client.post("/v1/score", json=body)
            assert r.status_code == 200, r.text
    return ids


def _hostile_body(dataset, ticket_body) -> dict:
    tid = dataset.tickets["ticket_id"].iloc[0]
    ts = dataset.events.loc[dataset.events["ticket_id"] == tid, "ts"].sort_values()
    body = ticket_body(dataset, tid, ts.iloc[0] + pd.Timedelta(minutes=30))
    body["ticket"]["ticket_id"] = HOSTILE["ticket_id"]
    body["ticket"]["product_area"] = HOSTILE["product_area"]
    body["ticket"]["channel"] = HOSTILE["channel"]
    body["ticket"]["subject"] = "<script>window.__xss=7</script>"
    body["account"] = {
        "account_id": HOSTILE["account_id"],
        "plan": HOSTILE["plan"],
        "arr": 250_000.0,
        "strategic": True,
    }
    first = pd.Timestamp(body["ticket"]["created_at"])
    body["events"] = [
        {
            "ts": first.isoformat(),
            "event_type": "customer_message",
            "actor": "customer",
            "text": "<script>alert(1)</script> Our API is down! I want a manager NOW.",
        },
        {
            "ts": (first + pd.Timedelta(minutes=2)).isoformat(),
            "event_type": "assignment",
            "actor": "system",
            "team": HOSTILE["team"],
            "tier": 1,
        },
    ]
    body["as_of"] = (first + pd.Timedelta(minutes=20)).isoformat()
    return body


def _demo(settings, text_scorer, dataset, ticket_body, n: int) -> Demo:
    svc = Service(settings, text_scorer=text_scorer)
    svc.boot()
    assert svc.ready, svc.status()
    with TestClient(create_app(service=svc, background=False)) as client:
        headers = {"X-API-Key": KEY}
        ids = _score_demo_with(client, dataset, ticket_body, n, headers)
        hostile = _hostile_body(dataset, ticket_body)
        r = client.post("/v1/score", json=hostile, headers=headers)
        assert r.status_code == 200, r.text
    svc.store.flush()
    return Demo(svc, ids, HOSTILE["ticket_id"])


def _score_demo_with(client, dataset, ticket_body, n, headers) -> list[str]:
    client.headers.update(headers)
    return _score_demo(client, dataset, ticket_body, n)


@pytest.fixture(scope="session")
def demo(
    board_registry, lexical_scorer, board_dataset, ticket_body, tmp_path_factory
) -> Iterator[Demo]:
    """An open service (no keys) with 24 demo tickets scored twice and the hostile one."""
    settings = _settings(board_registry, tmp_path_factory.mktemp("board"))
    d = _demo(settings, lexical_scorer, board_dataset, ticket_body, 24)
    yield d
    d.service.store.close()


@pytest.fixture(scope="session")
def keyed_demo(
    board_registry, lexical_scorer, board_dataset, ticket_body, tmp_path_factory
) -> Iterator[Demo]:
    """A service with API keys configured (``KEY``, unscoped: everything but admin)."""
    settings = _settings(board_registry, tmp_path_factory.mktemp("board-keyed"), api_keys=KEY)
    d = _demo(settings, lexical_scorer, board_dataset, ticket_body, 4)
    yield d
    d.service.store.close()


@pytest.fixture(scope="session")
def board_client(demo) -> Iterator[TestClient]:
    with TestClient(create_app(service=demo.service, background=False)) as c:
        yield c


@pytest.fixture(scope="session")
def keyed_client(keyed_demo) -> Iterator[TestClient]:
    with TestClient(create_app(service=keyed_demo.service, background=False)) as c:
        yield c


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(service: Service) -> Iterator[str]:
    """Serve ``service`` with uvicorn on a loopback port (a thread); yield its base URL."""
    port = _free_port()
    config = uvicorn.Config(
        create_app(service=service, background=False),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="board-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the board's uvicorn server did not start within 30 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="session")
def live_url(demo) -> Iterator[str]:
    yield from _serve(demo.service)


@pytest.fixture(scope="session")
def keyed_live_url(keyed_demo) -> Iterator[str]:
    yield from _serve(keyed_demo.service)


def chromium_paths() -> tuple[str, str] | None:
    """(browser, driver) of Debian's chromium packages, or None when not installed."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """A headless Chromium (Selenium), with the browser console log readable."""
    paths = chromium_paths()
    if paths is None:
        why = "chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(f"{why}; CI must run the browser tests (.ci/run installs them)")
        pytest.skip(why)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    options.add_argument("--window-size=1400,1000")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=DriverService(executable_path=paths[1]))
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def console_errors(browser) -> Callable[[], list[dict]]:
    """``console_errors()``: the SEVERE entries of the browser log since the last call."""
    browser.get_log("browser")  # drop what earlier tests left

    def read() -> list[dict]:
        return [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]

    return read


@pytest.fixture(scope="session")
def hostile() -> dict[str, str]:
    """The hostile strings the demo's hostile ticket carries (field -> text)."""
    return dict(HOSTILE)


@pytest.fixture(scope="session")
def board_key() -> str:
    """The API key of ``keyed_demo``."""
    return KEY
