"""The board's similar-escalation groups panel: ``GET /board/api/groups``, which the queue page's
script fetches after the page has loaded.

Grouping reads a real store (SQLite) written through its public methods; the MiniLM embedder is
swapped for the deterministic hashing one (``board_embedder``), so no model is loaded. Access and
the "not available" state use the board's demo services (see conftest.py); one test draws the
panel in the headless Chromium.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from importlib import resources

import numpy as np
import pandas as pd
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from models.grouping import HashingEmbedder
from serving.board.router import CSP, board_embedder
from serving.core.config import Settings
from serving.main import create_app
from serving.services.groups import NO_TEXT_MODEL
from serving.services.service import Service
from serving.services.store import Store
from serving.services.store.log import LoggedEvent

T0 = pd.Timestamp("2026-03-02 09:00", tz="UTC")
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
OUTAGE = f"{SCRIPT} Dashboard reports time out with gateway errors for every user {IMG}"
HOSTILE_ID = f"out-{IMG}"
OTHER = [
    "We were charged twice on invoice INV-20391, please refund the duplicate",
    "How do I add a new admin to our workspace settings",
]


def _log_ticket(store: Store, tid: str, acc: str, area: str, at: pd.Timestamp, text: str) -> None:
    """One ticket sent through the events endpoint: its first customer message, scored."""
    us = int(at.value // 1000)
    event = {"ts": at.isoformat(), "event_type": "customer_message", "actor": "customer"}
    event |= {"text": text, "event_id": f"{tid}-1"}
    logged = LoggedEvent(
        f"{tid}-1", us, "customer_message", None, None, None, -0.5, json.dumps(event)
    )
    store.append_events(
        tid,
        (tid, acc, us, "email", area, "P2"),
        (acc, 100_000.0, "pro", 0, "EMEA", None, None, None),
        json.dumps({"ticket": {"ticket_id": tid, "subject": None}}),
        [logged],
    )
    store.record_score([(tid, at, 0.7, "escalate", "1", "p-1")])


class CountingEmbedder(HashingEmbedder):
    """The hashing embedder, counting the texts it embeds."""

    embedded = 0

    def embed(self, texts) -> np.ndarray:
        CountingEmbedder.embedded += len(texts)
        return super().embed(texts)


@pytest.fixture
def groups_app(tmp_path) -> Iterator[FastAPI]:
    """An open board over a store with one incident (five tickets, hostile text and a hostile
    ticket id among them) and two unrelated at-risk tickets."""
    store = Store(tmp_path / "serving.db")
    for i in range(5):
        tid = HOSTILE_ID if i == 4 else f"out-{i}"
        at = T0 + pd.Timedelta(minutes=20 * i)
        _log_ticket(store, tid, f"acc-{i}", "reporting", at, OUTAGE)
    for i, text in enumerate(OTHER):
        _log_ticket(store, f"oth-{i}", "acc-big", ["billing", "admin"][i], T0, text)
    store.flush()
    svc = Service(Settings(_env_file=None, store_path=tmp_path / "serving.db"), store=store)
    app = create_app(service=svc, background=False)
    app.dependency_overrides[board_embedder] = CountingEmbedder
    yield app
    store.close()


@pytest.fixture
def groups_client(groups_app) -> Iterator[TestClient]:
    with TestClient(groups_app) as c:
        yield c


def test_the_feed_lists_the_incidents_group_with_board_links(groups_client):
    r = groups_client.get("/board/api/groups")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["available"] is True and body["lookback_days"] == 7
    assert body["candidates"] == 7 and body["grouped"] == 5
    [g] = body["groups"]
    assert g["size"] == 5 and g["product_area"] == "reporting"
    assert g["tickets"] == [f"out-{i}" for i in range(4)] + [HOSTILE_ID]
    assert {"dashboard", "reports", "gateway"} & set(g["keywords"])
    assert g["label"] and g["central_message"] == OUTAGE
    hrefs = [link["href"] for link in g["links"]]
    assert hrefs[0] == "/board/ticket?id=out-0"
    # The hostile id is percent-encoded into its link: no markup, quote or space survives.
    assert hrefs[-1] == "/board/ticket?id=out-%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E"
    for link in g["links"]:
        assert groups_client.get(link["href"]).status_code != 404  # a real ticket view path


def test_hostile_text_comes_back_as_data_never_as_markup(groups_client):
    r = groups_client.get("/board/api/groups")
    # JSON, not sniffable as HTML, under the board's script policy.
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-security-policy"] == CSP
    g = r.json()["groups"][0]
    assert SCRIPT in g["central_message"] and IMG in g["central_message"]  # kept as text
    # The panel is drawn with textContent only: no HTML sink takes the feed's text.
    script = resources.files("serving.board").joinpath("static", "board.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script, sink
    # The queue page never holds the groups' text (the panel is fetched later), and the
    # hostile ticket id it lists is escaped.
    page = groups_client.get("/board").text
    assert "gateway errors" not in page
    assert IMG not in page and "out-&lt;img src=x onerror=alert(1)&gt;" in page


def test_the_queue_renders_without_grouping(groups_client):
    CountingEmbedder.embedded = 0
    page = groups_client.get("/board")
    assert page.status_code == 200, page.text
    assert 'id="groups-state" data-state="loading">Loading…<' in page.text
    assert 'data-src="/board/api/groups"' in page.text
    assert CountingEmbedder.embedded == 0  # no text embedded before the first render
    groups_client.get("/board/api/groups")
    assert CountingEmbedder.embedded > 0


def test_no_groups_is_an_empty_list(tmp_path):
    store = Store(tmp_path / "s.db")
    svc = Service(Settings(_env_file=None, store_path=tmp_path / "s.db"), store=store)
    app = create_app(service=svc, background=False)
    app.dependency_overrides[board_embedder] = HashingEmbedder
    with TestClient(app) as c:
        r = c.get("/board/api/groups")
    store.close()
    assert r.status_code == 200, r.text
    assert r.json()["available"] is True and r.json()["groups"] == []


def test_without_a_store_the_panel_is_not_available(tmp_path):
    svc = Service(Settings(_env_file=None, store_path=tmp_path / "s.db"))  # store not open
    app = create_app(service=svc, background=False)
    app.dependency_overrides[board_embedder] = HashingEmbedder
    with TestClient(app) as c:
        r = c.get("/board/api/groups")
        api = c.get("/v1/groups")
    assert api.status_code == 503  # the JSON API's answer for the same state
    assert r.status_code == 200
    assert r.json() == {"available": False, "reason": "the store is not open yet"}


@pytest.mark.mlflow
def test_without_the_text_model_the_panel_is_not_available(board_client):
    # The demo service scores with a lexical stand-in: no sentence embedder to group with.
    r = board_client.get("/board/api/groups")
    assert r.status_code == 200, r.text
    assert r.json() == {"available": False, "reason": NO_TEXT_MODEL}
    assert board_client.get("/v1/groups").status_code == 503


@pytest.mark.mlflow
def test_without_the_board_session_it_is_refused(keyed_client, board_key):
    overrides = keyed_client.app.dependency_overrides
    overrides[board_embedder] = HashingEmbedder  # refused even when grouping could run
    try:
        keyed_client.cookies.clear()
        for headers in ({}, {"X-API-Key": "wrong-key-0123456789abcdef"}):
            r = keyed_client.get("/board/api/groups", headers=headers)
            assert r.status_code == 401, r.text
            assert set(r.json()) == {"error", "message", "details"} and "groups" not in r.json()
        r = keyed_client.post(
            "/board/login",
            content=f"key={board_key}&next=%2Fboard".encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        r = keyed_client.get("/board/api/groups")  # the session cookie, as the page sends it
        assert r.status_code == 200, r.text
        assert r.json()["available"] is True
    finally:
        keyed_client.cookies.clear()
        overrides.pop(board_embedder, None)


@pytest.mark.slow
def test_the_panel_shows_the_groups_as_text_in_a_browser(browser, groups_app, console_errors):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # log_config=None: uvicorn's own logging setup would add handlers process-wide.
    server = uvicorn.Server(uvicorn.Config(groups_app, port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "no server in 30 s"
            time.sleep(0.05)
        browser.get(f"http://127.0.0.1:{port}/board")
        wait = WebDriverWait(browser, 20)
        state = browser.find_element(By.ID, "groups-state")
        wait.until(lambda b: state.get_attribute("data-state") != "loading")
        assert state.get_attribute("data-state") == "ok", state.text
        [group] = browser.find_elements(By.CSS_SELECTOR, "#groups-list li")
        # The hostile message is shown as its characters (an alert would fail every call).
        assert SCRIPT in group.find_element(By.CLASS_NAME, "group-message").text
        links = group.find_elements(By.CSS_SELECTOR, "a.ticket-link")
        assert [a.text for a in links] == [f"out-{i}" for i in range(4)] + [HOSTILE_ID]
        assert (
            browser.find_elements(By.CSS_SELECTOR, "#groups-list img, #groups-list script") == []
        )
        links[-1].click()
        wait.until(EC.presence_of_element_located((By.ID, "ticket-id")))
        assert browser.find_element(By.ID, "ticket-id").text == HOSTILE_ID
        assert console_errors() == []
    finally:
        server.should_exit = True
        thread.join(10)
