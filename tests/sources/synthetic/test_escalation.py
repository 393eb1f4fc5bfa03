"""Placing the escalation on the cumulative hazard of a ticket's gaps; its source and kind."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from sources.synthetic.escalation import classify, place_escalation

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


def _segment(tier_h: float, demand_h: float, silent_h: float, kind: str = "", tier: int = 1):
    """One gap from 0 h on, as the process records it: hazards, demand kind, tier, agent."""
    return [(0.0, 0.0, tier_h + demand_h + silent_h, tier_h, demand_h, silent_h, kind, tier, "a")]


def _kinds(state, segments, n: int = 400) -> Counter:
    rng = random.Random(0)
    return Counter(classify(rng, state, segments, 1.0)[::2] for _ in range(n))


def test_the_source_follows_the_hazards_and_picks_the_kind(opened_ticket):
    small = opened_ticket(arr=8_000.0)
    small.needed_tier = 2
    # The desk's own escalation of a ticket below the tier it needs: to the specialists.
    by_process = _kinds(small, _segment(1.0, 0.0, 0.0, tier=1))
    assert set(k[0] for k in by_process) == {"process"}
    assert by_process[("process", "functional")] > 0.7 * 400
    # Customer executives make an executive escalation; a manager request goes up the chain.
    assert _kinds(small, _segment(0.0, 1.0, 0.0, "executive")) == {("customer", "executive"): 400}
    # (A technical ticket at the tier it needs: sometimes straight to engineering instead.)
    asked = _kinds(small, _segment(0.0, 1.0, 0.0, "escalate", tier=2))
    assert set(asked) == {("customer", "hierarchical"), ("customer", "functional")}
    assert asked[("customer", "hierarchical")] > 0.6 * 400
    # Silent escalations: an account manager for a small account, often executives for a big one.
    silent_small = _kinds(small, _segment(0.0, 0.0, 1.0))
    big = opened_ticket(arr=900_000.0)
    silent_big = _kinds(big, _segment(0.0, 0.0, 1.0))
    assert silent_big[("internal", "executive")] > 2 * silent_small[("internal", "executive")]
    assert silent_small[("internal", "hierarchical")] > 0.7 * 400
    # Competing risks: the source is drawn in proportion to the hazards.
    mixed = Counter(k[0] for k in _kinds(small, _segment(1.0, 3.0, 0.0, "churn"), 2000).elements())
    assert mixed["customer"] / 2000 == pytest.approx(0.75, abs=0.04)


def test_a_legal_threat_that_escalates_is_a_contract_matter(opened_ticket):
    s = opened_ticket()
    rng = random.Random(1)
    types = {classify(rng, s, _segment(0.0, 1.0, 0.0, "legal"), 1.0)[1] for _ in range(50)}
    assert types == {"contract_legal"}
