"""The scoring API: responses, parity with the batch pipeline, bad input, auth, readiness."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from features.pipeline import build_feature_table
from features.text import SignalCache
from models.registry import load_registered
from serving.app import Service, create_app

from .conftest import MODEL, ticket_request  # noqa: TID252

SECRET = "Jane Roe, card 4111-1111-1111-1111"


def _open_snapshot(data, k: int = 3):
    """A ticket with at least k events and an instant just after its k-th event."""
    counts = data.events.groupby("ticket_id").size()
    tid = counts[counts >= 8].index[0]
    ts = data.events.loc[data.events["ticket_id"] == tid, "ts"].sort_values()
    return tid, ts.iloc[k - 1] + pd.Timedelta(minutes=5)


def test_score_answers_everything_the_issue_asks(client, dataset):
    tid, as_of = _open_snapshot(dataset, 6)
    r = client.post("/v1/score", json=ticket_request(dataset, tid, as_of))
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


def test_reasons_are_exact_contributions(service, dataset):
    """Contributions of all features plus the bias give the model's raw score."""
    from serving.schemas import ScoreIn

    tid, as_of = _open_snapshot(dataset, 4)
    req = ScoreIn.model_validate(ticket_request(dataset, tid, as_of))
    served = service.manager.current
    out = service.scorer.score(req, served, service.context)
    # The top reasons are the largest |contribution|s of the full vector.
    from features.build import build_ticket_features
    from features.text import attach_text_signals

    acc, tk, ev, at = service.scorer.frames(req, None, pd.Timestamp.now(tz="UTC"))
    ev = attach_text_signals(ev, service.scorer.text_scorer)
    X = build_ticket_features(tk, ev, at, service.context.overlay(acc, tk, ev), frame=False)
    p, contrib = served.model.score(X)
    margin = served.model.booster.predict(served.model.matrix(X), raw_score=True)
    assert contrib[0].sum() == pytest.approx(margin[0], abs=1e-9)
    assert out.body["probability"] == pytest.approx(float(p[0]), abs=1e-12)
    top = {r["feature"]: r["contribution"] for r in out.body["reasons"]}
    for name, c in top.items():
        from features.registry import FEATURE_NAMES

        assert c == pytest.approx(contrib[0][FEATURE_NAMES.index(name)])


def test_api_equals_batch_pipeline(client, registry, dataset, text_scorer):
    """A few hundred snapshots: the API's probability equals the batch pipeline's (1e-6)."""
    root, data_dir, _ = registry
    table = build_feature_table(dataset, text_scorer, SignalCache(None))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        reg = load_registered(f"models:/{MODEL}@champion")
    batch = reg.predict_proba(table)
    rng = np.random.default_rng(0)
    picks = rng.choice(len(table), 250, replace=False)
    diffs = []
    for i in picks:
        tid, as_of = table.loc[i, "ticket_id"], table.loc[i, "as_of"]
        r = client.post("/v1/score", json=ticket_request(dataset, tid, as_of))
        assert r.status_code == 200, r.text
        diffs.append(abs(r.json()["probability"] - batch[i]))
    assert max(diffs) <= 1e-6


def test_a_new_ticket_id_changes_nothing(client, dataset):
    tid, as_of = _open_snapshot(dataset, 5)
    body = ticket_request(dataset, tid, as_of)
    first = client.post("/v1/score", json=body).json()["probability"]
    body["ticket"]["ticket_id"] = "never-seen-before"
    again = client.post("/v1/score", json=body).json()["probability"]
    assert again == pytest.approx(first, abs=1e-12)


def test_batch_scores_like_single_calls(client, dataset):
    ids = dataset.tickets["ticket_id"].iloc[:3]
    items = []
    for tid in ids:
        ts = dataset.events.loc[dataset.events["ticket_id"] == tid, "ts"].min()
        items.append(ticket_request(dataset, tid, ts + pd.Timedelta(minutes=1)))
    r = client.post("/v1/score/batch", json={"items": items})
    assert r.status_code == 200, r.text
    single = [client.post("/v1/score", json=it).json()["probability"] for it in items]
    batch = [x["probability"] for x in r.json()["results"]]
    assert batch == pytest.approx(single, abs=1e-12)
    assert [x["ticket_id"] for x in r.json()["results"]] == list(ids)


# -------------------------------------------------------------------------------- bad input
def _valid(dataset) -> dict:
    tid, as_of = _open_snapshot(dataset, 3)
    return ticket_request(dataset, tid, as_of)


