"""Drift: PSI machinery (models.drift) and the report's drift section on a shifted month."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from features.pipeline import build_feature_table
from features.schema import read_dataset, validate_tables
from models.drift import (
    DriftReference,
    build_reference,
    column_reference,
    drift_status,
    drift_table,
    overall_status,
    psi,
)
from training.report.drift import alert_precision_by_month, compare_windows, reference_from_table


def test_psi_zero_for_the_same_distribution_and_large_for_a_shift():
    assert psi(np.array([10, 20, 30]), np.array([1, 2, 3])) == pytest.approx(0.0)
    assert psi(np.array([50, 50]), np.array([90, 10])) > 0.25
    with pytest.raises(ValueError):
        psi(np.array([1, 2]), np.array([1, 2, 3]))


def test_status_thresholds():
    assert [drift_status(v) for v in (0.05, 0.1, 0.2, 0.25, 3.0)] == [
        "ok",
        "look",
        "look",
        "retrain",
        "retrain",
    ]
    assert drift_status(None) is None


def test_numeric_and_categorical_bins_count_missing_and_unknown_levels():
    rng = np.random.default_rng(0)
    ref = column_reference("x", pd.Series(rng.normal(size=1000)))
    assert len(ref.shares) == len(ref.edges) + 2  # open outer bins plus the missing bin
    counts = ref.counts(pd.Series([np.nan, -100.0, 100.0]))
    assert counts[-1] == 1 and counts[0] == 1 and counts[-2] == 1
    cat = column_reference("c", pd.Series(["a"] * 5 + ["b"] * 5), categorical=True)
    assert cat.counts(pd.Series(["a", "z", None])).tolist() == [1, 0, 1, 1]


def test_reference_round_trips_through_json():
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"x": rng.normal(size=500), "c": rng.choice(["a", "b"], 500)})
    ref = build_reference(X, ["x", "c"], ["c"], score=rng.random(500), window={"rows": 500})
    back = DriftReference.from_json(ref.to_json())
    assert back == ref
    with pytest.raises(ValueError, match="not a drift reference"):
        DriftReference.from_json('{"columns": [{"name": "x"}]}')


def test_same_population_is_stable_a_moved_one_is_not():
    rng = np.random.default_rng(2)
    X = pd.DataFrame({"x": rng.normal(size=4000)})
    ref = build_reference(X, ["x"])
    same = pd.DataFrame({"x": rng.normal(size=4000)})
    moved = pd.DataFrame({"x": rng.normal(loc=0.8, size=4000)})
    assert overall_status(drift_table(ref, same)) == "ok"
    assert overall_status(drift_table(ref, moved)) == "retrain"


def test_alert_precision_by_month():
    table = pd.DataFrame(
        {
            "ticket_id": ["a", "a", "b", "c", "d"],
            "as_of": pd.to_datetime(
                ["2026-01-03", "2026-01-04", "2026-01-05", "2026-02-01", "2026-02-02"], utc=True
            ),
            "label": [1, 1, 0, 1, 0],
        }
    )
    p = np.array([0.9, 0.9, 0.8, 0.1, 0.7])
    rows = alert_precision_by_month(table, p, threshold=0.5)
    assert rows == [
        {"month": "2026-01", "alerts": 2, "right": 1, "precision": 0.5},
        {"month": "2026-02", "alerts": 1, "right": 0, "precision": 0.0},
    ]


def _half(ticket_id: str) -> bool:
    return int(hashlib.sha256(ticket_id.encode()).hexdigest(), 16) % 2 == 0


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from sources.synthetic.generate import GeneratorConfig, generate_dataset

    out = tmp_path_factory.mktemp("drift-world")
    generate_dataset(
        GeneratorConfig(n_tickets=6000, seed=11, truth_fraction=0.0), out, progress=False
    )
    return out


def _score(table: pd.DataFrame) -> np.ndarray:
    # A fixed score of the features (stands in for a model: drift tests need no training).
    z = table["sla_consumed_share"].fillna(0).clip(0, 3) + 0.1 * table["customer_message_count"]
    return 1 / (1 + np.exp(-(z.to_numpy(dtype=float) - 1)))


@pytest.mark.slow
def test_drift_detected_on_a_shifted_month_and_not_on_an_unshifted_one(world):
    """Reference: half of a month's tickets (hashed ids); recent: the other half of the same
    month, as generated (unshifted) and with the month deliberately shifted (a major-incident
    month: every ticket P1, by phone). A 6,000-ticket world: with 3,000 (200 accounts) the
    account mix of two random halves alone moves account ARR by PSI 0.14."""
    data = read_dataset(world)
    month = data.tickets["created_at"].dt.strftime("%Y-%m")
    target = month.value_counts().index[0]  # the busiest month
    half = data.tickets["ticket_id"].map(_half)
    ref_ids = set(data.tickets.loc[(month == target) & half, "ticket_id"])
    new_ids = set(data.tickets.loc[(month == target) & ~half, "ticket_id"])
    table = build_feature_table(data, None)
    ref_rows = table[table["ticket_id"].isin(ref_ids)]
    reference = reference_from_table(ref_rows, _score(ref_rows), "half of " + target)

    recent = table[table["ticket_id"].isin(new_ids)]
    unshifted = compare_windows(reference, recent, _score(recent), "other half")
    assert unshifted["status"] == "ok", unshifted["columns"][:3]

    tickets = data.tickets.copy()
    shifted = tickets["ticket_id"].isin(new_ids)
    tickets.loc[shifted, "priority"] = "P1"
    tickets.loc[shifted, "channel"] = "phone"
    moved = validate_tables(data.accounts, tickets, data.events, data.outcomes)
    moved_table = build_feature_table(moved, None)
    moved_recent = moved_table[moved_table["ticket_id"].isin(new_ids)]
    result = compare_windows(reference, moved_recent, _score(moved_recent), "shifted half")
    assert result["status"] == "retrain"
    assert {"ticket_priority_initial", "ticket_channel"} <= set(result["retrain"])
    assert result["score_psi"] is not None and result["score_psi"] > unshifted["score_psi"]
