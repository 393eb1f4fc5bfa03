"""A synthetic ticket's hidden state, its pending clocks and its escalation hazards.

A ticket is a small state machine (who holds it, at which tier, what it waits for) plus a hidden
frustration ``F`` in [0, 1] that rises with delays, unanswered follow-ups, SLA breaches, handoffs,
bouncebacks and reopens, and falls with progress. Pending actions are *clocks* (agent reply,
customer reply, follow-up, nudge, close, reopen) whose delays are log-normal; a clock remembers
when it started so that its remaining delay can be re-drawn conditionally on the time already
elapsed.

Escalation is a sum of three competing hazards; between two events each is constant per hour:

- tier (the support process escalates a stuck ticket to a higher tier or a specialist team):
  ``(H0 * exp(bF*F + bArr*log10(ARR/30k) + bStrategic*strategic + bBreach*breached
  + severity[category]) + trigger) * STATUS_FACTOR[status]``, where ``trigger`` is the desk's
  escalation rules: for a review window (median :data:`REVIEW_H` hours) after a missed
  first-response SLA or a reopen the rate rises by :data:`TRIGGER_BREACH` (by priority) or
  :data:`TRIGGER_REOPEN`;
- demand (the customer asked for escalation or a manager, involved their executives, threatened
  to leave or to go to legal: :mod:`sources.synthetic.demands`): the demand's own rate
  ``s.demand`` (about 0.2-1 per hour) times ``DEMAND_STATUS[status]``, until the team defuses it;
- silent (an account manager or executive escalates internally, nothing said on the ticket):
  ``s.silent`` (account value, renewal proximity, the account's escalation history) times
  ``exp(bSilentF*F) * SILENT_STATUS[status]``.

The ticket escalates at the first time the cumulative hazard exceeds an Exp(1) draw; which
channel it came from is drawn in proportion to the three rates at that moment
(:mod:`sources.synthetic.escalation`). How the state moves is :mod:`sources.synthetic.process`.
"""

from __future__ import annotations

import math
import random
from statistics import NormalDist

_ND = NormalDist()

# Tier hazard (per hour): about 3.5% of tickets escalate through it.
H0 = 0.00003
B_F = 5.0
B_ARR = 0.45
B_BREACH = 0.45
B_STRATEGIC = 0.3
# Trivial categories rarely escalate however angry the customer is; a ticket about an outage
# is handled through the incident, not escalated on its own.
SEVERITY = {"howto": -1.6, "billing": 0.0, "technical": 0.1, "contract": 0.0, "security": 0.4}
OUTAGE_SEVERITY = -1.2
# The desk's escalation rules: extra tier hazard per hour for a review window after an event.
TRIGGER_BREACH = {"P1": 0.06, "P2": 0.005, "P3": 0.0}
TRIGGER_REOPEN = 0.015
REVIEW_H = 8.0
STATUS_FACTOR = {
    "new": 1.0,
    "open": 1.0,
    "pending_internal": 1.0,
    "pending_customer": 0.45,
    "solved": 0.15,
}
# A customer's demand is urgent while the team holds the ticket; waiting on the customer or a
# proposed solution calms it.
DEMAND_STATUS = {
    "new": 1.0,
    "open": 1.0,
    "pending_internal": 1.0,
    "pending_customer": 0.35,
    "solved": 0.08,
}
# Internal escalations come while the ticket is visibly open.
SILENT_STATUS = {
    "new": 1.0,
    "open": 1.0,
    "pending_internal": 1.0,
    "pending_customer": 0.6,
    "solved": 0.1,
}
# Silent (internal) escalation rate per hour: account value, renewal within 90 days (0..1,
# nearer is higher), the account's escalations in the past year (up to 3), strategic, P1.
SILENT_H0 = 0.00008
SILENT_ARR = 1.1
SILENT_RENEWAL = 1.5
SILENT_HISTORY = 0.45
SILENT_STRATEGIC = 0.6
SILENT_P1 = 0.5
B_SILENT_F = 1.5


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
        "severity",
        "arr_log",
        "renewal_near",
        "history",
        "demand",
        "demand_kind",
        "demand_at",
        "demands",
        "defused",
        "silent",
        "vent",
        "nudges",
        "heard",
        "assertive",
        "trigger",
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


def hazards(s: TicketState) -> tuple[float, float, float]:
    """The three escalation hazards per hour in the current state: tier, demand, silent."""
    if s.status == "closed":
        return 0.0, 0.0, 0.0
    x = B_F * s.F + s.arr_term + B_BREACH * s.breached + s.severity
    tier = (H0 * math.exp(x) + s.trigger) * STATUS_FACTOR[s.status]
    demand = s.demand * DEMAND_STATUS[s.status] if s.demand > 0.0 else 0.0
    silent = s.silent * math.exp(B_SILENT_F * s.F) * SILENT_STATUS[s.status]
    return tier, demand, silent


def hazard(s: TicketState) -> float:
    """Total escalation hazard per hour in the current state."""
    tier, demand, silent = hazards(s)
    return tier + demand + silent
