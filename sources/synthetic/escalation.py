"""When a synthetic ticket escalates, of which type and kind, and what happens afterwards.

The ticket escalates at the first time its cumulative hazard (:func:`~sources.synthetic.state.
hazard`, integrated over the gaps between events) exceeds an Exp(1) draw; everything from then
on is replaced by the escalation's handling: a note, a hand-over, an acknowledgement and a
resolution by the team the escalation goes to.
"""

from __future__ import annotations

import math
import random

from sources.synthetic.process import tier2_team
from sources.synthetic.state import TicketState
from sources.synthetic.text import TextBank

CATEGORY_TO_TYPE = {
    "billing": "billing_dispute",
    "technical": "technical_failure",
    "contract": "contract_legal",
    "security": "security",
    "howto": "other",
}


def place_escalation(segments: list, end: float, u_exp: float) -> float | None:
    """The time when the cumulative hazard first reaches ``u_exp`` before ``end``, or None.

    ``segments`` are (start, cumulative hazard at start, hazard per hour) of consecutive gaps.
    """
    for i, (t_start, lam_start, h) in enumerate(segments):
        t_end = segments[i + 1][0] if i + 1 < len(segments) else end
        if h > 0:
            t_hit = t_start + (u_exp - lam_start) / h
            if t_start <= t_hit < t_end:
                return t_hit
    return None


def escalation_events(
    rng: random.Random, tb: TextBank, s: TicketState, tau: float, kind: str, etype: str
) -> list[tuple]:
    """What happens on a ticket once it escalated: the hand-over and a resolution."""
    if kind == "hierarchical":
        team, tier, voice = "escalation_management", 3, 4
    else:
        team = {
            "billing_dispute": "billing_ops",
            "contract_legal": "account_management",
            "security": "security_ops",
            "technical_failure": "engineering",
            "other": tier2_team("howto", s.area),
        }[etype]
        tier = 3 if team == "engineering" else 2
        voice = tier
        if team == s.team:  # a functional escalation goes sideways, to another team
            team, tier, voice = "escalation_management", 3, 4
    t = tau
    note = tb.internal_note(rng, "escalation", s.category, s.area, s.tier)
    ev = [(t, "internal_note", "agent", s.agent, None, None, None, None, None, note)]
    t += 60 / 3600
    ev.append((t, "assignment", "agent", s.agent, team, tier, None, None, None, None))
    agent = f"{team}-lead"
    t += rng.uniform(0.1, 1.0)
    ack = tb.agent_message(rng, "escalation_ack", s.category, s.area, voice)
    ev.append((t, "agent_message", "agent", agent, None, None, None, None, None, ack))
    t += 30 / 3600
    ev.append((t, "status_change", "agent", agent, None, None, "open", None, None, None))
    t += rng.lognormvariate(math.log(8.0), 0.8)
    done = tb.agent_message(rng, "resolution", s.category, s.area, voice)
    ev.append((t, "agent_message", "agent", agent, None, None, None, None, None, done))
    t += 30 / 3600
    ev.append((t, "status_change", "agent", agent, None, None, "solved", None, None, None))
    t += rng.lognormvariate(math.log(40.0), 0.35)
    ev.append((t, "status_change", "system", None, None, None, "closed", None, None, None))
    return ev


def escalate(
    rng: random.Random, tb: TextBank, s: TicketState, events: list[tuple], tau: float
) -> tuple[list[tuple], str, str]:
    """Replace a ticket's events from ``tau`` on by its escalation's handling.

    ``s`` is the ticket's final state (its category, threat and frustration pick the type and
    kind); the team and agent at ``tau`` come from the last assignment before it. Returns the
    new events, the escalation type and the kind (hierarchical or functional).
    """
    keep = [e for e in events if e[0] < tau]
    state_at = s  # the final state; only used for team/agent/category text
    last = next((e for e in reversed(keep) if e[1] == "assignment"), None)
    if last is not None:
        state_at = s.copy()
        state_at.team, state_at.agent, state_at.tier = last[4], last[3], last[5]
    etype = CATEGORY_TO_TYPE[s.category]
    if s.threat and rng.random() < 0.3:
        etype = "contract_legal"
    kind = (
        "hierarchical"
        if rng.random() < 0.45 + 0.3 * s.strategic + 0.2 * (s.F > 0.8)
        else "functional"
    )
    return keep + escalation_events(rng, tb, state_at, tau, kind, etype), etype, kind
