"""Drift in the service: PSI gauges against the served version's reference, and alert precision
over time from the store's feedback."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from prometheus_client import generate_latest

from models.drift import SCORE, build_reference
from serving.core.metrics import Metrics
from serving.services.monitor import DriftMonitor, alert_precision_windows
from serving.services.store import Store


@pytest.fixture
def reference():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "ticket_age_h": rng.exponential(10, 3000),
            "ticket_channel": rng.choice(["email", "chat"], 3000),
        }
    )
    return build_reference(
        X, ["ticket_age_h", "ticket_channel"], ["ticket_channel"], score=rng.beta(2, 8, 3000)
    )


def _feed(monitor: DriftMonitor, n: int, seed: int, age_scale: float, chat: float) -> None:
    rng = np.random.default_rng(seed)
    for age, p in zip(rng.exponential(age_scale, n), rng.beta(2, 8, n), strict=True):
        channel = "chat" if rng.random() < chat else "email"
        monitor.observe({"ticket_age_h": float(age), "ticket_channel": channel}, float(p))


def test_stable_traffic_reads_ok_and_moved_traffic_retrain(reference):
    metrics = Metrics()
    stable = DriftMonitor(reference, window=1000, min_rows=200)
    _feed(stable, 1000, 1, 10, 0.5)
    snap = stable.publish(metrics)
    assert snap["status"] == "ok"
    text = generate_latest(metrics.registry).decode()
    assert "escalation_drift_status 0.0" in text
    assert 'escalation_drift_psi{column="ticket_age_h"}' in text

    moved = DriftMonitor(reference, window=1000, min_rows=200)
    _feed(moved, 1000, 2, 30, 0.9)
    snap = moved.publish(metrics)
    assert snap["status"] == "retrain"
    worst = {r["column"]: r["status"] for r in snap["columns"]}
    assert worst["ticket_age_h"] == "retrain" and worst["ticket_channel"] == "retrain"
    assert worst[SCORE] == "ok"  # the score's distribution did not move
    assert "escalation_drift_status 2.0" in generate_latest(metrics.registry).decode()


def test_unknown_without_reference_or_with_too_little_traffic(reference):
    metrics = Metrics()
    assert "escalation_drift_status -1.0" in generate_latest(metrics.registry).decode()
    few = DriftMonitor(reference, min_rows=200)
    _feed(few, 50, 3, 10, 0.5)
    assert few.publish(metrics)["status"] is None
    none = DriftMonitor(None)
    _feed(none, 500, 4, 10, 0.5)
    assert none.snapshot()["status"] is None
    none.set_reference(reference)
    assert none.snapshot()["rows"] == 0  # a new version's reference starts a new window


def test_alert_precision_over_time_from_feedback(tmp_path):
    store = Store(tmp_path / "serving.db")
    now = pd.Timestamp("2026-06-30 12:00", tz="UTC")
    rows, feedback = [], []
    # 4 alerts in the last week (3 right), 2 more 20 days ago (0 right), 1 ticket not alerted.
    for i, (days_ago, escalated) in enumerate(
        [(1, True), (2, True), (3, True), (4, False), (20, False), (21, False), (2, True)]
    ):
        as_of = now - pd.Timedelta(days=days_ago)
        action = "watch" if i == 6 else "escalate"
        rows.append((f"t{i}", as_of.to_pydatetime(), 0.8, action, "1", "p-1"))
        fb = {"ticket_id": f"t{i}", "escalated": escalated}
        if escalated:
            fb["escalated_at"] = (as_of + pd.Timedelta(hours=2)).to_pydatetime()
        feedback.append(fb)
    store.record_score(rows)
    for fb in feedback:
        store.record_feedback(fb)
    store.flush(timeout=30)
    out = alert_precision_windows(tmp_path / "serving.db", now_us=now.value // 1000)
    assert out[7] == {"alerts": 4, "with_outcome": 4, "right": 3, "alert_precision": 0.75}
    assert out[30] == {"alerts": 6, "with_outcome": 6, "right": 3, "alert_precision": 0.5}
    metrics = Metrics()
    DriftMonitor(None).publish(metrics, tmp_path / "serving.db")
    store.close()
