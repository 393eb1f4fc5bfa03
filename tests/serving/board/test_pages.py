"""The board over HTTP (TestClient): ranking, filters, paging, access, escaping, headers."""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
import pytest
from markupsafe import escape

from features.schema import ESCALATION_TYPES
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


def test_queue_rows_carry_the_stored_answers_decision_fields(board_client, demo):
    demo.service.store.flush()
    scores = demo.service.store.table("scores").sort_values("id")
    latest = scores.groupby("ticket_id").last()
    rows = board_client.get("/board/api/queue", params={"size": 100}).json()["rows"]
    assert rows
    for r in rows:
        answer = json.loads(latest.loc[r["ticket_id"], "answer"])
        assert r["route_to"] == answer["decision"]["route_to"]
        assert r["route_team"] == answer["decision"]["team"]
        assert r["escalation_type"] == answer["escalation_type"]
        assert r["severity"] == answer["severity"]["level"] in ("P1", "P2", "P3")
        due = datetime.fromisoformat(answer["severity"]["respond_by"])
        assert r["severity_due"] == int(due.timestamp())
        top = answer["reasons"][0]["text"] if answer["reasons"] else None
        assert r["top_reason"] == top


def test_queue_page_shows_route_type_severity_and_top_reason(board_client):
    q = board_client.get("/board/api/queue", params={"size": 25}).json()
    page = board_client.get("/board", params={"size": 25}).text
    for r in q["rows"]:
        row = page[page.index(f'data-ticket="{escape(r["ticket_id"])}"') :]
        row = row[: row.index("</tr>")]
        assert f"→ {escape(r['route_to'])}" in row
        assert f'<span class="level {r["severity"]}">{r["severity"]}</span>' in row
        assert f'data-due="{r["severity_due"]}"' in row
        assert f'<td class="type">{r["escalation_type"].replace("_", " ")}</td>' in row
        if r["top_reason"]:
            assert f'<td class="reason">{escape(r["top_reason"])}</td>' in row


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
    types = {r["escalation_type"] for r in every["rows"]}
    assert every["options"]["type"] == list(ESCALATION_TYPES)
    for value in ESCALATION_TYPES:
        got = board_client.get("/board/api/queue", params={"type": value, "size": 100}).json()
        expected = [r["ticket_id"] for r in every["rows"] if r["escalation_type"] == value]
        assert [r["ticket_id"] for r in got["rows"]] == expected, value
        assert bool(expected) == (value in types)
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
    r = board_client.get("/board/api/queue", params={"type": "<b>nope</b>"})
    assert_error(r, 422, where="type", secret="<b>")


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


def test_ticket_view_shows_the_stored_answer_as_sent(
    board_client, demo, board_dataset, ticket_body, monkeypatch
):
    scored = set(demo.service.store.table("scores")["ticket_id"])
    tid = next(t for t in board_dataset.tickets["ticket_id"] if t not in scored)
    ts = board_dataset.events.loc[board_dataset.events["ticket_id"] == tid, "ts"].sort_values()
    body = ticket_body(board_dataset, tid, ts.iloc[min(2, len(ts) - 1)] + pd.Timedelta(minutes=3))
    answer = board_client.post("/v1/score", json=body).json()
    demo.service.store.flush()

    def no_scoring(*args, **kwargs):
        raise AssertionError("the ticket view scored the ticket again")

    served = demo.service.manager.current
    monkeypatch.setattr(served.model, "score", no_scoring)
    monkeypatch.setattr(demo.service.scorer, "score", no_scoring)
    page = board_client.get("/board/ticket", params={"id": tid}).text
    assert f'id="route">{escape(answer["decision"]["route_to"])}<' in page
    assert f'id="severity">{answer["severity"]["level"]}<' in page
    assert escape(answer["decision"]["why"]) in page
    assert escape(answer["escalation_type"].replace("_", " ")) in page
    for reason in answer["reasons"] + answer["mitigating"]:
        assert escape(reason["text"]) in page, reason["feature"]
    for line in answer["brief"]["risk_indicators"]:
        assert escape(line) in page
    for item in answer["brief"]["timeline"]:
        assert escape(item["what"]) in page


def test_a_score_stored_without_an_answer_still_shows(board_client, demo):
    """A score row from before the store kept answers: the queue shows dashes, the ticket
    view its risk, decision and history, and says where the rest went."""
    shown = board_client.get("/board/api/queue", params={"size": 100}).json()["rows"]
    tid = next(r["ticket_id"] for r in reversed(shown) if r["ticket_id"] != demo.hostile_id)
    demo.service.store.flush()
    last = demo.service.store.table("scores").query("ticket_id == @tid").iloc[-1]
    served = demo.service.manager.current
    demo.service.store.record_score(
        [(tid, last["as_of"], 0.42, "watch", served.version, served.policy.version)]
    )
    demo.service.store.flush()
    try:
        row = next(
            r
            for r in board_client.get("/board/api/queue", params={"size": 100}).json()["rows"]
            if r["ticket_id"] == tid
        )
        assert row["probability"] == 0.42
        assert row["route_to"] is row["severity"] is row["top_reason"] is None
        page = board_client.get("/board/ticket", params={"id": tid})
        assert page.status_code == 200
        assert "stored before the store kept answers" in page.text
        assert 'id="history-chart"' in page.text and 'id="reasons-chart"' not in page.text
        assert board_client.get("/board", params={"size": 100}).status_code == 200
    finally:  # the shared demo's latest answer again, with its body
        restored = (*last[["ticket_id", "as_of", "probability", "action"]], served.version)
        answer = json.loads(last["answer"])
        demo.service.store.record_score([(*restored, served.policy.version, answer)])
        demo.service.store.flush()


