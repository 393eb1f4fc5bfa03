"""The board over HTTP (TestClient): ranking, filters, paging, access, escaping, headers."""

from __future__ import annotations

import pandas as pd
import pytest
from markupsafe import escape

from serving.board.router import CSP

# The board's own small registry (see conftest.py) trains into MLflow.
pytestmark = pytest.mark.mlflow


def test_queue_json_is_ranked_by_risk_and_lists_only_open_tickets(board_client, demo):
    r = board_client.get("/board/api/queue", params={"size": 100})
    assert r.status_code == 200, r.text
    q = r.json()
    probs = [r["probability"] for r in q["rows"]]
    assert probs == sorted(probs, reverse=True)
    assert [r["rank"] for r in q["rows"]] == list(range(1, len(probs) + 1))
    assert q["total_open"] == q["matching"] == len(q["rows"]) > 5
    assert all(r["status"] not in ("solved", "closed") for r in q["rows"])
    demo.service.store.flush()
    store_scores = demo.service.store.table("scores")
    assert {r["ticket_id"] for r in q["rows"]} <= set(store_scores["ticket_id"])
    assert demo.hostile_id in {r["ticket_id"] for r in q["rows"]}
    # The latest answer of each ticket.
    latest = store_scores.sort_values("id").groupby("ticket_id").last()
    for r in q["rows"]:
        assert r["probability"] == latest.loc[r["ticket_id"], "probability"]
        assert r["action"] == latest.loc[r["ticket_id"], "action"]


def test_band_comes_from_the_served_policy(board_client, demo):
    policy = demo.service.manager.current.policy
    for r in board_client.get("/board/api/queue", params={"size": 100}).json()["rows"]:
        assert r["band"] == policy.band(r["probability"], r["segment"] == "strategic")


def test_filters_keep_only_matching_rows(board_client):
    every = board_client.get("/board/api/queue", params={"size": 100}).json()
    for name in ("team", "tier", "segment"):
        for value in every["options"][name]:
            got = board_client.get("/board/api/queue", params={name: value, "size": 100}).json()
            expected = [r["ticket_id"] for r in every["rows"] if r[name] == value]
            assert [r["ticket_id"] for r in got["rows"]] == expected, (name, value)
    band = every["rows"][0]["band"]
    got = board_client.get("/board/api/queue", params={"band": band, "size": 100}).json()
    assert got["rows"] and all(r["band"] == band for r in got["rows"])


