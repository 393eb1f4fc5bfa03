"""Builders for one synthetic ticket's hidden state, outside a whole simulated organisation."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from features.calendar import BUSINESS_HOURS, Calendar
from sources.synthetic.organisation import (
    FRONTLINE_HOURS,
    SPECIALIST_HOURS,
    START,
    AgentPool,
    team_sizes,
)
from sources.synthetic.process import Environment, TicketProcess
from sources.synthetic.state import TicketState
from sources.synthetic.tickets import new_ticket

T0 = START.value / 3.6e12  # epoch hours of the organisation's first day (a Monday 00:00 UTC)
TUESDAY_10 = T0 + 24 + 10  # a working hour for every team


@pytest.fixture(scope="module")
def truth_process() -> TicketProcess:
    """A text-free ticket process over a small organisation (what ground truth re-simulates)."""
    days = 60
    end = T0 + days * 24.0 + 24 * 60
    pool = AgentPool(team_sizes(1000, days), int(end - T0) + 24 * 60, T0, seed=1)
    env = Environment(
        Calendar(FRONTLINE_HOURS, T0 - 48, end),
        Calendar(SPECIALIST_HOURS, T0 - 48, end),
        pool.choose,
    )
    return TicketProcess(env, None)


@pytest.fixture(scope="module")
def opened_ticket(truth_process: TicketProcess) -> Callable[..., TicketState]:
    """``opened_ticket(arr=..., seed=...)``: a P2 technical ticket just opened on a Tuesday at 10:00,
    calm (no demand in its opening), at the tier it needs, on an account of that ARR."""
    business = Calendar(BUSINESS_HOURS, T0 - 48, T0 + 24 * 120)

    def build(arr: float = 60_000.0, seed: int = 0, frustration: float = 0.3) -> TicketState:
        rng = random.Random(seed)
        account = {
            "arr": arr,
            "strategic": arr >= 400_000,
            "renewal_h": T0 + 24 * 300,
            "temper": 0,
        }
        while True:
            s, meta = new_ticket(rng, TUESDAY_10, account, None, business)
            if meta["category"] == "technical" and meta["priority"] == "P2":
                break
        s.F, s.needed_tier, s.vent = frustration, 1, 0.0
        truth_process.open(s, rng, [])
        s.demand, s.demand_kind, s.demands, s.heard = 0.0, "", 0, False
        s.clocks.pop("lapse", None)
        return s

    return build
