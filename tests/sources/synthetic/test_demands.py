"""Customer demands raise the true escalation probability; a fast, helpful answer defuses them."""

from __future__ import annotations

import random

import pytest

from sources.synthetic.demands import (
    DEFUSE_H,
    LATE_RELIEF,
    defuse,
    demand_odds,
    make_demand,
    voice,
)
from sources.synthetic.phrasebook import BENIGN, DEMANDS, MENTIONS
from sources.synthetic.truth import true_probability

REPLICATES = 300


def _p(process, state, seed: int = 1) -> float:
    return true_probability(process, state, random.Random(seed), REPLICATES)


def test_an_escalation_request_raises_the_true_probability_far_above_a_calm_message(
    truth_process, opened_ticket
):
    # The same annoyed customer, at the same moment: one message is calm, one asks to escalate.
    calm = opened_ticket(frustration=0.55)
    asked = calm.copy()
    make_demand(asked, random.Random(0), "escalate")
    p_calm, p_asked = _p(truth_process, calm), _p(truth_process, asked)
    assert p_asked > p_calm + 0.2, (p_calm, p_asked)
    assert p_asked > 4 * p_calm, (p_calm, p_asked)


@pytest.mark.parametrize("kind", DEMANDS)
def test_every_demand_raises_it_more_for_a_large_account(truth_process, opened_ticket, kind):
    p = {}
    for arr in (8_000.0, 600_000.0):
        s = opened_ticket(arr=arr)
        make_demand(s, random.Random(0), kind)
        p[arr] = _p(truth_process, s)
    assert p[600_000.0] > p[8_000.0] + 0.05, p


def test_a_fast_helpful_answer_defuses_a_demand_and_a_late_one_only_weakens_it(
    truth_process, opened_ticket
):
    calm = opened_ticket()
    asked = calm.copy()
    make_demand(asked, random.Random(0), "escalate")
    rate = asked.demand

    answered_fast = asked.copy()
    answered_fast.t += 0.5
    defuse(answered_fast, helpful=True)
    assert answered_fast.demand == 0.0 and answered_fast.defused == 1
    unanswered = asked.copy()
    unanswered.t += 0.5
    p_fast, p_open = _p(truth_process, answered_fast), _p(truth_process, unanswered)
    assert p_fast < p_open - 0.25, (p_fast, p_open)
    assert p_fast < _p(truth_process, calm) + 0.05

    late = asked.copy()
    late.t += DEFUSE_H[late.priority] + 1.0
    defuse(late, helpful=True)
    assert late.demand == pytest.approx(rate * LATE_RELIEF)
    unhelpful = asked.copy()
    unhelpful.t += 0.5
    defuse(unhelpful, helpful=False)
    assert unhelpful.demand == rate


def _reply_soon(state, helpfulness: float):
    """The state with the agent's reply as the next thing that happens, 20 minutes from now."""
    s = state.copy()
    for name in ("followup", "sla", "lapse"):
        s.clocks.pop(name, None)
    s.clocks["agent"].due = s.t + 1 / 3
    s.helpfulness = helpfulness
    return s


def test_the_process_defuses_with_a_fast_reply_that_moves_the_ticket_forward(
    truth_process, opened_ticket
):
    asked = opened_ticket()
    make_demand(asked, random.Random(0), "churn")
    solved = 0
    for seed in range(200):
        # A desk that heard the demand and makes progress defuses it.
        heard = _reply_soon(asked, helpfulness=1.0)
        heard.heard = True
        truth_process.step(heard, random.Random(seed), None)
        assert heard.demand == 0.0, seed
        # One that did not notice defuses it only by solving the problem there and then.
        unheard = _reply_soon(asked, helpfulness=1.0)
        truth_process.step(unheard, random.Random(seed), None)
        assert (unheard.demand == 0.0) == (unheard.status == "solved"), seed
        solved += unheard.status == "solved"
        # Routine troubleshooting that does not help leaves it standing.
        unhelpful = _reply_soon(asked, helpfulness=0.0)
        truth_process.step(unhelpful, random.Random(seed), None)
        assert unhelpful.demand == asked.demand, seed
    assert 0.3 < solved / 200 < 0.7


def test_a_desk_that_heard_the_demand_reassures_even_without_a_fix(truth_process, opened_ticket):
    asked = opened_ticket()
    make_demand(asked, random.Random(0), "escalate")
    defused = 0
    for seed in range(200):
        s = _reply_soon(asked, helpfulness=0.0)
        s.heard = True
        truth_process.step(s, random.Random(seed), None)
        defused += s.demand == 0.0
    assert 0.5 < defused / 200 < 0.9


def test_demands_come_more_often_from_frustrated_chasing_valuable_customers(opened_ticket):
    base = opened_ticket()
    odds = demand_odds(base, "follow_up")
    for change in (
        {"F": 0.7},
        {"unanswered": 3},
        {"breached": 1},
        {"reopens": 1},
        {"arr_log": 1.0},
    ):
        s = base.copy()
        for k, v in change.items():
            setattr(s, k, v)
        assert demand_odds(s, "follow_up") > odds, change
    assert demand_odds(base, "opening") < demand_odds(base, "follow_up")


def test_harmless_mentions_never_start_a_demand(opened_ticket):
    rng = random.Random(3)
    base = opened_ticket(frustration=0.1)
    benign = 0
    for _ in range(4000):
        s = base.copy()
        cues = voice(s, rng, "opening")
        assert set(cues) <= set(MENTIONS)
        if any(c in BENIGN for c in cues):
            benign += 1
            assert s.demand == 0.0 or any(c in DEMANDS for c in cues), cues
    assert benign > 40
