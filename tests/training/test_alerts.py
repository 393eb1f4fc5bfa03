"""Ticket-level threshold searches against results worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.alerts import (
    candidate_thresholds,
    lowest_threshold_for_precision,
    threshold_for_alert_budget,
    threshold_for_recall,
    threshold_for_ticket_share,
    ticket_curve,
)


@pytest.fixture
def tickets() -> pd.DataFrame:
    """Five tickets by peak score; the ones at 0.9, 0.7 and 0.3 escalate."""
    return pd.DataFrame(
        {
            "peak": [0.9, 0.8, 0.7, 0.5, 0.3],
            "escalated": [True, False, True, False, True],
            "strategic": [False] * 5,
        },
        index=pd.Index(list("abcde"), name="ticket_id"),
    )


def test_candidates_are_the_lowest_peak_then_midpoints() -> None:
    assert candidate_thresholds(np.array([0.5, 0.1, 0.3, 0.3])) == pytest.approx([0.1, 0.2, 0.4])


def test_curve_counts_alerts_and_true_alerts(tickets: pd.DataFrame) -> None:
    curve = ticket_curve(tickets, days=2.0, thresholds=np.array([0.75, 0.6]))
    # >= 0.6: 0.9, 0.8, 0.7 (2 true); >= 0.75: 0.9, 0.8 (1 true).
    assert curve["threshold"].tolist() == [0.6, 0.75]
    assert curve["alerts"].tolist() == [3, 2]
    assert curve["true_alerts"].tolist() == [2, 1]
    assert curve["precision"].to_numpy() == pytest.approx([2 / 3, 1 / 2])
    assert curve["recall"].to_numpy() == pytest.approx([2 / 3, 1 / 3])
    assert curve["alerts_per_day"].to_numpy() == pytest.approx([1.5, 1.0])


def test_lowest_threshold_for_precision(tickets: pd.DataFrame) -> None:
    # Precision by cut: top1 1/1, top2 1/2, top3 2/3, top4 2/4, all 3/5.
    # 0.65: only top1 and top3 reach it; the lowest is the cut between 0.7 and 0.5 (0.6).
    assert lowest_threshold_for_precision(tickets, 0.65) == pytest.approx(0.6)
    # 0.6: every ticket (3/5) already reaches it, so the lowest peak.
    assert lowest_threshold_for_precision(tickets, 0.6) == pytest.approx(0.3)
    # 1.0 only with the top ticket alone (threshold 0.85); with min_alerts=2 it is out of reach.
    assert lowest_threshold_for_precision(tickets, 1.0) == pytest.approx(0.85)
    assert lowest_threshold_for_precision(tickets, 1.0, min_alerts=2) is None


def test_threshold_for_recall_is_the_highest_reaching_it(tickets: pd.DataFrame) -> None:
    # 2 of 3 escalations need the top 3 tickets: the highest such threshold is 0.6.
    assert threshold_for_recall(tickets, 2 / 3) == pytest.approx(0.6)
    # All 3 need every ticket: the lowest peak.
    assert threshold_for_recall(tickets, 1.0) == pytest.approx(0.3)


def test_threshold_for_alert_budget(tickets: pd.DataFrame) -> None:
    # 2 days, 1 alert a day -> at most 2 alerts: threshold 0.75 (0.9 and 0.8).
    assert threshold_for_alert_budget(tickets, 1.0, days=2.0) == pytest.approx(0.75)
    # A budget below one alert in the period: above every peak.
    assert threshold_for_alert_budget(tickets, 0.1, days=2.0) > 0.9
    # A generous budget: every ticket.
    assert threshold_for_alert_budget(tickets, 10.0, days=2.0) == pytest.approx(0.3)


def test_threshold_for_ticket_share(tickets: pd.DataFrame) -> None:
    # 40% of 5 tickets = 2: the two highest peaks (0.9, 0.8); the cut sits at 0.75.
    assert threshold_for_ticket_share(tickets, 0.4) == pytest.approx(0.75)
    # Forced tickets use the share up first: 0.5 forced, one more allowed -> only 0.9 (0.85).
    forced = np.array([False, False, False, True, False])
    assert threshold_for_ticket_share(tickets, 0.4, forced) == pytest.approx(0.85)
    # Two forced with a share of 2: above every free peak.
    forced = np.array([False, False, False, True, True])
    assert threshold_for_ticket_share(tickets, 0.4, forced) > 0.9
    # More forced than the share allows: no threshold.
    assert threshold_for_ticket_share(tickets, 0.2, forced) is None
    # Ties are never split: with peaks 0.5, 0.5, 0.5, 0.2 and a share of 2, none of the 0.5s.
    tied = pd.DataFrame({"peak": [0.5, 0.5, 0.5, 0.2], "escalated": [True] * 4})
    assert threshold_for_ticket_share(tied, 0.5) > 0.5
    # A share of 4 of 5 leaves out the lowest peak (0.3): the cut between 0.3 and 0.5.
    assert threshold_for_ticket_share(tickets, 0.8) == pytest.approx(0.4)
