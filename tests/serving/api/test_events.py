"""``POST /v1/tickets/{id}/events``: events appended one request at a time answer what the batch
pipeline computes on the same events (replay parity), idempotently, in time order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from features.build import build_features
from features.catalogue.wording import is_missing
from features.registry import FEATURE_NAMES, reasons
from features.schema import SupportData, json_value, read_dataset
from features.text import attach_text_signals
from serving.main import create_app
from sources.synthetic.generate import GeneratorConfig, generate_dataset


def _head(data: SupportData, tid: str) -> dict:
    tk = data.tickets.set_index("ticket_id").loc[tid]
    acc = data.accounts.set_index("account_id").loc[tk["account_id"]]
    return {
        "ticket": {
            "ticket_id": tid,
            "created_at": tk["created_at"].isoformat(),
            "priority": tk["priority"],
            "channel": json_value(tk["channel"]),
            "product_area": json_value(tk["product_area"]),
            "subject": json_value(tk["subject"]),
        },
        "account": {
            "account_id": tk["account_id"],
            "arr": json_value(acc["arr"]),
            "plan": json_value(acc["plan"]),
            "strategic": bool(acc["strategic"]),
            "region": json_value(acc["region"]),
            "industry": json_value(acc["industry"]),
            "created_at": json_value(acc["created_at"]),
            "renewal_date": json_value(acc["renewal_date"]),
        },
    }


def _event(row: dict, event_id: str) -> dict:
    out = {
        k: json_value(v) for k, v in row.items() if k != "ticket_id" and json_value(v) is not None
    }
    return {**out, "event_id": event_id}


@pytest.fixture(scope="module")
def replay_data(tmp_path_factory) -> SupportData:
    """200 synthetic tickets over 10 days (seed 5): no two events share an instant."""
    out = tmp_path_factory.mktemp("replay")
    generate_dataset(
        GeneratorConfig(n_tickets=200, seed=5, days=10, truth_fraction=0.0), out, progress=False
    )
    data = read_dataset(out)
    assert not data.events["ts"].duplicated().any()
    return data


@pytest.fixture
def empty_service(make_settings, boot, tmp_path):
    """A service over the test model with an empty store (no backfill)."""
    svc = boot(make_settings(tmp_path, backfill_dir=None))
    assert svc.ready, svc.status()
    yield svc
    svc.store.close()


def _batch(data: SupportData, text_scorer, served, snaps: pd.DataFrame):
    """The batch pipeline's probabilities and reasons at ``snaps`` (ticket_id, as_of)."""
    ev = attach_text_signals(data.events, text_scorer)
    X = build_features(data.accounts, data.tickets, ev, snaps, None)
    proba, contrib = served.model.score(X[list(FEATURE_NAMES)])
    rows = [
        {k: (float("nan") if is_missing(v) else v) for k, v in r.items()}
        for r in X[list(FEATURE_NAMES)].to_dict("records")
    ]
    return proba, [reasons(r, c, up=5, down=2) for r, c in zip(rows, contrib, strict=True)]


def _subset(data: SupportData, n: int) -> SupportData:
    keep = data.tickets["ticket_id"].iloc[:n]
    tk = data.tickets[data.tickets["ticket_id"].isin(keep)]
    return SupportData(
        accounts=data.accounts[data.accounts["account_id"].isin(tk["account_id"])],
        tickets=tk,
        events=data.events[data.events["ticket_id"].isin(keep)],
        outcomes=None,
    )


