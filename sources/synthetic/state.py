"""A synthetic ticket's hidden state, its pending clocks and its escalation hazard.

A ticket is a small state machine (who holds it, at which tier, what it waits for) plus a hidden
frustration ``F`` in [0, 1] that rises with delays, unanswered follow-ups, SLA breaches, handoffs,
bouncebacks and reopens, and falls with progress. Pending actions are *clocks* (agent reply,
customer reply, follow-up, close, reopen) whose delays are log-normal; a clock remembers when it
started so that its remaining delay can be re-drawn conditionally on the time already elapsed.

Escalation is a hazard process: between two events the hazard per hour is constant,

    h = h0 * exp(bF*F + bArr*log10(ARR/30k) + bBreach*breached + bThreat*threatened
                 + bStrategic*strategic) * status_factor

and the ticket escalates at the first time the cumulative hazard exceeds an Exp(1) draw
(:mod:`sources.synthetic.escalation`). How the state moves is :mod:`sources.synthetic.process`.
"""

from __future__ import annotations

import math
import random
from statistics import NormalDist

_ND = NormalDist()

# Hazard parameters (per hour). h0 is tuned so that about 5% of tickets escalate.
H0 = 0.00009
B_F = 5.0
B_ARR = 0.55
B_BREACH = 0.45
B_THREAT = 0.6
B_STRATEGIC = 0.35
STATUS_FACTOR = {
    "new": 1.0,
    "open": 1.0,
    "pending_internal": 1.0,
    "pending_customer": 0.45,
    "solved": 0.15,
}


class Clock:
    """A pending action: started at ``start``; due at ``due`` (epoch hours)."""

    __slots__ = ("start", "median", "sigma", "due", "working")

    def __init__(self, start: float, median: float, sigma: float, due: float, working: bool):
        self.start, self.median, self.sigma, self.due, self.working = (
            start,
            median,
            sigma,
            due,
            working,
        )


def lognormal_after(rng: random.Random, median: float, sigma: float, elapsed: float) -> float:
    """A log-normal delay conditioned on being longer than ``elapsed``."""
    mu = math.log(median)
    if elapsed <= 0:
        return math.exp(mu + sigma * rng.gauss(0.0, 1.0))
    lo = _ND.cdf((math.log(elapsed) - mu) / sigma)
    u = lo + (1.0 - lo) * rng.random()
    u = min(max(u, 1e-12), 1.0 - 1e-12)
    return max(elapsed, math.exp(mu + sigma * _ND.inv_cdf(u)))


class TicketState:
    """Everything about a ticket that drives its future (the hidden state)."""

    __slots__ = (
        "t",
        "F",
        "status",
        "tier",
        "team",
        "agent",
        "needed_tier",
        "priority",
        "breached",
        "responded",
        "unanswered",
        "wait_since",
        "reopens",
        "visited",
        "threat",
        "clocks",
        "outage",
        "outage_end",
        "category",
        "area",
        "arr_term",
        "strategic",
        "bounce_p",
        "load_mult",
        "created",
        "sla_due",
        "helpfulness",
        "channel",
    )

    def copy(self) -> TicketState:
        new = TicketState.__new__(TicketState)
        for name in TicketState.__slots__:
            setattr(new, name, getattr(self, name))
        new.visited = set(self.visited)
        new.clocks = {
            k: Clock(c.start, c.median, c.sigma, c.due, c.working) for k, c in self.clocks.items()
        }
        return new


def hazard(s: TicketState) -> float:
    """Escalation hazard per hour in the current state."""
    if s.status == "closed":
        return 0.0
    x = B_F * s.F + s.arr_term + B_BREACH * s.breached + B_THREAT * s.threat
    return H0 * math.exp(x) * STATUS_FACTOR[s.status]
