"""Placing the escalation on the cumulative hazard of a ticket's gaps."""

from __future__ import annotations

import pytest

from sources.synthetic.escalation import place_escalation

# (gap start, cumulative hazard at the start, hazard per hour): 0.5/h for 2 h, then nothing
# for 3 h (e.g. solved, hazard 0), then 1/h until the ticket ends at 10 h.
SEGMENTS = [(0.0, 0.0, 0.5), (2.0, 1.0, 0.0), (5.0, 1.0, 1.0)]


@pytest.mark.parametrize(
    ("u_exp", "expected"),
    [(0.5, 1.0), (0.999, 1.998), (1.0, 5.0), (3.0, 7.0), (6.0, None), (7.0, None)],
)
def test_first_time_the_cumulative_hazard_reaches_the_draw(u_exp, expected):
    tau = place_escalation(SEGMENTS, 10.0, u_exp)
    assert tau == (None if expected is None else pytest.approx(expected))


def test_no_hazard_no_escalation():
    assert place_escalation([(0.0, 0.0, 0.0)], 100.0, 1e-9) is None
    assert place_escalation([], 100.0, 0.1) is None