def _replay(data: SupportData, svc, text_scorer, *others) -> tuple[list[dict], pd.DataFrame]:
    """Send every event alone, in time order across tickets (the ticket and account with its
    first), to ``svc`` or, given ``others``, to each service in turn (workers sharing one
    store); compare each answer with the batch pipeline at that event's instant."""
    served = svc.served()
    ev = data.events.sort_values("ts", kind="stable").reset_index(drop=True)
    sent: set[str] = set()
    got = []
    clients = [TestClient(create_app(service=s, background=False)) for s in (svc, *others)]
    for i, row in enumerate(ev.to_dict("records")):
        tid = row["ticket_id"]
        body = {"events": [_event(row, f"e{i}")]}
        if tid not in sent:
            body.update(_head(data, tid))
            sent.add(tid)
        r = clients[i % len(clients)].post(f"/v1/tickets/{tid}/events", json=body)
        assert r.status_code == 200, r.text
        got.append(r.json())
    snaps = pd.DataFrame({"ticket_id": ev["ticket_id"], "as_of": ev["ts"]})
    proba, why = _batch(data, text_scorer, served, snaps)
    p = np.array([g["probability"] for g in got])
    np.testing.assert_allclose(p, proba, rtol=0, atol=1e-6)
    for g, (up, down) in zip(got, why, strict=True):
        for mine, theirs in ((g["reasons"], up), (g["mitigating"], down)):
            assert [m["feature"] for m in mine] == [t["feature"] for t in theirs]
            for m, t in zip(mine, theirs, strict=True):
                assert m["contribution"] == pytest.approx(t["contribution"], abs=1e-6)
    assert svc.store.count("ticket_events") == len(ev)
    assert svc.store.count("events") == len(ev)
    return got, ev


@pytest.mark.slow
def test_a_short_replay_answers_the_batch_pipeline(replay_data, empty_service, text_scorer):
    got, ev = _replay(_subset(replay_data, 12), empty_service, text_scorer)
    assert len(got) == len(ev) > 100
    assert {g["decision"]["action"] for g in got} >= {"none"}


@pytest.mark.slow
def test_two_workers_on_one_store_answer_the_batch_pipeline(
    replay_data, empty_service, make_settings, boot, text_scorer, tmp_path
):
    """Events sent to two services over one store in turn: each sees the other's events."""
    other = boot(make_settings(tmp_path, backfill_dir=None))
    try:
        got, ev = _replay(_subset(replay_data, 10), empty_service, text_scorer, other)
        assert len(got) == len(ev) > 100
    finally:
        other.store.close()


@pytest.mark.slow
def test_a_restarted_service_continues_the_log(
    replay_data, make_settings, boot, text_scorer, tmp_path
):
    """A service restarted over its store answers the next events as if it had never stopped."""
    data = _subset(replay_data, 10)
    ev = data.events.sort_values("ts", kind="stable").reset_index(drop=True)
    cut = len(ev) // 2
    first = SupportData(data.accounts, data.tickets, ev.iloc[:cut], None)
    svc = boot(make_settings(tmp_path, backfill_dir=None))
    _replay_part(first, svc, 0)
    svc.store.close()
    again = boot(make_settings(tmp_path, backfill_dir=None))
    try:
        got = _replay_part(SupportData(data.accounts, data.tickets, ev, None), again, cut)
        snaps = pd.DataFrame({"ticket_id": ev["ticket_id"], "as_of": ev["ts"]}).iloc[cut:]
        proba, _ = _batch(data, text_scorer, again.served(), snaps)
        np.testing.assert_allclose([g["probability"] for g in got], proba, rtol=0, atol=1e-6)
        assert again.store.count("ticket_events") == len(ev)
    finally:
        again.store.close()


def _replay_part(data: SupportData, svc, start: int) -> list[dict]:
    """Send events ``start:`` of ``data`` (in time order) to ``svc``; the answers."""
    ev = data.events.sort_values("ts", kind="stable").reset_index(drop=True)
    seen = set(ev["ticket_id"].iloc[:start])
    got = []
    client = TestClient(create_app(service=svc, background=False))
    for i, row in enumerate(ev.to_dict("records")[start:], start):
        tid = row["ticket_id"]
        body = {"events": [_event(row, f"e{i}")]}
        if tid not in seen:
            body.update(_head(data, tid))
            seen.add(tid)
        r = client.post(f"/v1/tickets/{tid}/events", json=body)
        assert r.status_code == 200, r.text
        got.append(r.json())
    return got


@pytest.mark.slow
def test_replayed_events_answer_the_batch_pipeline(replay_data, empty_service, text_scorer):
    """Every event of 200 tickets (about 3,800) sent alone, in time order across tickets: each
    answer equals the batch features + model on the same events at that event's instant."""
    got, ev = _replay(replay_data, empty_service, text_scorer)
    assert len(got) == len(ev) > 3000