def _assert_error(r, status: int, where: str | None = None) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "message", "details"}
    assert "Traceback" not in r.text and SECRET not in r.text
    if where is not None:
        assert any(where in d["location"] for d in body["details"]), body
    return body


def test_unknown_field_is_rejected_without_echo(client, dataset):
    body = _valid(dataset)
    body["ticket"]["customer_name"] = SECRET
    _assert_error(client.post("/v1/score", json=body), 422, "ticket.customer_name")


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_rejected(client, dataset, value):
    raw = _valid(dataset)
    raw["account"]["arr"] = 1.0
    payload = json.dumps(raw).replace('"arr": 1.0', f'"arr": {value}')
    r = client.post("/v1/score", content=payload, headers={"content-type": "application/json"})
    _assert_error(r, 422, "account.arr")


def test_inconsistent_times_are_named(client, dataset):
    early = dict(_valid(dataset), as_of="2001-01-01T00:00:00+00:00")
    _assert_error(client.post("/v1/score", json=early), 422, "as_of")
    late_event = _valid(dataset)
    late_event["events"][0]["ts"] = "2099-01-01T00:00:00+00:00"
    _assert_error(client.post("/v1/score", json=late_event), 422, "events[0].ts")
    naive = _valid(dataset)
    naive["events"][0]["ts"] = "2026-01-05T10:00:00"
    _assert_error(client.post("/v1/score", json=naive), 422, "events[0].ts")


def test_event_fields_required_by_type(client, dataset):
    body = _valid(dataset)
    body["events"].append(
        {"ts": body["as_of"], "event_type": "assignment", "actor": "system", "tier": 2}
    )
    err = _assert_error(client.post("/v1/score", json=body), 422)
    assert "team" in json.dumps(err)


def test_oversized_strings_lists_and_bodies(client, dataset, service):
    body = _valid(dataset)
    body["events"][0]["text"] = "x" * 20_001
    _assert_error(client.post("/v1/score", json=body), 422, "events[0].text")
    body = _valid(dataset)
    body["events"] = body["events"] * 400
    _assert_error(client.post("/v1/score", json=body), 422, "events")
    huge = b'{"ticket": "' + b"x" * (service.settings.max_body_bytes + 1) + b'"}'
    r = client.post("/v1/score", content=huge, headers={"content-type": "application/json"})
    _assert_error(r, 413)
    items = [_valid(dataset)] * (service.settings.max_batch + 1)
    _assert_error(client.post("/v1/score/batch", json={"items": items}), 422, "items")


def test_malformed_json_and_wrong_types(client):
    r = client.post(
        "/v1/score", content=b"{not json", headers={"content-type": "application/json"}
    )
    _assert_error(r, 422)
    _assert_error(client.post("/v1/score", json=[1, 2]), 422)
    _assert_error(client.get("/v1/nothing-here"), 404)