def test_paging_splits_the_ranking(board_client):
    every = board_client.get("/board/api/queue", params={"size": 100}).json()["rows"]
    first = board_client.get("/board/api/queue", params={"size": 25, "page": 1}).json()
    assert first["pages"] == -(-len(every) // 25)
    assert [r["ticket_id"] for r in first["rows"]] == [r["ticket_id"] for r in every[:25]]


def test_bad_filter_values_are_refused_without_echo(board_client, assert_error):
    r = board_client.get("/board/api/queue", params={"band": "<script>x</script>"})
    assert_error(r, 422, where="band", secret="<script>")
    assert_error(board_client.get("/board/api/queue", params={"size": 7}), 422, where="size")


def test_pages_carry_a_content_security_policy(board_client, demo):
    for path in ("/board", f"/board/ticket?id={demo.ticket_ids[0]}", "/board/login"):
        r = board_client.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-security-policy"] == CSP
        assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP
        assert r.headers["x-content-type-options"] == "nosniff"


def test_hostile_text_is_escaped_in_every_page(board_client, demo, hostile):
    pages = [
        board_client.get("/board").text,
        board_client.get("/board/ticket", params={"id": demo.hostile_id}).text,
    ]
    for text in pages:
        for value in (hostile["ticket_id"], hostile["product_area"], hostile["plan"]):
            assert value not in text
        assert "<script>window.__xss" not in text and "onerror=window" not in text.replace(
            "onerror=window.__xss=1&gt;", ""
        )
    ticket = pages[1]
    assert escape(hostile["team"]) in ticket  # shown, as text
    assert escape(hostile["account_id"]) in ticket


def test_ticket_view_explains_the_latest_answer(board_client, demo):
    tid = demo.ticket_ids[0]
    r = board_client.get("/board/ticket", params={"id": tid})
    assert r.status_code == 200
    assert 'id="reasons-chart"' in r.text and 'id="history-chart"' in r.text
    history = demo.service.store.table("scores").query("ticket_id == @tid")
    assert r.text.count('<circle cx="') == len(history)


def test_unknown_ticket_is_a_404_page(board_client):
    r = board_client.get("/board/ticket", params={"id": "no-such-ticket"})
    assert r.status_code == 404 and "No such ticket" in r.text


def test_feedback_is_recorded_in_the_store(board_client, demo, hostile):
    tid = demo.ticket_ids[1]
    r = board_client.post(
        "/board/api/feedback",
        json={"ticket_id": tid, "escalated": False, "note": hostile["note"]},
        headers={"X-Board": "1"},
    )
    assert r.status_code == 202, r.text
    demo.service.store.flush()
    fb = demo.service.store.table("feedback").query("ticket_id == @tid")
    assert hostile["note"] in list(fb["note"])
    assert list(fb.loc[fb["note"] == hostile["note"], "escalated"]) == [0]
    page = board_client.get("/board/ticket", params={"id": tid}).text
    assert hostile["note"] not in page and escape(hostile["note"]) in page


def test_feedback_needs_the_board_header_and_valid_fields(board_client, assert_error):
    body = {"ticket_id": "x", "escalated": False}
    assert_error(board_client.post("/board/api/feedback", json=body), 403)
    r = board_client.post(
        "/board/api/feedback",
        json={"ticket_id": "x", "escalated": "maybe"},
        headers={"X-Board": "1"},
    )
    assert_error(r, 422, secret="maybe")
    r = board_client.post("/board/api/feedback", content=b"{not json", headers={"X-Board": "1"})
    assert_error(r, 422)


def test_nothing_is_served_without_a_key_when_keys_are_configured(keyed_client, keyed_demo):
    keyed_client.cookies.clear()
    tid = keyed_demo.ticket_ids[0]
    for path in ("/board", f"/board/ticket?id={tid}"):
        r = keyed_client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/board/login?next=")
        assert tid not in r.text
    for path in ("/board/api/queue", "/board/api/version"):
        assert keyed_client.get(path).status_code == 401
    r = keyed_client.post(
        "/board/api/feedback",
        json={"ticket_id": tid, "escalated": False},
        headers={"X-Board": "1"},
    )
    assert r.status_code == 401


def test_login_sets_a_strict_httponly_cookie(keyed_client, board_key):
    keyed_client.cookies.clear()
    r = keyed_client.post(
        "/board/login",
        content=b"key=wrong-key-0123456789abcdef&next=%2Fboard",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 401 and "not valid" in r.text and "set-cookie" not in r.headers
    r = keyed_client.post(
        "/board/login",
        content=f"key={board_key}&next=%2Fboard".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/board"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/board" in cookie
    assert keyed_client.get("/board").status_code == 200
    keyed_client.cookies.clear()
    assert keyed_client.get("/board", headers={"X-API-Key": board_key}).status_code == 200


def test_login_never_redirects_off_the_board(keyed_client, board_key):
    for target in ("https://evil.example/", "//evil.example/board", "/v1/model"):
        r = keyed_client.post(
            "/board/login",
            content=f"key={board_key}&next={target}".encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            follow_redirects=False,
        )
        assert r.headers["location"] == "/board"
    keyed_client.cookies.clear()


def test_queue_follows_a_new_score_and_its_version(board_client, demo, board_dataset, ticket_body):
    before = board_client.get("/board/api/queue", params={"size": 100}).json()
    shown = {r["ticket_id"] for r in before["rows"]}
    scored = set(demo.service.store.table("scores")["ticket_id"])
    tid = next(t for t in board_dataset.tickets["ticket_id"] if t not in scored | shown)
    ts = board_dataset.events.loc[board_dataset.events["ticket_id"] == tid, "ts"].min()
    body = ticket_body(board_dataset, tid, ts + pd.Timedelta(minutes=5))
    answer = board_client.post("/v1/score", json=body).json()
    demo.service.store.flush()
    assert board_client.get("/board/api/version").json()["version"] > before["version"]
    after = board_client.get("/board/api/queue", params={"size": 100}).json()
    row = next(r for r in after["rows"] if r["ticket_id"] == tid)
    assert row["probability"] == answer["probability"] and row["n_scores"] == 1
    assert after["total_open"] == before["total_open"] + 1
