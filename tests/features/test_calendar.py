"""Business-hours arithmetic and the SLA policy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.calendar import (
    BUSINESS_HOURS,
    Calendar,
    business_calendar,
    sla_deadline,
    sla_deadlines,
    to_epoch_hours,
)


def _h(text: str) -> float:
    return float(to_epoch_hours(pd.Series([pd.Timestamp(text, tz="UTC")]))[0])


@pytest.fixture(scope="module")
def cal() -> Calendar:
    return Calendar(BUSINESS_HOURS, _h("2025-12-01"), _h("2026-03-01"))


def test_p1_is_wall_clock(cal):
    assert sla_deadline(_h("2026-01-10 23:50"), "P1", cal) == pytest.approx(_h("2026-01-11 00:20"))


def test_p2_waits_for_business_hours(cal):
    # Friday 17:00: one business hour left that day, the second on Monday 08:00-09:00.
    assert sla_deadline(_h("2026-01-09 17:00"), "P2", cal) == pytest.approx(_h("2026-01-12 09:00"))


def test_p3_created_on_saturday(cal):
    assert sla_deadline(_h("2026-01-10 12:00"), "P3", cal) == pytest.approx(_h("2026-01-12 16:00"))


def test_worked_and_advance_are_inverse(cal):
    rng = np.random.default_rng(0)
    for t in _h("2026-01-05") + rng.uniform(0, 24 * 30, 50):
        w = float(rng.uniform(0, 40))
        assert cal.worked(t, cal.advance(t, w)) == pytest.approx(w)


def test_vectorised_deadlines_match_scalar(cal):
    rng = np.random.default_rng(1)
    created = _h("2026-01-05") + rng.uniform(0, 24 * 40, 200)
    prio = rng.choice(["P1", "P2", "P3"], 200)
    fast = sla_deadlines(created, prio, cal)
    slow = [sla_deadline(c, p, cal) for c, p in zip(created, prio, strict=True)]
    np.testing.assert_allclose(fast, slow)


def test_the_business_calendar_is_built_once_and_spans_decades():
    cal = business_calendar()
    assert business_calendar() is cal
    # Monday 2040-01-02 09:00 to 10:00 UTC: one business hour, a working day in the span.
    assert cal.worked(_h("2040-01-02 09:00"), _h("2040-01-02 10:00")) == pytest.approx(1.0)
