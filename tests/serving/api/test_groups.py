"""``GET /v1/groups``: the store's recent escalations and at-risk tickets, grouped.

A real store (SQLite) written through its public methods (the event log as the events endpoint
writes it, scores, feedback); the MiniLM embedder is swapped for the deterministic hashing one,
so no model is loaded.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from models.grouping import HashingEmbedder
from serving.api.routes.groups import get_embedder
from serving.core.config import Settings
from serving.main import create_app
from serving.services.service import Service
from serving.services.store import Store
from serving.services.store.log import LoggedEvent

T0 = pd.Timestamp("2026-03-02 09:00", tz="UTC")
OUTAGE = "Dashboard reports time out with gateway errors for every user"
OTHER = [
    "We were charged twice on invoice INV-20391, please refund the duplicate",
    "How do I add a new admin to our workspace settings",
    "Webhook deliveries to our endpoint stopped after the certificate change",
    "Password reset emails never arrive for our new hires",
]


def _us(t: pd.Timestamp) -> int:
    return int(t.value // 1000)


def _log_ticket(
    store: Store, tid: str, acc: str, area: str, at: pd.Timestamp, text: str, closed: bool = False
) -> None:
    event = {"ts": at.isoformat(), "event_type": "customer_message", "actor": "customer"}
    event |= {"text": text, "event_id": f"{tid}-1"}
    events = [
        LoggedEvent(
            f"{tid}-1", _us(at), "customer_message", None, None, None, -0.5, json.dumps(event)
        )
    ]
    if closed:
        end = at + pd.Timedelta(days=1)
        close = {"ts": end.isoformat(), "event_type": "status_change", "actor": "agent"}
        close |= {"status": "closed", "event_id": f"{tid}-2"}
        events.append(
            LoggedEvent(
                f"{tid}-2",
                _us(end),
                "status_change",
                None,
                None,
                "closed",
                None,
                json.dumps(close),
            )
        )
    store.append_events(
        tid,
        (tid, acc, _us(at), "email", area, "P2"),
        (acc, 100_000.0, "pro", 0, "EMEA", None, None, None),
        json.dumps({"ticket": {"ticket_id": tid, "subject": None}}),
        events,
    )


@pytest.fixture
def client(tmp_path):
    store = Store(tmp_path / "serving.db")
    # Six tickets of one incident in reporting within two hours, each from another account.
    for i in range(6):
        at = T0 + pd.Timedelta(minutes=20 * i)
        text = OUTAGE if i != 5 else OUTAGE + ". Reach me at jane.doe@example.com"
        _log_ticket(store, f"out-{i}", f"acc-{i}", "reporting", at, text)
        store.record_score([(f"out-{i}", at, 0.7, "escalate", "1", "p-1")])
    # Unrelated tickets, escalated or at risk, in other areas or times.
    for i, text in enumerate(OTHER):
        at = T0 + pd.Timedelta(hours=3 * i)
        _log_ticket(store, f"oth-{i}", "acc-big", ["billing", "admin", "webhooks", "auth"][i], at, text)  # fmt: skip
        store.record_score([(f"oth-{i}", at, 0.6, "watch", "1", "p-1")])
    # The same incident text a month earlier, escalated and closed: outside the lookback.
    _log_ticket(store, "old-0", "acc-0", "reporting", T0 - pd.Timedelta(days=30), OUTAGE, True)
    store.record_feedback(
        {"ticket_id": "old-0", "escalated": True, "escalated_at": T0 - pd.Timedelta(days=30)}
    )
    # A ticket scored but never logged: no text to group by.
    store.record_ticket(
        pd.DataFrame({"account_id": ["acc-9"], "arr": [1.0], "plan": [None], "strategic": [False],
                      "region": [None], "industry": [None], "created_at": [pd.NaT],
                      "renewal_date": [pd.NaT]}),
        pd.DataFrame({"ticket_id": ["blank"], "account_id": ["acc-9"], "created_at": [T0],
                      "channel": [None], "product_area": ["reporting"], "priority": ["P2"]}),
        pd.DataFrame({"ticket_id": ["blank"], "ts": [T0], "event_type": ["customer_message"],
                      "agent_id": [None], "team": [None], "status": [None], "sentiment": [-0.2]}),
    )  # fmt: skip
    store.record_score([("blank", T0, 0.9, "escalate", "1", "p-1")])
    store.flush()
    settings = Settings(_env_file=None, store_path=tmp_path / "serving.db")
    svc = Service(settings, store=store)
    app = create_app(service=svc, background=False)
    app.dependency_overrides[get_embedder] = HashingEmbedder
    with TestClient(app) as c:
        yield c
    store.close()


def test_one_incident_one_group(client):
    r = client.get("/v1/groups")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["candidates"] == 11  # 6 + 4 at risk, the text-less one; not the old escalation
    assert body["without_text"] == 1
    assert len(body["groups"]) == 1
    g = body["groups"][0]
    assert g["tickets"] == [f"out-{i}" for i in range(6)]
    assert g["accounts"] == [f"acc-{i}" for i in range(6)]
    assert g["arr_at_stake"] == 600_000.0
    assert g["product_area"] == "reporting"
    assert g["at_risk"] == 6 and g["open"] == 6
    assert pd.Timestamp(g["first_seen"]) == T0
    assert pd.Timestamp(g["last_seen"]) == T0 + pd.Timedelta(minutes=100)
    assert {"dashboard", "reports", "gateway"} & set(g["keywords"])
    assert g["central_message"] in (OUTAGE, OUTAGE + ". Reach me at [email]")


def test_no_email_in_the_answer(client):
    text = client.get("/v1/groups", params={"min_size": 2}).text
    assert "jane.doe@example.com" not in text


def test_as_of_and_window(client):
    # A month back, the old escalation is the only candidate: no group of three.
    at = (T0 - pd.Timedelta(days=29)).isoformat()
    body = client.get("/v1/groups", params={"as_of": at}).json()
    assert body["candidates"] == 1 and body["groups"] == []
    # A window shorter than the incident's spread splits it.
    body = client.get("/v1/groups", params={"window_hours": 0.5, "min_size": 2}).json()
    assert all(g["size"] < 6 for g in body["groups"])


@pytest.mark.parametrize(
    "params",
    [
        {"as_of": "2026-03-02T09:00:00"},
        {"as_of": "0001-01-01T00:00:00Z"},
        {"lookback_hours": 0},
        {"lookback_hours": "nan"},
        {"min_size": 1},
        {"as_of": "soon"},
    ],
)
def test_bad_query_is_a_clear_error(client, params):
    r = client.get("/v1/groups", params=params)
    assert r.status_code == 422
    body = r.json()
    assert set(body) == {"error", "message", "details"} and "Traceback" not in r.text
    assert "soon" not in r.text


def test_an_empty_store_has_no_groups(tmp_path):
    store = Store(tmp_path / "s.db")
    svc = Service(Settings(_env_file=None, store_path=tmp_path / "s.db"), store=store)
    app = create_app(service=svc, background=False)
    app.dependency_overrides[get_embedder] = HashingEmbedder
    with TestClient(app) as c:
        r = c.get("/v1/groups")
    store.close()
    assert r.status_code == 200, r.text
    assert r.json()["candidates"] == 0 and r.json()["groups"] == []


def test_without_the_text_model_it_is_not_ready(tmp_path):
    store = Store(tmp_path / "s.db")
    svc = Service(Settings(_env_file=None, store_path=tmp_path / "s.db"), store=store)
    with TestClient(create_app(service=svc, background=False)) as c:
        r = c.get("/v1/groups")
    store.close()
    assert r.status_code == 503 and r.json()["error"] == "not_ready"