# ------------------------------------------------------------------------------ ops, auth
def test_health_ready_metrics(client, dataset):
    assert client.post("/v1/score", json=_valid(dataset)).status_code == 200
    assert client.get("/healthz").json() == {"status": "alive"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    text = client.get("/metrics").text
    assert "escalation_requests_total" in text and "escalation_model_info" in text
    assert 'route="/v1/score"' in text


def test_not_ready_until_loaded(registry, tmp_path, text_scorer):
    from .conftest import make_settings  # noqa: TID252

    svc = Service(make_settings(registry, tmp_path), text_scorer=text_scorer)  # not booted
    with TestClient(create_app(service=svc, background=False)) as c:
        assert c.get("/healthz").status_code == 200
        assert c.get("/readyz").status_code == 503
        _assert_error(c.post("/v1/score", json={"ticket": {}, "account": {}}), 422)
        r = c.get("/v1/model")
        _assert_error(r, 503)


def test_api_keys(registry, tmp_path, text_scorer, dataset):
    from .conftest import booted, make_settings  # noqa: TID252

    key = "k" * 32
    svc = booted(make_settings(registry, tmp_path, api_keys=key), text_scorer)
    with TestClient(create_app(service=svc, background=False)) as c:
        body = _valid(dataset)
        _assert_error(c.post("/v1/score", json=body), 401)
        _assert_error(c.post("/v1/score", json=body, headers={"X-API-Key": "w" * 32}), 403)
        assert c.post("/v1/score", json=body, headers={"X-API-Key": key}).status_code == 200
        bearer = {"Authorization": f"Bearer {key}"}
        assert c.get("/v1/model", headers=bearer).status_code == 200
        assert c.get("/healthz").status_code == 200  # probes stay open
    svc.store.close()


def test_placeholder_keys_stop_start_up(registry, tmp_path):
    from .conftest import make_settings  # noqa: TID252

    with pytest.raises(ValueError, match="placeholder"):
        make_settings(registry, tmp_path, api_keys="changeme")


def test_feedback_is_stored(client, service, dataset):
    tid = dataset.tickets["ticket_id"].iloc[0]
    before = service.store.count("feedback")
    r = client.post(
        "/v1/feedback",
        json={
            "ticket_id": tid,
            "escalated": True,
            "escalated_at": "2026-02-01T10:00:00Z",
            "escalation_type": "security",
        },
    )
    assert r.status_code == 202, r.text
    service.store.flush()
    assert service.store.count("feedback") == before + 1
    esc = service.store.table("escalations")
    assert (esc["ticket_id"] == tid).any()
    bad = {"ticket_id": tid, "escalated": True}
    _assert_error(client.post("/v1/feedback", json=bad), 422)


def test_serve_command_rejects_bad_settings(tmp_path, monkeypatch):
    """`escalation-risk serve` stops with a clear message, before binding a port."""
    from typer.testing import CliRunner

    from cli.main import app

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    r = runner.invoke(app, ["serve", "--backfill", str(tmp_path / "missing")])
    assert r.exit_code == 2 and "no such folder" in r.output
    monkeypatch.setenv("ESCALATION_RISK_API_KEYS", "changeme")
    r = runner.invoke(app, ["serve"])
    assert r.exit_code == 2 and "invalid service settings" in r.output
    assert "Traceback" not in r.output


def test_monitoring_counts_alerts_against_outcomes(registry, tmp_path, text_scorer, dataset):
    """Alerts the service raised, checked against the outcomes sent back by feedback."""
    from typer.testing import CliRunner

    from cli.main import app
    from models.policy import Bands, ThresholdPolicy
    from serving.monitor import monitoring_report

    from .conftest import booted, make_settings  # noqa: TID252

    svc = booted(make_settings(registry, tmp_path), text_scorer)
    served = svc.manager.current
    # Alert on everything at or above the median probability of these snapshots.
    ids = dataset.tickets["ticket_id"].iloc[:6].tolist()
    bodies = []
    for tid in ids:
        ts = dataset.events.loc[dataset.events["ticket_id"] == tid, "ts"].min()
        bodies.append(ticket_request(dataset, tid, ts + pd.Timedelta(minutes=1)))
    policy = ThresholdPolicy(Bands(0.0, 0.0, 1.0), {}, {"by": "test"})  # escalate everything
    svc.manager._swap(type(served)(**{**served.__dict__, "policy": policy}))
    with TestClient(create_app(service=svc, background=False)) as c:
        for body in bodies:
            assert c.post("/v1/score", json=body).json()["decision"]["action"] == "escalate"
        # Two escalated an hour after the alert, one escalated before it (late), two did not.
        for i, tid in enumerate(ids[:5]):
            as_of = pd.Timestamp(bodies[i]["as_of"])
            fb = {"ticket_id": tid, "escalated": i < 3}
            if i < 3:
                delta = pd.Timedelta(hours=-1 if i == 2 else 1)
                fb["escalated_at"] = (as_of + delta).isoformat()
            assert c.post("/v1/feedback", json=fb).status_code == 202
    svc.store.flush()
    (row,) = monitoring_report(svc.settings.store_path)
    assert row["tickets"] == 6 and row["tickets_alerted"] == 6
    assert row["tickets_with_outcome"] == 5 and row["escalated"] == 3
    assert row["alerts_in_time"] == 2 and row["alerts_late"] == 1
    assert row["alert_precision"] == pytest.approx(2 / 5, abs=1e-4)
    assert row["alert_recall"] == pytest.approx(2 / 3, abs=1e-4)
    assert row["median_lead_time_h"] == pytest.approx(1.0)
    assert row["policy_version"] == policy.version
    out = CliRunner().invoke(app, ["monitor", "--store", str(svc.settings.store_path), "--json"])
    assert out.exit_code == 0 and json.loads(out.output)[0]["alerts_in_time"] == 2
    missing = CliRunner().invoke(app, ["monitor", "--store", str(tmp_path / "none.db")])
    assert missing.exit_code == 2 and "no such store" in missing.output
    svc.store.close()
