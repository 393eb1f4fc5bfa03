"""What a customer says that raises the stakes, and how the team defuses it.

Every customer message may carry cues (keys of :data:`~sources.synthetic.phrasebook.MENTIONS`):

- a *demand* (:data:`~sources.synthetic.phrasebook.DEMANDS`): asking for escalation or a manager
  (``escalate``), bringing in their executives (``executive``), threatening to leave, naming a
  competitor or a renewal decision (``churn``), involving legal (``legal``). A demand starts the
  demand hazard ``s.demand`` (per hour, :data:`DEMAND_RATE` scaled by the account's value and
  the customer's frustration); repeating it while it stands multiplies the rate. Its odds rise
  with frustration, unanswered chasers, a missed SLA, reopens and the account's value, and most
  with the customer's temperament: an assertive customer (a hidden trait of the ticket, about a
  third) asks, the others mostly only complain. Large accounts bring in executives, accounts
  near renewal talk churn, contract tickets go to legal.
- a *topic* mention (billing, security, outage) naming what the ticket is about; no effect.
- a *harmless* mention of the same words (:data:`~sources.synthetic.phrasebook.BENIGN`):
  "our legal team needs a copy of the DPA", "cancel my extra seat"; no effect on any hazard.

The desk hears a demand with odds :data:`REACT_P` (more for large accounts; hidden state, so the
ground truth knows it) and then answers sooner (:data:`REACT_SCALE` of the usual delay). An
answer defuses the demand when it solves the problem, is an update during an outage, hands the
ticket to the tier that can solve it, or, from a desk that heard the demand, makes progress or
takes ownership (a reassurance, :data:`REASSURE_P`); routine troubleshooting from a desk that
did not notice leaves it standing. Within :data:`DEFUSE_H` hours of the demand (by priority) it
ends, later it only weakens (:data:`LATE_RELIEF`). Left alone, a demand lapses after a
log-normal time (the ``lapse`` clock, median :data:`LAPSE_H` hours): the customer cools down or
gives up, so an ignored demand escalates often, not surely.
"""

from __future__ import annotations

import math
import random

from sources.synthetic.phrasebook import DEMANDS
from sources.synthetic.state import Clock, TicketState, lognormal_after

__all__ = ["DEMANDS", "defuse", "lapse", "make_demand", "react_odds", "voice"]

# Log-odds that a message carries a new demand, by the moment it is written at.
DEMAND_Z0 = {"opening": -6.5, "reply": -5.1, "follow_up": -4.2, "reopen": -3.7}
DEMAND_Z_F = 5.5  # per unit of frustration above 0.5
DEMAND_Z_UNANSWERED = 0.35  # per unanswered message (up to 3)
DEMAND_Z_BREACH = 0.5
DEMAND_Z_REOPEN = 0.5  # per reopen (up to 2)
DEMAND_Z_ARR = 0.6  # per decade of ARR above $30k
DEMAND_Z_STRATEGIC = 0.4
DEMAND_Z_OUTAGE = -1.0  # during an outage customers wait for the incident to be fixed
# Some customers ask for what they want (``s.assertive``, drawn per ticket); most, however angry,
# only complain.
ASSERTIVE_P = 0.35
DEMAND_Z_ASSERTIVE = 2.5
# Escalation rate per hour a fresh demand carries, before account value and frustration.
DEMAND_RATE = {"escalate": 0.32, "executive": 0.32, "churn": 0.26, "legal": 0.32}
DEMAND_RATE_ARR = 0.7  # log-rate per decade of ARR above $30k
DEMAND_RATE_F = 1.5  # log-rate per unit of frustration above 0.5
REPEAT_P = {"opening": 0.0, "reply": 0.3, "follow_up": 0.55, "reopen": 0.6}
REPEAT_MULT = 1.6
MAX_RATE = 3.0
LAPSE_H, LAPSE_SIGMA = 12.0, 0.6
# A desk that hears a demand pulls the reply forward (REACT_SCALE of the usual median) with
# these odds, more often for large accounts.
REACT_P, REACT_P_LARGE, REACT_SCALE = 0.55, 0.7, 0.2
# An agent answering a demand the desk heard takes ownership with these odds, even without a fix.
REASSURE_P = 0.7
# Hours within which a helpful answer ends a demand, by priority; a later one only weakens it.
DEFUSE_H = {"P1": 2.0, "P2": 4.0, "P3": 8.0}
LATE_RELIEF = 0.5
# Harmless mentions: chance per message and which words, by category.
BENIGN_P = {"opening": 0.04, "reply": 0.02, "follow_up": 0.005, "reopen": 0.005}
BENIGN_BY_CATEGORY = {
    "contract": (("benign_legal", 0.6), ("benign_executive", 0.4)),
    "billing": (("benign_churn", 0.7), ("benign_legal", 0.3)),
    "security": (("benign_security", 0.8), ("benign_legal", 0.2)),
    "technical": (("benign_executive", 0.4), ("benign_security", 0.3), ("benign_churn", 0.3)),
    "howto": (("benign_executive", 0.5), ("benign_churn", 0.25), ("benign_security", 0.25)),
}
BIG_ARR_LOG = math.log10(150_000 / 30_000)  # accounts this large bring in executives


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    u = rng.random() * sum(w for _, w in weighted)
    for name, w in weighted:
        u -= w
        if u < 0:
            return name
    return weighted[-1][0]


