"""The board in a real headless Chromium (Selenium): the queue, its order and filters, the
ticket view, feedback, hostile text and the browser console."""

from __future__ import annotations

import pandas as pd
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

# A real browser and the board's own small registry (see conftest.py), trained into MLflow.
pytestmark = [pytest.mark.slow, pytest.mark.mlflow]

WAIT_S = 20


def _wait(browser):
    return WebDriverWait(browser, WAIT_S)


def _shown_ids(browser) -> list[str]:
    """The queue's ticket ids, read in one script call (the rows may be swapped meanwhile)."""
    return browser.execute_script(
        "return [...document.querySelectorAll('#queue-rows tr[data-ticket]')]"
        ".map(r => r.dataset.ticket)"
    )


def _rows(browser) -> list:
    return browser.find_elements(By.CSS_SELECTOR, "#queue-rows tr[data-ticket]")


def test_queue_loads_ranked_by_risk(browser, live_url, demo, console_errors):
    browser.get(f"{live_url}/board")
    _wait(browser).until(EC.presence_of_element_located((By.ID, "queue-rows")))
    rows = _rows(browser)
    assert len(rows) > 5
    probs = [float(r.get_attribute("data-probability")) for r in rows]
    assert probs == sorted(probs, reverse=True)
    # The SLA clocks were started by the page's script (it rewrites every one each second).
    _wait(browser).until(
        lambda b: all(
            c.text.startswith(("due in", "breached", "answered"))
            for c in b.find_elements(By.CSS_SELECTOR, "#queue-rows .sla")
        )
    )
    assert browser.find_element(By.ID, "policy-version").text.startswith("p-")
    # The groups panel is fetched after the page loaded; this demo has no text model to group.
    state = browser.find_element(By.ID, "groups-state")
    _wait(browser).until(lambda b: state.get_attribute("data-state") != "loading")
    assert state.text.startswith("Not available: grouping needs the text model")
    assert console_errors() == []


def test_queue_follows_newly_scored_tickets(
    browser, live_url, demo, board_client, board_dataset, ticket_body, console_errors
):
    browser.get(f"{live_url}/board?size=100")
    demo.service.store.flush()
    scored = set(demo.service.store.table("scores")["ticket_id"]) | set(_shown_ids(browser))
    tid = next(t for t in board_dataset.tickets["ticket_id"] if t not in scored)
    ts = board_dataset.events.loc[board_dataset.events["ticket_id"] == tid, "ts"].min()
    body = ticket_body(board_dataset, tid, ts + pd.Timedelta(minutes=5))
    assert board_client.post("/v1/score", json=body).status_code == 200
    # No reload: the page polls /board/api/version and swaps its rows when the store moved.
    _wait(browser).until(lambda b: tid in _shown_ids(b))
    assert "updated" in browser.find_element(By.ID, "live").text
    assert console_errors() == []


def test_a_filter_narrows_the_queue(browser, live_url, console_errors):
    browser.get(f"{live_url}/board")
    before = len(_rows(browser))
    segments = [r.find_element(By.CSS_SELECTOR, "td.segment").text for r in _rows(browser)]
    target = min(set(segments), key=segments.count)  # the rarer segment on the page
    old = browser.find_element(By.ID, "queue-rows")
    Select(browser.find_element(By.ID, "filter-segment")).select_by_value(target)
    _wait(browser).until(EC.staleness_of(old))  # the script submitted the form on change
    _wait(browser).until(EC.presence_of_element_located((By.ID, "queue-rows")))
    assert f"segment={target}" in browser.current_url
    rows = _rows(browser)
    assert 0 < len(rows) < before
    cells = [r.find_element(By.CSS_SELECTOR, "td.segment").text for r in rows]
    assert set(cells) == {target}
    assert console_errors() == []


def test_queue_shows_route_severity_type_and_reason(browser, live_url, console_errors):
    browser.get(f"{live_url}/board")
    row = _rows(browser)[0]
    assert row.find_element(By.CSS_SELECTOR, "td.decision .route").text.startswith("→ ")
    level = row.find_element(By.CSS_SELECTOR, "td.severity .level").text
    assert level in ("P1", "P2", "P3")
    clock = row.find_element(By.CSS_SELECTOR, "td.severity .sla")
    _wait(browser).until(lambda b: clock.text.startswith(("due in", "breached")))
    assert row.find_element(By.CSS_SELECTOR, "td.type").text not in ("", "–")
    assert row.find_element(By.CSS_SELECTOR, "td.reason").text not in ("", "–")
    # The type filter narrows to that type.
    kind = row.find_element(By.CSS_SELECTOR, "td.type").text
    old = browser.find_element(By.ID, "queue-rows")
    Select(browser.find_element(By.ID, "filter-type")).select_by_visible_text(kind)
    _wait(browser).until(EC.staleness_of(old))
    _wait(browser).until(EC.presence_of_element_located((By.ID, "queue-rows")))
    assert "type=" in browser.current_url
    cells = {r.find_element(By.CSS_SELECTOR, "td.type").text for r in _rows(browser)}
    assert cells == {kind}
    assert console_errors() == []


