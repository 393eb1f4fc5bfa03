"""Evaluation metrics against values computed by hand on tiny inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.evaluate import (
    alert_metrics,
    ceiling_budgets,
    ece,
    precision_at_recall,
    reliability,
    snapshot_metrics,
    ticket_alerts,
)


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def test_reliability_bins_and_ece_by_hand() -> None:
    y = np.array([0, 0, 1, 1, 1])
    p = np.array([0.05, 0.15, 0.85, 0.95, 0.99])
    r = reliability(y, p, bins=10)
    # bins 0, 1, 8 and 9; bin 9 holds 0.95 and 0.99 (mean 0.97), all positive.
    assert r["bin"].tolist() == [0, 1, 8, 9]
    assert r["count"].tolist() == [1, 1, 1, 2]
    assert r["observed"].tolist() == [0.0, 0.0, 1.0, 1.0]
    assert r["mean_predicted"].to_numpy() == pytest.approx([0.05, 0.15, 0.85, 0.97])
    # ECE = (1*0.05 + 1*0.15 + 1*0.15 + 2*0.03) / 5 = 0.41 / 5
    assert ece(y, p, bins=10) == pytest.approx(0.082)


def test_perfectly_calibrated_bins_have_zero_ece() -> None:
    y = np.array([0, 1, 0, 1])
    p = np.array([0.5, 0.5, 0.5, 0.5])
    assert ece(y, p) == pytest.approx(0.0)


def test_precision_at_recall_by_hand() -> None:
    y = np.array([1, 0, 1, 0, 0])
    p = np.array([0.9, 0.8, 0.7, 0.2, 0.1])
    # Recall 1.0 needs threshold 0.7: alerts 0.9, 0.8, 0.7 -> precision 2/3.
    prec, thr = precision_at_recall(y, p, 1.0)
    assert prec == pytest.approx(2 / 3)
    assert thr == pytest.approx(0.7)
    # Recall 0.5 is reached at 0.9 alone: precision 1.
    assert precision_at_recall(y, p, 0.5) == (pytest.approx(1.0), pytest.approx(0.9))


def test_snapshot_metrics_of_a_perfect_ranking() -> None:
    y = np.array([0, 0, 1, 1])
    m = snapshot_metrics(y, np.array([0.1, 0.2, 0.8, 0.9]))
    assert m["pr_auc"] == pytest.approx(1.0)
    assert m["roc_auc"] == pytest.approx(1.0)
    assert m["base_rate"] == pytest.approx(0.5)
    # Brier = mean of 0.01, 0.04, 0.04, 0.01
    assert m["brier"] == pytest.approx(0.025)


@pytest.fixture
def snapshots() -> pd.DataFrame:
    """Three tickets over two days: A escalates at 12:00 on day 1, C at 00:00 on day 2, B never."""
    return pd.DataFrame(
        {
            "ticket_id": ["A", "A", "B", "B", "C", "C"],
            "as_of": [
                ts("2026-01-01 08:00"),
                ts("2026-01-01 10:00"),
                ts("2026-01-01 09:00"),
                ts("2026-01-02 09:00"),
                ts("2026-01-01 20:00"),
                ts("2026-01-01 22:00"),
            ],
            "label": [1, 1, 0, 0, 1, 1],
            "hours_to_escalation": [4.0, 2.0, np.nan, np.nan, 4.0, 2.0],
        }
    )


def test_alert_metrics_by_hand(snapshots: pd.DataFrame) -> None:
    p = np.array([0.2, 0.7, 0.6, 0.1, 0.3, 0.4])
    m = alert_metrics(snapshots, p, 0.5)
    # Alerted: A (at 10:00, 2 h before escalating) and B (false alarm); C is missed.
    assert m["ticket_precision"] == pytest.approx(1 / 2)
    assert m["ticket_recall"] == pytest.approx(1 / 2)
    assert m["alerted_share"] == pytest.approx(2 / 3)
    # as_of spans 2026-01-01 08:00 .. 2026-01-02 09:00 = 25 h: at least one day counts.
    assert m["alerts_per_day"] == pytest.approx(2 / (25 / 24))
    assert m["median_lead_time_h"] == pytest.approx(2.0)


def test_ticket_alerts_first_alert_and_escalation_time(snapshots: pd.DataFrame) -> None:
    p = np.array([0.9, 0.9, 0.0, 0.0, 0.0, 0.8])
    t = ticket_alerts(snapshots, p, 0.5)
    assert t.loc["A", "first_alert"] == ts("2026-01-01 08:00")
    assert t.loc["A", "escalated_at"] == ts("2026-01-01 12:00")
    assert t.loc["C", "first_alert"] == ts("2026-01-01 22:00")
    assert not t.loc["B", "alerted"]


def test_ceiling_budgets_scale_the_budget_to_the_truth_sample() -> None:
    # 20 tickets over 10 days (one snapshot each), ground truth on the first 10 (share 0.5).
    # Escalating: t00-t04. The truth ranks t00-t04 top; the model puts two calm ones on top.
    n = 20
    frame = pd.DataFrame(
        {
            "ticket_id": [f"t{i:02d}" for i in range(n)],
            "as_of": [ts("2026-01-01 00:00") + pd.Timedelta(hours=12 * i) for i in range(n)],
            "label": [int(i < 5) for i in range(n)],
            "hours_to_escalation": [3.0 if i < 5 else np.nan for i in range(n)],
        }
    )
    have = np.arange(n) < 10
    truth = np.where(np.arange(n) < 5, 0.9 - 0.01 * np.arange(n), 0.1)
    truth[~have] = np.nan
    p = np.array([0.5, 0.4, 0.3, 0.2, 0.1, 0.8, 0.7, 0.05, 0.04, 0.03] + [0.0] * 10)
    out = ceiling_budgets(frame, have, truth, p, [1])
    # A budget of 1 a day for the desk is 0.5 a day on the half with truth; those 10 tickets
    # span 4.5 days, so 2.25 alerts: the top two tickets of each score.
    assert out["ticket_share"] == pytest.approx(0.5)
    assert out["ceiling_precision_at_1_alerts_per_day"] == pytest.approx(1.0)
    assert out["ceiling_recall_at_1_alerts_per_day"] == pytest.approx(2 / 5)
    assert out["model_precision_at_1_alerts_per_day"] == pytest.approx(0.0)
    assert out["model_recall_at_1_alerts_per_day"] == pytest.approx(0.0)
