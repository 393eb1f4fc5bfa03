"""Monitoring from the store: the alerts the service raised against the outcomes fed back."""

from __future__ import annotations

import dataclasses
import json
import sqlite3

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cli.main import app as cli_app
from models.policy import Bands, ThresholdPolicy
from serving.main import create_app
from serving.services.monitor import monitoring_report


def test_monitoring_counts_alerts_against_outcomes(
    make_settings, boot, tmp_path, dataset, ticket_body
):
    svc = boot(make_settings(tmp_path))
    served = svc.manager.current
    ids = dataset.tickets["ticket_id"].iloc[:6].tolist()
    bodies = []
    for tid in ids:
        ts = dataset.events.loc[dataset.events["ticket_id"] == tid, "ts"].min()
        bodies.append(ticket_body(dataset, tid, ts + pd.Timedelta(minutes=1)))
    policy = ThresholdPolicy(Bands(0.0, 0.0, 1.0), {}, {"by": "test"})  # escalate everything
    svc.manager.swap(dataclasses.replace(served, policy=policy))
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
    svc.store.flush(timeout=30)
    (row,) = monitoring_report(svc.settings.store_path)
    assert row["tickets"] == 6 and row["tickets_alerted"] == 6
    assert row["tickets_with_outcome"] == 5 and row["escalated"] == 3
    assert row["alerts_in_time"] == 2 and row["alerts_late"] == 1
    assert row["alert_precision"] == pytest.approx(2 / 5, abs=1e-4)
    assert row["alert_recall"] == pytest.approx(2 / 3, abs=1e-4)
    assert row["median_lead_time_h"] == pytest.approx(1.0)
    assert row["policy_version"] == policy.version
    out = CliRunner().invoke(
        cli_app, ["monitor", "--store", str(svc.settings.store_path), "--json"]
    )
    assert out.exit_code == 0 and json.loads(out.output)[0]["alerts_in_time"] == 2
    missing = CliRunner().invoke(cli_app, ["monitor", "--store", str(tmp_path / "none.db")])
    assert missing.exit_code == 2 and "no such store" in missing.output
    svc.store.close()


def test_the_report_closes_its_connections(tmp_path, monkeypatch):
    path = tmp_path / "serving.db"
    with sqlite3.connect(path) as db:
        db.executescript(
            "CREATE TABLE scores (ticket_id TEXT, as_of INTEGER, action TEXT, model_version TEXT,"
            " policy_version TEXT, scored_at INTEGER);"
            "CREATE TABLE feedback (ticket_id TEXT, escalated INTEGER, escalated_at INTEGER,"
            " received_at INTEGER);"
        )
    db.close()
    opened: list[sqlite3.Connection] = []
    connect = sqlite3.connect

    def tracked(*args, **kwargs):
        opened.append(connect(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(sqlite3, "connect", tracked)
    assert monitoring_report(path) == []
    assert len(opened) == 2
    for conn in opened:
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            conn.total_changes  # noqa: B018
