"""Feature-test fixtures: a fast text scorer and one small simulated data set with features."""

from __future__ import annotations

import pandas as pd
import pytest

from features.build import build_features, escalation_history, make_snapshots
from features.text import attach_text_signals
from sources.synthetic.generate import GeneratorConfig, simulate


@pytest.fixture(scope="package")
def lexical(lexical_scorer):
    """The fast text scorer of tests/conftest.py."""
    return lexical_scorer


@pytest.fixture(scope="package")
def small(lexical):
    """400 simulated tickets: (data, events with signals, snapshots, history, batch features)."""
    data, _ = simulate(GeneratorConfig(n_tickets=400, seed=3, truth_fraction=0.0), progress=False)
    events = attach_text_signals(data.events, lexical)
    snaps = make_snapshots(events, data.outcomes)
    history = escalation_history(data.outcomes, data.tickets)
    feats = build_features(data.accounts, data.tickets, events, snaps, history)
    return data, events, snaps, history, feats


def assert_rows_equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False, atol=1e-9, rtol=0
    )


@pytest.fixture(scope="package")
def rows_equal():
    """Feature rows equal up to float rounding (1e-9), ignoring the index."""
    return assert_rows_equal