def demand_odds(s: TicketState, moment: str) -> float:
    """Probability that a customer message written at ``moment`` carries a new demand."""
    z = (
        DEMAND_Z0[moment]
        + DEMAND_Z_F * (s.F - 0.5)
        + DEMAND_Z_UNANSWERED * min(s.unanswered, 3)
        + DEMAND_Z_BREACH * s.breached
        + DEMAND_Z_REOPEN * min(s.reopens, 2)
        + DEMAND_Z_ARR * s.arr_log
        + DEMAND_Z_STRATEGIC * s.strategic
        + DEMAND_Z_OUTAGE * (s.outage and s.t < s.outage_end)
        + DEMAND_Z_ASSERTIVE * s.assertive
    )
    return 1.0 / (1.0 + math.exp(-z))


def demand_kind(s: TicketState, rng: random.Random) -> str:
    """Which demand a customer makes: escalation, executives, churn or legal."""
    big = s.strategic or s.arr_log >= BIG_ARR_LOG
    return _pick(
        rng,
        (
            ("escalate", 1.0),
            ("executive", 0.15 + 0.35 * max(s.arr_log, 0.0) + 0.35 * big),
            ("churn", 0.3 + 1.4 * s.renewal_near),
            ("legal", 0.1 + 0.7 * (s.category == "contract") + 0.15 * s.breached),
        ),
    )


def _lapse_clock(s: TicketState, rng: random.Random) -> None:
    due = s.t + lognormal_after(rng, LAPSE_H, LAPSE_SIGMA, 0.0)
    s.clocks["lapse"] = Clock(s.t, LAPSE_H, LAPSE_SIGMA, due, False)


def make_demand(s: TicketState, rng: random.Random, kind: str) -> None:
    """Start a demand of ``kind`` now: its rate per hour from the account and the mood."""
    rate = DEMAND_RATE[kind] * math.exp(DEMAND_RATE_ARR * s.arr_log + DEMAND_RATE_F * (s.F - 0.5))
    s.demand = min(MAX_RATE, rate)
    s.demand_kind = kind
    s.demand_at = s.t
    s.demands += 1
    _lapse_clock(s, rng)


def lapse(s: TicketState) -> None:
    """Nobody answered and the customer let it go: the demand ends."""
    s.demand = 0.0


def voice(s: TicketState, rng: random.Random, moment: str) -> tuple[str, ...]:
    """The cues of one customer message (opening, reply, follow_up or reopen); updates ``s``.

    Returns the mention keys for :class:`~sources.synthetic.text.TextBank`: topic mentions,
    then a demand (new or repeated), then a harmless mention.
    """
    out: list[str] = []
    if s.F >= 0.55 and rng.random() < 0.9 * (s.F - 0.55):
        if s.category in ("billing", "security"):
            out.append(s.category)
        elif s.outage:
            out.append("outage")
    if s.demand > 0.0:
        if rng.random() < REPEAT_P[moment]:
            s.demand = min(MAX_RATE, s.demand * REPEAT_MULT)
            s.demand_at = s.t  # asked again: a fast answer now still counts
            s.demands += 1
            _lapse_clock(s, rng)
            out.append(s.demand_kind if rng.random() < 0.6 else "escalate")
    elif rng.random() < demand_odds(s, moment):
        kind = demand_kind(s, rng)
        make_demand(s, rng, kind)
        out.append(kind)
        if kind != "legal" and s.category == "contract" and rng.random() < 0.3:
            out.append("legal")
    if rng.random() < BENIGN_P[moment]:
        benign = _pick(rng, BENIGN_BY_CATEGORY[s.category])
        if benign.removeprefix("benign_") not in out:
            out.append(benign)
    return tuple(dict.fromkeys(out))


def react_odds(s: TicketState) -> float:
    """Probability that the desk, hearing a demand, answers sooner than usual."""
    return REACT_P_LARGE if s.strategic or s.arr_log >= BIG_ARR_LOG else REACT_P


def defuse(s: TicketState, helpful: bool) -> None:
    """The team answered: a fast, helpful answer ends a standing demand, a late one weakens it."""
    if s.demand <= 0.0 or not helpful:
        return
    if s.t - s.demand_at <= DEFUSE_H[s.priority]:
        s.demand = 0.0
        s.defused += 1
        s.clocks.pop("lapse", None)
    else:
        s.demand *= LATE_RELIEF