@pytest.fixture
def events_client(empty_service):
    with TestClient(create_app(service=empty_service, background=False)) as c:
        yield c


def _first(data: SupportData, k: int = 0) -> tuple[str, list[dict], dict]:
    tid = data.tickets["ticket_id"].iloc[k]
    rows = data.events[data.events["ticket_id"] == tid].to_dict("records")
    return tid, [_event(r, f"{tid}-{i}") for i, r in enumerate(rows)], _head(data, tid)


def test_a_repeated_event_is_a_no_op(replay_data, events_client):
    tid, evs, head = _first(replay_data)
    url = f"/v1/tickets/{tid}/events"
    r1 = events_client.post(url, json={**head, "events": evs[:3]})
    assert r1.status_code == 200 and r1.headers["X-Events-Appended"] == "3"
    r2 = events_client.post(url, json={"events": evs[2:3]})
    assert r2.status_code == 200, r2.text
    assert (r2.headers["X-Events-Appended"], r2.headers["X-Events-Duplicate"]) == ("0", "1")
    assert r2.json()["probability"] == r1.json()["probability"]
    assert r2.json()["as_of"] == r1.json()["as_of"] == evs[2]["ts"].replace("+00:00", "Z")


def test_events_out_of_order_or_reused_ids_are_refused_naming_the_event(
    replay_data, events_client, assert_error
):
    tid, evs, head = _first(replay_data, 1)
    url = f"/v1/tickets/{tid}/events"
    assert events_client.post(url, json={**head, "events": evs[:3]}).status_code == 200
    late = assert_error(
        events_client.post(url, json={"events": [evs[3], evs[1] | {"event_id": "x"}]}), 409
    )
    assert late["error"] == "event_refused" and late["message"].startswith(
        "events[1]: ts is earlier"
    )
    other = {**evs[2], "text": "a different text"}
    body = assert_error(events_client.post(url, json={"events": [other]}), 409, secret="different")
    assert body["message"].startswith("events[0]: event_id is already logged")
    assert events_client.post(url, json={"events": [evs[3]]}).status_code == 200


def test_a_ticket_must_come_with_its_first_events(replay_data, events_client, assert_error):
    tid, evs, head = _first(replay_data, 2)
    url = f"/v1/tickets/{tid}/events"
    body = assert_error(events_client.post(url, json={"events": evs[:1]}), 404)
    assert body["error"] == "unknown_ticket"
    assert_error(
        events_client.post("/v1/tickets/OTHER/events", json={**head, "events": evs[:1]}),
        422,
        "ticket.ticket_id",
    )
    assert_error(
        events_client.post(url, json={"ticket": head["ticket"], "events": evs[:1]}), 422, "account"
    )
    early = {**evs[0], "ts": "2020-01-01T00:00:00Z"}
    assert_error(events_client.post(url, json={**head, "events": [early]}), 422, "events[0].ts")
    future = {**evs[0], "ts": "2099-01-01T00:00:00Z"}
    assert_error(events_client.post(url, json={**head, "events": [future]}), 422, "events[0].ts")
    no_id = {k: v for k, v in evs[0].items() if k != "event_id"}
    assert_error(events_client.post(url, json={**head, "events": [no_id]}), 422, "event_id")
    assert_error(events_client.post(url, json={**head, "events": []}), 422, "events")
    assert events_client.post(url, json={**head, "events": evs[:1]}).status_code == 200


def test_a_forgotten_account_leaves_nothing_in_the_live_state(
    replay_data, empty_service, events_client
):
    tid, evs, head = _first(replay_data, 3)
    url = f"/v1/tickets/{tid}/events"
    assert events_client.post(url, json={**head, "events": evs[:3]}).status_code == 200
    removed = empty_service.store.forget_account(head["account"]["account_id"])
    assert removed["ticket_events"] == 3
    empty_service.refresh_context(force=True)  # what the service does after a purge
    assert events_client.post(url, json={"events": evs[3:4]}).status_code == 404
    again = events_client.post(url, json={**head, "events": evs[3:4]})
    assert again.status_code == 200
    assert empty_service.store.ticket_log(tid)[1][0][2] == evs[3]["event_id"]
    assert len(empty_service._ticket(tid).events) == 1
