"""Alert delivery against a real HTTP receiver on 127.0.0.1 that fails on purpose: retries with
back-off, the dead-letter table, one delivery per alert across a restart and two workers."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from serving.core.config import Settings
from serving.services.alerts import ALERT_HEADER, AlertDispatcher, alert_body, slack_body
from serving.services.store import Store


class Receiver:
    """A webhook receiver: answers 500 to the first ``fail_first`` calls (or to all with
    ``always_fail``), 200 after; records every call it answered 200 to."""

    def __init__(self, fail_first: int = 0, always_fail: bool = False) -> None:
        self.fail_first, self.always_fail = fail_first, always_fail
        self.calls: list[dict] = []
        self.ok: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with receiver.lock:
                    receiver.calls.append(body)
                    fail = receiver.always_fail or len(receiver.calls) <= receiver.fail_first
                    if not fail:
                        receiver.ok.append({"alert": self.headers[ALERT_HEADER], "body": body})
                self.send_response(500 if fail else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def make(**kw) -> Receiver:
        made.append(Receiver(**kw))
        return made[-1]

    yield make
    for r in made:
        r.close()


SCORE = {
    "ticket_id": "T-1",
    "as_of": "2026-03-02T10:00:00+00:00",
    "probability": 0.81,
    "band": "critical",
    "decision": {
        "action": "escalate",
        "route_to": "tier2",
        "executive": False,
        "kind": "hierarchical",
        "team": None,
        "why": "probability above the escalate threshold",
    },
    "severity": {
        "level": "P1",
        "respond_within_minutes": 30,
        "respond_by": "2026-03-02T10:30:00+00:00",
        "minutes_left": 30.0,
    },
    "escalation_type": "billing_dispute",
    "triggers": [],
    "reasons": [{"feature": "x", "value": 1.0, "contribution": 0.5, "text": "the customer waits"}],
    "brief": {"customer": {}, "timeline": [], "artifacts": [], "risk_indicators": []},
    "model": {"name": "m", "version": "3", "policy_version": "p1", "source": "registry"},
}


def _settings(tmp: Path, hooks: list[str], slack: list[str] = (), **kw) -> Settings:
    base = {
        "store_path": tmp / "serving.db",
        "alert_webhooks": hooks,
        "alert_slack_webhooks": list(slack),
        "alert_backoff_seconds": 0.01,
        "alert_backoff_max_seconds": 0.04,
        "alert_max_attempts": 4,
        "alert_timeout_seconds": 5,
    }
    base.update(kw)
    return Settings(_env_file=None, **base)


def _raise(store: Store, settings: Settings, ticket: str = "T-1", policy: str = "p1") -> bool:
    body = alert_body({**SCORE, "ticket_id": ticket}, "ACME")
    to = [(u, "generic") for u in settings.alert_webhooks] + [
        (u, "slack") for u in settings.alert_slack_webhooks
    ]
    return store.raise_alert(
        ticket, policy, "ACME", "escalate", 0.81, "3", 0, json.dumps(body), to
    )


def _drain(dispatcher: AlertDispatcher, wait_until, done) -> None:
    def step() -> bool:
        dispatcher.run_once()
        return done()

    wait_until(step, "the alert deliveries", timeout=30)


def test_a_failing_receiver_gets_the_alert_after_retries(tmp_path, receiver, wait_until):
    hook = receiver(fail_first=2)
    settings = _settings(tmp_path, [hook.url])
    store = Store(settings.store_path)
    assert _raise(store, settings) is True
    assert _raise(store, settings) is False  # one alert per ticket and policy version
    d = AlertDispatcher(store, settings, worker="w1")
    _drain(d, wait_until, lambda: len(hook.ok) == 1)
    assert len(hook.calls) == 3
    row = store.table("alert_deliveries").iloc[0]
    assert (row["state"], row["attempts"]) == ("sent", 3)
    assert hook.ok[0]["alert"] == "1"
    sent = hook.ok[0]["body"]
    assert (sent["ticket_id"], sent["action"], sent["alert_id"]) == ("T-1", "escalate", 1)
    assert sent["brief"] == SCORE["brief"] and sent["reasons"] == SCORE["reasons"]
    d.run_once()
    assert len(hook.calls) == 3  # nothing more to send
    store.close()


def test_back_off_doubles_up_to_its_cap(tmp_path):
    d = AlertDispatcher(
        None, _settings(tmp_path, [], alert_backoff_seconds=2.0, alert_backoff_max_seconds=10.0)
    )
    assert [d.backoff(n) for n in (1, 2, 3, 4, 5)] == [2.0, 4.0, 8.0, 10.0, 10.0]


def test_a_receiver_that_never_answers_ok_ends_in_the_dead_letters(tmp_path, receiver, wait_until):
    hook = receiver(always_fail=True)
    settings = _settings(tmp_path, [hook.url])
    store = Store(settings.store_path)
    _raise(store, settings)
    d = AlertDispatcher(store, settings, worker="w1")
    _drain(d, wait_until, lambda: store.count("alert_dead_letters") == 1)
    assert len(hook.calls) == settings.alert_max_attempts
    dead = store.table("alert_dead_letters").iloc[0]
    assert (dead["target"], dead["attempts"], dead["last_error"]) == (hook.url, 4, "HTTP 500")
    assert store.table("alert_deliveries").iloc[0]["state"] == "dead"
    d.run_once()
    assert len(hook.calls) == settings.alert_max_attempts
    store.close()


def test_an_unreachable_webhook_is_retried_then_dead(tmp_path, wait_until):
    settings = _settings(tmp_path, ["http://127.0.0.1:9/hook"], alert_max_attempts=2)
    store = Store(settings.store_path)
    _raise(store, settings)
    _drain(AlertDispatcher(store, settings), wait_until, lambda: store.count("alert_dead_letters"))
    assert store.table("alert_dead_letters").iloc[0]["last_error"].startswith("URLError")
    store.close()


def test_a_restart_sends_nothing_twice(tmp_path, receiver, wait_until):
    hook = receiver()
    settings = _settings(tmp_path, [hook.url])
    store = Store(settings.store_path)
    for t in ("T-1", "T-2", "T-3"):
        _raise(store, settings, t)
    _drain(AlertDispatcher(store, settings), wait_until, lambda: len(hook.ok) == 3)
    store.close()
    again = Store(settings.store_path)  # a restarted worker over the same store
    assert _raise(again, settings, "T-1") is False
    _raise(again, settings, "T-1", policy="p2")  # a new policy version alerts once more
    _drain(AlertDispatcher(again, settings), wait_until, lambda: len(hook.ok) == 4)
    AlertDispatcher(again, settings).run_once()
    assert sorted((c["body"]["ticket_id"]) for c in hook.ok) == ["T-1", "T-1", "T-2", "T-3"]
    assert len(hook.calls) == 4
    again.close()


def test_two_workers_deliver_each_alert_once(tmp_path, receiver, wait_until):
    hook = receiver(fail_first=5)
    slack = receiver()
    settings = _settings(tmp_path, [hook.url], [slack.url])
    stores = [Store(settings.store_path), Store(settings.store_path)]
    n = 40
    for i in range(n):
        _raise(stores[i % 2], settings, f"T-{i}")
    workers = [AlertDispatcher(s, settings, worker=f"w{k}") for k, s in enumerate(stores)]
    stop = threading.Event()
    threads = [threading.Thread(target=w.loop, args=(stop,), daemon=True) for w in workers]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: len(hook.ok) == n and len(slack.ok) == n, "both webhooks", 60)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    assert sorted(int(c["alert"]) for c in hook.ok) == list(range(1, n + 1))
    assert sorted(int(c["alert"]) for c in slack.ok) == list(range(1, n + 1))
    assert len(hook.calls) == n + 5 and len(slack.calls) == n
    assert all(set(c["body"]) == {"text", "blocks"} for c in slack.ok)
    states = stores[0].table("alert_deliveries")
    assert (states["state"] == "sent").all() and len(states) == 2 * n
    for s in stores:
        s.close()


def test_the_slack_body_names_ticket_action_and_reasons():
    msg = slack_body(alert_body(SCORE, "ACME"))
    assert msg["text"].startswith("ESCALATE: ticket T-1")
    assert "the customer waits" in json.dumps(msg["blocks"])


def _events_of(data, tid: str, until=None) -> list[dict]:
    ev = data.events[data.events["ticket_id"] == tid]
    if until is not None:
        ev = ev[ev["ts"] < until]
    out = []
    for i, r in enumerate(ev.to_dict("records")):
        e = {k: v for k, v in r.items() if k != "ticket_id" and not _missing(v)}
        e = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in e.items()}
        out.append({k: (v.item() if hasattr(v, "item") else v) for k, v in e.items()})
        out[-1]["event_id"] = f"{tid}-{i}"
    return out


def _missing(v) -> bool:
    import pandas as pd

    return v is None or (not isinstance(v, str) and bool(pd.isna(v)))


def test_the_service_alerts_once_per_ticket_that_rises_to_escalate(
    make_settings, boot, dataset, ticket_body, receiver, tmp_path, wait_until
):
    """Tickets that escalated, sent through the events endpoint up to their escalation, then
    one event more: every ticket whose answer said escalate has one alert, delivered once."""
    from fastapi.testclient import TestClient

    from serving.main import create_app

    hook = receiver(fail_first=1)
    svc = boot(make_settings(tmp_path, alert_webhooks=[hook.url], alert_backoff_seconds=0.01))
    client = TestClient(create_app(service=svc, background=False))
    out = dataset.outcomes.dropna(subset=["escalated_at"]).head(30)
    escalated: set[str] = set()
    for tid, at in zip(out["ticket_id"], out["escalated_at"], strict=True):
        evs = _events_of(dataset, tid)
        before = _events_of(dataset, tid, at)
        if not before or len(before) == len(evs):
            continue
        head = {k: v for k, v in ticket_body(dataset, tid).items() if k in ("ticket", "account")}
        for body in ({**head, "events": before}, {"events": [evs[len(before)]]}):
            r = client.post(f"/v1/tickets/{tid}/events", json=body)
            assert r.status_code == 200, r.text
            if r.json()["decision"]["action"] == "escalate":
                escalated.add(tid)
    assert escalated, "no ticket reached escalate: the test would prove nothing"
    alerts = svc.store.table("alerts")
    assert sorted(alerts["ticket_id"]) == sorted(escalated)
    d = AlertDispatcher(svc.store, svc.settings)
    _drain(d, wait_until, lambda: len(hook.ok) == len(escalated))
    d.run_once()
    assert sorted(c["body"]["ticket_id"] for c in hook.ok) == sorted(escalated)
    assert all(c["body"]["brief"]["timeline"] for c in hook.ok)
    svc.store.close()
