"""POST /v1/score and /v1/score/batch: the answer, parity with the batch pipeline, bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from features.pipeline import build_feature_table
from features.registry import FEATURE_NAMES
from features.text import SignalCache
from models.registry import load_registered
from serving.main import create_app


def test_score_answers_everything_the_issue_asks(client, dataset, ticket_body, open_snapshot):
    tid, as_of = open_snapshot(6)
    r = client.post("/v1/score", json=ticket_body(dataset, tid, as_of))
    assert r.status_code == 200, r.text
    body = r.json()
    assert 0.0 <= body["probability"] <= 1.0
    assert body["band"] in ("low", "watch", "high", "critical")
    d = body["decision"]
    assert d["action"] in ("none", "watch", "escalate")
    assert d["route_to"] in ("tier1", "tier2", "tier3", "executive")
    assert body["severity"]["level"] in ("P1", "P2", "P3")
    assert body["severity"]["respond_within_minutes"] in (30, 120, 480)
    assert body["sla"]["priority"] in ("P1", "P2", "P3")
    assert body["escalation_type"] in (
        "billing_dispute",
        "technical_failure",
        "contract_legal",
        "security",
        "other",
    )
    # Reasons: TreeSHAP contributions, strongest first, in words.
    ups = [x["contribution"] for x in body["reasons"]]
    assert ups == sorted(ups, reverse=True) and all(c > 0 for c in ups)
    assert all(x["text"] for x in body["reasons"] + body["mitigating"])
    brief = body["brief"]
    assert brief["customer"]["account_id"]
    assert brief["timeline"][0]["what"] == "ticket created"
    model = client.get("/v1/model").json()
    assert body["model"]["version"] == model["version"]
    assert body["model"]["policy_version"] == model["policy_version"]
    assert model["source"] == "registry"


def test_api_equals_batch_pipeline(client, registry, dataset, text_scorer, ticket_body):
    """A few hundred snapshots: the API's probability equals the batch pipeline's (1e-6)."""
    table = build_feature_table(dataset, text_scorer, SignalCache(None))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", registry.tracking_uri)
        reg = load_registered(f"models:/{registry.model}@champion")
    batch = reg.predict_proba(table)
    rng = np.random.default_rng(0)
    picks = rng.choice(len(table), 250, replace=False)
    diffs = []
    for i in picks:
        tid, as_of = table.loc[i, "ticket_id"], table.loc[i, "as_of"]
        r = client.post("/v1/score", json=ticket_body(dataset, tid, as_of))
        assert r.status_code == 200, r.text
        diffs.append(abs(r.json()["probability"] - batch[i]))
    assert max(diffs) <= 1e-6


def test_a_new_ticket_id_changes_nothing(
    make_settings, boot, tmp_path, dataset, ticket_body, open_snapshot
):
    """The id is a name, never a signal: the same ticket under two unseen ids, each sent to its
    own service over the same backfilled store, answers the same.

    (On one service the second id would see the first as another open ticket of the account:
    the store keeps every ticket it scored, as a live desk's context should.)
    """
    tid, as_of = open_snapshot(5)
    body = ticket_body(dataset, tid, as_of)
    answers = []
    for name in ("never-seen-before", "Z-0000001"):
        svc = boot(make_settings(tmp_path / name))
        try:
            with TestClient(create_app(service=svc, background=False)) as c:
                body["ticket"]["ticket_id"] = name
                answers.append(c.post("/v1/score", json=body).json())
        finally:
            svc.store.close()
    assert answers[1]["probability"] == pytest.approx(answers[0]["probability"], abs=1e-12)
    assert answers[1]["decision"] == answers[0]["decision"]


def test_batch_scores_like_single_calls(client, dataset, ticket_body):
    ids = dataset.tickets["ticket_id"].iloc[:3]
    items = []
    for tid in ids:
        ts = dataset.events.loc[dataset.events["ticket_id"] == tid, "ts"].min()
        items.append(ticket_body(dataset, tid, ts + pd.Timedelta(minutes=1)))
    r = client.post("/v1/score/batch", json={"items": items})
    assert r.status_code == 200, r.text
    single = [client.post("/v1/score", json=it).json()["probability"] for it in items]
    batch = [x["probability"] for x in r.json()["results"]]
    assert batch == pytest.approx(single, abs=1e-12)
    assert [x["ticket_id"] for x in r.json()["results"]] == list(ids)
    assert r.json()["model"]["version"] == r.json()["results"][0]["model"]["version"]


# -------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_rejected(client, valid_body, assert_error, value):
    valid_body["account"]["arr"] = 1.0
    payload = json.dumps(valid_body).replace('"arr": 1.0', f'"arr": {value}')
    r = client.post("/v1/score", content=payload, headers={"content-type": "application/json"})
    assert_error(r, 422, "account.arr")


def test_inconsistent_times_are_named(client, valid_body, assert_error):
    early = dict(valid_body, as_of="2001-01-01T00:00:00+00:00")
    assert_error(client.post("/v1/score", json=early), 422, "as_of")
    late_event = json.loads(json.dumps(valid_body))
    late_event["events"][0]["ts"] = "2099-01-01T00:00:00+00:00"
    assert_error(client.post("/v1/score", json=late_event), 422, "events[0].ts")
    naive = json.loads(json.dumps(valid_body))
    naive["events"][0]["ts"] = "2026-01-05T10:00:00"
    assert_error(client.post("/v1/score", json=naive), 422, "events[0].ts")


def test_event_fields_required_by_type(client, valid_body, assert_error):
    valid_body["events"].append(
        {"ts": valid_body["as_of"], "event_type": "assignment", "actor": "system", "tier": 2}
    )
    err = assert_error(client.post("/v1/score", json=valid_body), 422)
    assert "team" in json.dumps(err)


def test_oversized_strings_and_lists(client, valid_body, service, assert_error):
    long_text = json.loads(json.dumps(valid_body))
    long_text["events"][0]["text"] = "x" * 20_001
    assert_error(client.post("/v1/score", json=long_text), 422, "events[0].text")
    many = json.loads(json.dumps(valid_body))
    many["events"] = many["events"] * 400
    assert_error(client.post("/v1/score", json=many), 422, "events")
    items = [valid_body] * (service.settings.max_batch + 1)
    assert_error(client.post("/v1/score/batch", json={"items": items}), 422, "items")


def test_a_bad_batch_item_is_named(client, valid_body, assert_error):
    late = json.loads(json.dumps(valid_body))
    late["events"][0]["ts"] = "2099-01-01T00:00:00+00:00"
    r = client.post("/v1/score/batch", json={"items": [valid_body, late]})
    assert_error(r, 422, "items[1].events[0].ts")


def test_scored_rows_feed_the_drift_monitor(service, client, valid_body):
    before = len(service.drift.recent())
    answer = client.post("/v1/score", json=valid_body).json()
    recent = service.drift.recent()
    assert len(recent) == min(before + 1, service.drift.window)
    last = recent.iloc[-1]
    assert last["score"] == pytest.approx(answer["probability"])
    assert set(FEATURE_NAMES) <= set(recent.columns)
    # The test model has no drift reference: drift is unknown (-1), never invented.
    snap = service.drift.publish(service.metrics, service.settings.store_path)
    assert snap["status"] is None
    assert "escalation_drift_status -1.0" in client.get("/metrics").text