def test_ticket_view_opens(browser, live_url, console_errors):
    browser.get(f"{live_url}/board")
    link = browser.find_element(By.CSS_SELECTOR, "#queue-rows a.ticket-link")
    tid = link.text
    link.click()
    _wait(browser).until(EC.presence_of_element_located((By.ID, "ticket-id")))
    assert browser.find_element(By.ID, "ticket-id").text == tid
    assert browser.find_elements(By.CSS_SELECTOR, "#reasons-chart rect")
    assert browser.find_elements(By.CSS_SELECTOR, "#history-chart circle")
    assert browser.find_element(By.ID, "route").text
    assert browser.find_elements(By.CSS_SELECTOR, "#timeline li")
    assert console_errors() == []


def _sign_in(browser, url: str, key: str) -> None:
    browser.delete_all_cookies()
    browser.get(f"{url}/board/login")
    _wait(browser).until(EC.presence_of_element_located((By.ID, "key")))
    browser.find_element(By.ID, "key").send_keys(key)
    browser.find_element(By.ID, "sign-in").click()
    _wait(browser).until(EC.presence_of_element_located((By.ID, "queue-rows")))


def test_feedback_buttons_record_through_the_json_api(
    browser, keyed_live_url, keyed_demo, board_key, console_errors
):
    # Keys configured: the signed-in board's cookie must reach /v1/feedback itself.
    _sign_in(browser, keyed_live_url, board_key)
    tid = keyed_demo.ticket_ids[1]
    browser.get(f"{keyed_live_url}/board/ticket?id={_quote(tid)}")
    _wait(browser).until(EC.presence_of_element_located((By.ID, "ticket-id")))
    for button, said, escalated in (
        ("fb-false-alarm", "Recorded: false alarm", 0),
        ("fb-escalated", "Recorded: escalated", 1),
    ):
        text = f"board test: {button}"
        note = browser.find_element(By.ID, "feedback-note")
        note.clear()
        note.send_keys(text)
        browser.find_element(By.ID, button).click()
        _wait(browser).until(EC.text_to_be_present_in_element((By.ID, "feedback-status"), said))
        store = keyed_demo.service.store
        store.flush()
        fb = store.table("feedback").query("ticket_id == @tid and note == @text")
        assert list(fb["escalated"]) == [escalated], button
        if escalated:
            assert fb["escalated_at"].notna().all()
    sent = browser.execute_script(
        "return performance.getEntriesByType('resource')"
        ".filter(e => e.initiatorType === 'fetch').map(e => new URL(e.name).pathname)"
    )
    assert sent.count("/v1/feedback") == 2 and "/board/api/feedback" not in sent
    assert console_errors() == []
    browser.delete_all_cookies()


def test_hostile_text_is_shown_as_text(browser, live_url, demo, hostile, console_errors):
    browser.get(f"{live_url}/board")
    links = browser.find_elements(By.CSS_SELECTOR, "#queue-rows a.ticket-link")
    assert hostile["ticket_id"] in [a.text for a in links]
    browser.get(f"{live_url}/board/ticket?id={_quote(demo.hostile_id)}")
    _wait(browser).until(EC.presence_of_element_located((By.ID, "ticket-id")))
    assert browser.find_element(By.ID, "ticket-id").text == hostile["ticket_id"]
    body = browser.find_element(By.TAG_NAME, "body").text
    for field in ("account_id", "product_area", "plan", "team"):
        assert hostile[field] in body, field
    assert browser.execute_script("return window.__xss === undefined")
    assert browser.find_elements(By.TAG_NAME, "iframe") == []
    assert console_errors() == []


def test_sign_in_with_a_key(browser, keyed_live_url, board_key, console_errors):
    browser.delete_all_cookies()
    browser.get(f"{keyed_live_url}/board")
    _wait(browser).until(EC.presence_of_element_located((By.ID, "key")))
    assert "/board/login" in browser.current_url
    browser.find_element(By.ID, "key").send_keys(board_key)
    browser.find_element(By.ID, "sign-in").click()
    _wait(browser).until(EC.presence_of_element_located((By.ID, "queue-rows")))
    cookie = browser.get_cookie("board_key")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert browser.execute_script("return document.cookie") == ""  # scripts never see the key
    assert console_errors() == []


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")
