"""When a synthetic ticket escalates, through which channel, of which type and kind, and after.

The ticket escalates at the first time its cumulative hazard (:func:`~sources.synthetic.state.
hazards`, integrated over the gaps between events) exceeds an Exp(1) draw. The channel is drawn
in proportion to the three hazards of that gap (competing risks):

- ``process`` (the tier hazard): the desk escalates a stuck ticket, ``functional`` (to the
  specialist team that owns it) mostly when it sits below the tier it needs, else
  ``hierarchical`` (up to escalation management);
- ``customer`` (a standing demand): an escalation request goes up the chain
  (``hierarchical``) or, on a ticket below the tier it needs, often straight to the team that
  can fix it (``functional``); customer executives make it ``executive``; a churn or legal
  threat from a large account often reaches the executive sponsor (``executive``), else
  escalation management;
- ``internal`` (silent): an account manager raises it (``hierarchical``) or an executive takes
  it over (``executive``, mostly for large accounts).

Everything from the escalation on is replaced by its handling: a note, a hand-over, an
acknowledgement and a resolution by the team the escalation goes to.
"""

from __future__ import annotations

import bisect
import math
import random

from sources.synthetic.demands import BIG_ARR_LOG
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
SOURCES = ("process", "customer", "internal")
# P(executive) of a customer demand that escalates, for a large / another account.
EXECUTIVE_P = {"escalate": (0.1, 0.0), "churn": (0.55, 0.1), "legal": (0.3, 0.05)}
INTERNAL_EXECUTIVE_P = (0.45, 0.15)
FUNCTIONAL_P = (0.8, 0.4)  # tier hazard: below the needed tier / at it
# An escalation request goes straight to the team that can fix it: below the needed tier / at
# it (technical and security tickets only).
FUNCTIONAL_DEMAND_P = (0.6, 0.3)


def place_escalation(segments: list, end: float, u_exp: float) -> float | None:
    """The time when the cumulative hazard first reaches ``u_exp`` before ``end``, or None.

    ``segments`` are (start, cumulative hazard at start, hazard per hour, ...) of consecutive
    gaps; fields after the third are ignored.
    """
    for i, seg in enumerate(segments):
        t_start, lam_start, h = seg[0], seg[1], seg[2]
        t_end = segments[i + 1][0] if i + 1 < len(segments) else end
        if h > 0:
            t_hit = t_start + (u_exp - lam_start) / h
            if t_start <= t_hit < t_end:
                return t_hit
    return None


def _to_specialists_p(s: TicketState, tier: int) -> float:
    if tier < s.needed_tier:
        return FUNCTIONAL_DEMAND_P[0]
    return FUNCTIONAL_DEMAND_P[1] if s.category in ("technical", "security") else 0.0


def classify(
    rng: random.Random, s: TicketState, segments: list, tau: float
) -> tuple[str, str, str]:
    """Source, type and kind of the escalation at ``tau``.

    ``segments`` as collected by :meth:`~sources.synthetic.process.TicketProcess.step`; ``s``
    is the ticket's final state (its account and category do not change).
    """
    i = max(bisect.bisect_right([seg[0] for seg in segments], tau) - 1, 0)
    _, _, h, h_tier, h_demand, _, demand_kind, tier, _ = segments[i]
    u = rng.random() * h
    source = "process" if u < h_tier else "customer" if u < h_tier + h_demand else "internal"
    etype = CATEGORY_TO_TYPE[s.category]
    col = 0 if s.strategic or s.arr_log >= BIG_ARR_LOG else 1  # large account / another
    if source == "process":
        below = int(s.needed_tier <= tier)
        kind = "functional" if rng.random() < FUNCTIONAL_P[below] else "hierarchical"
    elif source == "customer":
        if demand_kind == "legal":
            etype = "contract_legal"
        if demand_kind == "executive":
            kind = "executive"
        elif rng.random() < EXECUTIVE_P[demand_kind][col]:
            kind = "executive"
        elif demand_kind == "escalate" and rng.random() < _to_specialists_p(s, tier):
            kind = "functional"  # escalated straight to the team that can fix it
        else:
            kind = "hierarchical"
    else:
        kind = "executive" if rng.random() < INTERNAL_EXECUTIVE_P[col] else "hierarchical"
    return source, etype, kind


def escalation_events(
    rng: random.Random,
    tb: TextBank,
    s: TicketState,
    tau: float,
    kind: str,
    etype: str,
    source: str = "process",
) -> list[tuple]:
    """What happens on a ticket once it escalated: the hand-over and a resolution."""
    note_kind = "escalation"
    if kind == "executive":
        team, tier, voice = "executive_office", 3, 4
        note_kind = "executive_escalation"
    elif kind == "hierarchical":
        team, tier, voice = "escalation_management", 3, 4
        if source == "internal":
            note_kind = "account_escalation"
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
    note = tb.internal_note(rng, note_kind, s.category, s.area, s.tier)
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
    rng: random.Random,
    tb: TextBank,
    s: TicketState,
    events: list[tuple],
    segments: list,
    tau: float,
) -> tuple[list[tuple], str, str, str]:
    """Replace a ticket's events from ``tau`` on by its escalation's handling.

    ``s`` is the ticket's final state; the team, agent and tier at ``tau`` come from the last
    assignment before it, the channel from the hazards of the gap holding ``tau``. Returns the
    new events, the escalation source (process, customer or internal), type and kind
    (hierarchical, functional or executive).
    """
    keep = [e for e in events if e[0] < tau]
    state_at = s  # the final state; only used for team/agent/category text
    last = next((e for e in reversed(keep) if e[1] == "assignment"), None)
    if last is not None:
        state_at = s.copy()
        state_at.team, state_at.agent, state_at.tier = last[4], last[3], last[5]
    source, etype, kind = classify(rng, s, segments, tau)
    handling = escalation_events(rng, tb, state_at, tau, kind, etype, source)
    return keep + handling, source, etype, kind
