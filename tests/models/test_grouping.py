"""Grouping similar escalations: selection at an instant, clustering rules, labels, and the
evaluation against known incidents (the synthetic outages)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.grouping import (
    GroupingConfig,
    HashingEmbedder,
    cluster_tickets,
    ctfidf_keywords,
    evaluate_grouping,
    group_tickets,
    select_tickets,
    ticket_texts,
)

T0 = pd.Timestamp("2026-03-02 09:00", tz="UTC")
INCIDENT = "Dashboard reports time out with gateway errors for every user"


def _frame(rows: list[dict]) -> pd.DataFrame:
    base = {"account_id": "a", "product_area": "reporting", "escalation_type": None,
            "open": True, "escalated": False, "probability": np.nan, "action": "watch",
            "arr": 1000.0}  # fmt: skip
    out = pd.DataFrame([base | r for r in rows])
    out["first_seen"] = pd.to_datetime(out["first_seen"], utc=True)
    out["last_seen"] = out["first_seen"]
    return out


def _incident(n: int, start=T0, area="reporting", text=INCIDENT, prefix="i") -> list[dict]:
    return [
        {"ticket_id": f"{prefix}{k}", "account_id": f"{prefix}-acc{k}", "product_area": area,
         "first_seen": start + pd.Timedelta(minutes=15 * k), "text": text}
        for k in range(n)
    ]  # fmt: skip


def test_one_incident_is_one_group_with_its_impact():
    rows = _incident(5) + [
        {"ticket_id": "x1", "first_seen": T0, "text": "Invoice charged twice, refund please"},
        {"ticket_id": "x2", "first_seen": T0, "text": "How do I add an admin user"},
    ]
    frame = _frame(rows)
    frame.loc[frame["ticket_id"] == "i0", "arr"] = np.nan
    g = group_tickets(frame, HashingEmbedder())
    assert len(g.groups) == 1
    grp = g.groups[0]
    assert grp["tickets"] == [f"i{k}" for k in range(5)]
    assert grp["arr_at_stake"] == 4000.0 and grp["accounts_without_arr"] == 1
    assert grp["first_seen"] == T0 and grp["last_seen"] == T0 + pd.Timedelta(minutes=60)
    assert grp["central_message"] == INCIDENT
    assert g.assignment["x1"] is None and g.assignment["i3"] == grp["id"]


def test_areas_types_and_the_window_split_groups():
    rows = (
        _incident(3, prefix="a")
        + _incident(3, area="api", prefix="b")  # same words, another product area
        + _incident(3, start=T0 + pd.Timedelta(days=3), prefix="c")  # three days later
    )
    g = group_tickets(_frame(rows), HashingEmbedder())
    assert sorted(sorted(x["tickets"]) for x in g.groups) == [
        ["a0", "a1", "a2"],
        ["b0", "b1", "b2"],
        ["c0", "c1", "c2"],
    ]
    # Known, different escalation types never share a group (complete linkage: strictly).
    frame = _frame(_incident(4))
    frame["escalation_type"] = ["security", "security", "billing_dispute", "billing_dispute"]
    cfg = GroupingConfig(linkage="complete", min_size=2)
    labels = cluster_tickets(frame, HashingEmbedder().embed(frame["text"].tolist()), cfg)
    assert labels[0] == labels[1] != labels[2] == labels[3]


def test_tickets_without_text_are_counted_not_grouped():
    rows = _incident(3) + [{"ticket_id": f"e{k}", "first_seen": T0, "text": ""} for k in range(4)]
    g = group_tickets(_frame(rows), HashingEmbedder())
    assert g.without_text == 4 and len(g.groups) == 1
    assert g.assignment[["e0", "e1", "e2", "e3"]].isna().all()


def test_keywords_are_what_sets_a_group_apart():
    texts = ["gateway timeout dashboard"] * 3 + ["invoice refund"] * 3 + ["hello there"]
    labels = np.array([0, 0, 0, 1, 1, 1, -1])
    kw = ctfidf_keywords(texts, labels, 2)
    assert set(kw[0]) <= {"gateway", "timeout", "dashboard"} and len(kw[0]) == 2
    assert set(kw[1]) == {"invoice", "refund"}
    assert -1 not in kw


def _tables():
    tickets = pd.DataFrame(
        {
            "ticket_id": ["t1", "t2", "t3", "t4"],
            "account_id": ["a1", "a2", "a1", "a2"],
            "created_at": [T0, T0, T0 - pd.Timedelta(days=20), T0 + pd.Timedelta(days=1)],
            "product_area": ["api"] * 4,
            "subject": ["API down", None, "Old", "Future"],
        }
    )
    events = pd.DataFrame(
        {
            "ticket_id": ["t1", "t1", "t2", "t2", "t3", "t3", "t4"],
            "ts": [T0, T0 + pd.Timedelta(hours=1), T0, T0 + pd.Timedelta(hours=2),
                   T0 - pd.Timedelta(days=20), T0 - pd.Timedelta(days=19),
                   T0 + pd.Timedelta(days=1)],
            "event_type": ["customer_message", "customer_message", "customer_message",
                           "status_change", "customer_message", "status_change",
                           "customer_message"],
            "status": [None, None, None, "closed", None, "closed", None],
            "text": ["Everything 500s", "Still down", "Slow", None, "Old one", None, "Later"],
        }
    )  # fmt: skip
    accounts = pd.DataFrame({"account_id": ["a1", "a2"], "arr": [10.0, 20.0]})
    escalations = pd.DataFrame(
        {
            "ticket_id": ["t2", "t3", "t4"],
            "escalated_at": [T0 + pd.Timedelta(hours=1), T0 - pd.Timedelta(days=19.5),
                             T0 + pd.Timedelta(days=1, hours=1)],
            "escalation_type": ["security", "billing_dispute", "other"],
        }
    )  # fmt: skip
    scores = pd.DataFrame(
        {
            "ticket_id": ["t1", "t1"],
            "as_of": [T0, T0 + pd.Timedelta(days=2)],
            "probability": [0.8, 0.1],
            "action": ["escalate", "none"],
        }
    )
    return tickets, events, accounts, escalations, scores


def test_selection_sees_only_what_was_known():
    tickets, events, accounts, esc, scores = _tables()
    at = T0 + pd.Timedelta(hours=3)
    out = select_tickets(tickets, events, accounts, at, 24 * 7, esc, scores).set_index("ticket_id")
    # t1: open, at risk by its latest score then (the later 'none' is in the future);
    # t2: escalated in the lookback (and closed); t3: escalated and closed long ago; t4: future.
    assert sorted(out.index) == ["t1", "t2"]
    assert out.loc["t1", "action"] == "escalate" and bool(out.loc["t1", "open"])
    assert out.loc["t2", "escalation_type"] == "security" and not out.loc["t2", "open"]
    assert out.loc["t1", "text"] == "API down\nEverything 500s"
    assert out.loc["t2", "text"] == "Slow"
    assert out.loc["t1", "last_seen"] == T0 + pd.Timedelta(hours=1)
    assert out.loc["t2", "arr"] == 20.0
    every = select_tickets(tickets, events, accounts, at, 24 * 30, esc, all_tickets=True)
    assert sorted(every["ticket_id"]) == ["t1", "t2", "t3"]


def test_ticket_texts_use_subject_and_first_message():
    tickets, events, *_ = _tables()
    texts = ticket_texts(tickets, events)
    assert texts["t1"] == "API down\nEverything 500s" and texts["t4"] == "Future\nLater"


def test_evaluation_scores_incidents():
    truth = pd.Series({"a": 1, "b": 1, "c": 1, "d": 2, "e": 2})
    perfect = pd.Series({"a": "g1", "b": "g1", "c": "g1", "d": "g2", "e": "g2", "x": None})
    r = evaluate_grouping(perfect, truth)
    assert r["homogeneity"] == 1.0 and r["completeness"] == 1.0 and r["purity"] == 1.0
    assert r["largest_share"] == 1.0 and r["incidents"] == 2
    split = pd.Series({"a": "g1", "b": "g1", "c": None, "d": "g2", "e": "g2", "x": "g2"})
    r = evaluate_grouping(split, truth)
    assert r["completeness"] < 1.0 and r["homogeneity"] < 1.0
    assert r["routine_tickets_in_incident_groups"] == 1
    assert r["largest_share"] == pytest.approx(4 / 5)
    with pytest.raises(ValueError, match="no ticket of a known incident"):
        evaluate_grouping(pd.Series({"x": "g"}), truth)


@pytest.mark.slow
def test_synthetic_outages_land_in_one_group(synthetic_dir, text_scorer):
    """On the session's synthetic organisation (3,000 tickets, 180 days, every ticket of the
    period) with the MiniLM embedding the product uses, as `escalation-risk groups` runs it:
    an outage's tickets share one group, with few routine tickets in it."""
    from cli.groups import run_groups

    out_dir, _ = synthetic_dir
    cfg = GroupingConfig(max_tickets=10**9)
    ev = run_groups(out_dir, None, 24 * 400, True, text_scorer.sentiment, cfg)["evaluation"]
    assert ev["incident_tickets"] > 100 and ev["incidents"] >= 10
    assert ev["homogeneity"] > 0.85 and ev["completeness"] > 0.85
    assert ev["largest_share"] > 0.85


def test_outage_truth_matches_the_generated_tickets(synthetic_dir):
    """outages.parquet replays the generator's draw: every outage ticket is in the outage's
    product area and was created while it lasted."""
    from features.schema import read_dataset

    out_dir, summary = synthetic_dir
    truth = pd.read_parquet(out_dir / "outages.parquet")
    tickets = read_dataset(out_dir).tickets.merge(truth, on="ticket_id", validate="1:1")
    assert len(tickets) == len(truth) == round(3000 * summary["config"]["outage_share"])
    assert (tickets["product_area"] == tickets["outage_area"]).all()
    inside = tickets["created_at"].between(tickets["outage_start"], tickets["outage_end"])
    assert inside.all()