def test_unknown_ticket_is_a_404_page(board_client):
    r = board_client.get("/board/ticket", params={"id": "no-such-ticket"})
    assert r.status_code == 404 and "No such ticket" in r.text


def test_feedback_buttons_call_the_json_api(board_client, demo, hostile):
    tid = demo.ticket_ids[1]
    r = board_client.post(
        "/v1/feedback",
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
    # The board's own feedback route is gone: one way in, validated and redacted one way.
    assert board_client.post("/board/api/feedback", json={}).status_code in (404, 405)


def _signed_in(client, key: str) -> None:
    client.cookies.clear()
    r = client.post(
        "/board/login",
        content=f"key={key}&next=%2Fboard".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert r.status_code == 303


def test_feedback_takes_the_board_session_only_with_the_board_header(
    keyed_client, keyed_demo, board_key, assert_error
):
    tid = keyed_demo.ticket_ids[0]
    body = {"ticket_id": tid, "escalated": False, "note": "session feedback"}
    keyed_client.cookies.clear()
    assert_error(keyed_client.post("/v1/feedback", json=body, headers={"X-Board": "1"}), 401)
    _signed_in(keyed_client, board_key)
    # The cookie is sent to /v1/feedback (its second path) but alone it is a forgeable
    # credential: without the board script's header the call is refused.
    r = keyed_client.post("/v1/feedback", json=body)
    assert_error(r, 403)
    assert "X-Board" in r.json()["message"]
    r = keyed_client.post("/v1/feedback", json=body, headers={"X-Board": "1"})
    assert r.status_code == 202, r.text
    # The session cookie opens nothing else of the JSON API.
    assert keyed_client.get("/v1/model", headers={"X-Board": "1"}).status_code == 401
    keyed_client.cookies.clear()
    # An API client's header key needs no board header.
    r = keyed_client.post("/v1/feedback", json=body, headers={"X-API-Key": board_key})
    assert r.status_code == 202, r.text
    keyed_demo.service.store.flush()
    fb = keyed_demo.service.store.table("feedback").query("note == 'session feedback'")
    assert len(fb) == 2


def test_feedback_fields_are_validated_by_the_json_api(board_client, assert_error):
    r = board_client.post(
        "/v1/feedback", json={"ticket_id": "x", "escalated": "maybe"}, headers={"X-Board": "1"}
    )
    assert_error(r, 422, secret="maybe")
    r = board_client.post(
        "/v1/feedback", json={"ticket_id": "x", "escalated": True}, headers={"X-Board": "1"}
    )
    assert_error(r, 422)  # an escalation needs its time (the board's script sends now)


def test_nothing_is_served_without_a_key_when_keys_are_configured(keyed_client, keyed_demo):
    keyed_client.cookies.clear()
    tid = keyed_demo.ticket_ids[0]
    for path in ("/board", f"/board/ticket?id={tid}"):
        r = keyed_client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/board/login?next=")
        assert tid not in r.text
    for path in ("/board/api/queue", "/board/api/version"):
        assert keyed_client.get(path).status_code == 401


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
    cookies = [v.lower() for k, v in r.headers.multi_items() if k == "set-cookie"]
    assert sorted(c.split("path=")[1].split(";")[0] for c in cookies) == ["/board", "/v1/feedback"]
    assert all("httponly" in c and "samesite=strict" in c for c in cookies)
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


def test_the_stored_answer_is_redacted_as_the_answer_is(
    board_client, demo, board_dataset, ticket_body
):
    scored = set(demo.service.store.table("scores")["ticket_id"])
    tid = next(t for t in reversed(list(board_dataset.tickets["ticket_id"])) if t not in scored)
    ts = board_dataset.events.loc[board_dataset.events["ticket_id"] == tid, "ts"].min()
    body = ticket_body(board_dataset, tid, ts + pd.Timedelta(minutes=5))
    body["ticket"]["subject"] = "call me: jane.doe@example.com"
    answer = board_client.post("/v1/score", json=body).json()
    assert answer["brief"]["customer"]["subject"] == "call me: [email]"
    demo.service.store.flush()
    stored = demo.service.store.table("scores").query("ticket_id == @tid")["answer"].iloc[-1]
    assert "jane.doe" not in stored
    assert json.loads(stored)["brief"]["customer"]["subject"] == "call me: [email]"
