"""The life of one synthetic ticket: a discrete-event process over its hidden state.

Each step advances to the next due clock (:class:`~sources.synthetic.state.Clock`) and applies
it: replies, follow-ups, handoffs between tiers, bouncebacks, resolution, reopen, close, and a
nudge when the customer goes quiet (a ticket that only looks overdue: it waits on the customer).
The process emits event tuples and, when given a text bank, their wording; without one
(ground-truth re-simulation) only the state moves. Frustration rises with delays, unanswered
follow-ups, SLA breaches, handoffs, bouncebacks and reopens, and falls with progress. What the
customer demands, and whether the team's answer defuses it, is :mod:`sources.synthetic.demands`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from features.calendar import Calendar
from sources.synthetic.demands import (
    DEMANDS,
    REACT_SCALE,
    REASSURE_P,
    defuse,
    lapse,
    react_odds,
    voice,
)
from sources.synthetic.state import (
    REVIEW_H,
    TRIGGER_BREACH,
    TRIGGER_REOPEN,
    Clock,
    TicketState,
    hazards,
    lognormal_after,
)
from sources.synthetic.text import TextBank

TIER2_TEAM = {
    "billing": "billing_ops",
    "contract": "account_management",
    "security": "security_ops",
    "howto": "product_specialists",
}
_INTEGRATION_AREAS = {"api", "integrations", "webhooks", "data_sync"}
# Agent reply medians in working hours, by priority.
AGENT_MEDIAN_H = {"P1": 0.35, "P2": 1.2, "P3": 3.5}
FOLLOWUP_MEDIAN_H = {"P1": 1.0, "P2": 5.0, "P3": 20.0}
MAX_FOLLOWUPS = 4
RESOLVE_P = 0.5
# A quiet customer gets a nudge after NUDGE_H wall-clock hours, and the ticket is solved if
# 1.5 x NUDGE_H more pass without an answer.
NUDGE_H = 48.0
# The clocks a ticket can wait on; each has its handler ``_on_<name>``.
CLOCKS = "sla followup customer agent thanks reopen close nudge lapse review".split()


def tier2_team(category: str, product_area: str) -> str:
    """The tier-2 team that owns tickets of this category and product area."""
    if category == "technical":
        return (
            "integrations_specialists"
            if product_area in _INTEGRATION_AREAS
            else "product_specialists"
        )
    return TIER2_TEAM[category]


def tier3_team(outage: bool) -> str:
    """The tier-3 team: SRE during an outage, engineering otherwise."""
    return "sre" if outage else "engineering"


@dataclass
class Environment:
    """What the ticket process needs from the world: calendars and load lookups."""

    frontline: Calendar  # tier-1 coverage
    specialist: Calendar  # tier-2/3 coverage
    # (team, t, rng, commit) -> (agent_id, reply slowdown); commit updates the team's usual load
    load_multiplier: Callable[[str, float, random.Random, bool], tuple[str, float]]


class TicketProcess:
    """Runs a ticket's events from a state. Text is produced only when a text bank is given.

    ``commit``: assignments update the teams' usual load (the generated tickets); a
    re-simulated future (ground truth) must leave the world as it found it.
    """

    def __init__(
        self, env: Environment, text: TextBank | None = None, *, commit: bool = False
    ) -> None:
        self.env = env
        self.text = text
        self.commit = commit
        self._handlers = {name: getattr(self, "_on_" + name) for name in CLOCKS}

    # -- clocks -----------------------------------------------------------------------------
    def _calendar(self, tier: int) -> Calendar:
        return self.env.frontline if tier == 1 else self.env.specialist

    def _agent_clock(
        self,
        s: TicketState,
        rng: random.Random,
        start: float,
        elapsed_from: float | None = None,
        urgency: float = 1.0,
    ) -> Clock:
        median = AGENT_MEDIAN_H[s.priority] * s.load_mult * (1.0 + 0.5 * (s.tier - 1)) * urgency
        cal = self._calendar(s.tier)
        worked = cal.worked(start, elapsed_from) if elapsed_from is not None else 0.0
        w = lognormal_after(rng, median, 0.9, worked)
        return Clock(start, median, 0.9, cal.advance(start, w), True)

    def _wall_clock(
        self, rng: random.Random, start: float, median: float, sigma: float, elapsed: float = 0.0
    ) -> Clock:
        return Clock(
            start, median, sigma, start + lognormal_after(rng, median, sigma, elapsed), False
        )

    def redraw(self, s: TicketState, rng: random.Random) -> None:
        """Re-draw every pending clock's remaining delay given the time already elapsed."""
        for c in list(s.clocks.values()):
            if c.sigma == 0.0:
                continue  # a known time: SLA deadline, nudge, the update at an outage's end
            if c.working:
                cal = self._calendar(s.tier)
                w = lognormal_after(rng, c.median, c.sigma, cal.worked(c.start, s.t))
                c.due = max(cal.advance(c.start, w), s.t)
            else:
                c.due = c.start + lognormal_after(rng, c.median, c.sigma, s.t - c.start)

    # -- helpers ----------------------------------------------------------------------------
    @staticmethod
    def _bump(s: TicketState, delta: float) -> None:
        # Rises slow down near the top, so a long ticket saturates gently rather than at 1.
        if delta > 0:
            delta *= 1.0 - s.F
        s.F = min(1.0, max(0.0, s.F + delta))

    @staticmethod
    def _tone(s: TicketState) -> float:
        """The frustration a message reads with: the state's, raised for customers who vent."""
        return min(1.0, s.F + s.vent)

    def _emit(
        self,
        out: list,
        s: TicketState,
        etype: str,
        actor: str,
        *,
        team=None,
        tier=None,
        status=None,
        priority=None,
        csat=None,
        text=None,
        agent=True,
    ) -> None:
        # Events of one ticket never share a timestamp: each gets a few seconds after the last.
        out.append(
            (
                s.t,
                etype,
                actor,
                s.agent if agent else None,
                team,
                tier,
                status,
                priority,
                csat,
                text,
            )
        )

    def _note(self, out: list, s: TicketState, rng: random.Random, kind: str) -> None:
        tb = self.text
        text = tb.internal_note(rng, kind, s.category, s.area, s.tier) if tb else None
        self._emit(out, s, "internal_note", "agent", text=text)

    def _agent_says(self, out: list, s: TicketState, rng: random.Random, kind: str) -> None:
        tb = self.text
        text = tb.agent_message(rng, kind, s.category, s.area, s.tier) if tb else None
        self._emit(out, s, "agent_message", "agent", text=text)

    def _tick(self, s: TicketState, rng: random.Random) -> None:
        s.t += (2.0 + 40.0 * rng.random()) / 3600.0

    def _set_status(self, out, s, rng, status, actor="agent") -> None:
        if s.status != status:
            self._tick(s, rng)
            s.status = status
            self._emit(out, s, "status_change", actor, status=status, agent=actor == "agent")

    def _assign(self, out, s, rng, team: str, tier: int, actor: str) -> None:
        self._tick(s, rng)
        s.team, s.tier = team, tier
        agent, mult = self.env.load_multiplier(team, s.t, rng, self.commit)
        s.agent, s.load_mult = agent, mult
        s.visited.add(team)
        self._emit(out, s, "assignment", actor, team=team, tier=tier)

    # -- the process --------------------------------------------------------------------------
    def open(self, s: TicketState, rng: random.Random, out: list) -> None:
        """The ticket's first events: the customer's message and routing to tier 1."""
        tb = self.text
        mentions = voice(s, rng, "opening")
        text = None
        if tb is not None:
            f = self._tone(s)
            text = tb.opening(rng, s.category, s.area, f, s.outage, mentions, channel=s.channel)
        self._emit(out, s, "customer_message", "customer", text=text, agent=False)
        s.wait_since = s.t
        s.unanswered = 1
        self._assign(out, s, rng, "frontline", 1, "system")
        s.clocks["agent"] = self._agent_clock(s, rng, s.t)
        s.clocks["followup"] = self._wall_clock(rng, s.t, FOLLOWUP_MEDIAN_H[s.priority], 0.8)
        s.clocks["sla"] = Clock(s.t, 0.0, 0.0, s.sla_due, False)
        self._react(s, rng, mentions)

    def _react(self, s: TicketState, rng: random.Random, mentions: tuple[str, ...]) -> None:
        """A desk that hears a demand may answer sooner: the agent's reply is pulled forward."""
        if "agent" not in s.clocks or not any(m in DEMANDS for m in mentions):
            return
        if rng.random() < react_odds(s):
            fast = self._agent_clock(s, rng, s.t, urgency=REACT_SCALE)
            s.heard = True
            if fast.due < s.clocks["agent"].due:
                s.clocks["agent"] = fast

    def step(
        self,
        s: TicketState,
        rng: random.Random,
        out: list | None,
        segments: list | None = None,
        lam_so_far: float = 0.0,
    ) -> float:
        """Advance to the next due clock, apply it, return the hazard integral over the gap.

        ``out`` collects event tuples; with ``out=None`` (re-simulation) only the state moves.
        ``segments`` collects (gap start, cumulative hazard at gap start, hazard in the gap,
        then the gap's tier, demand and silent hazards, demand kind, tier and agent).
        """
        name, due = "", math.inf
        for key, clock in s.clocks.items():
            if clock.due < due:
                name, due = key, clock.due
        t_next = due if due > s.t else s.t
        h_tier, h_demand, h_silent = hazards(s)
        h = h_tier + h_demand + h_silent
        if segments is not None:
            segments.append(
                (s.t, lam_so_far, h, h_tier, h_demand, h_silent, s.demand_kind, s.tier, s.agent)
            )
        lam = h * (t_next - s.t)
        s.t = t_next
        del s.clocks[name]
        sink = out if out is not None else []
        self._handlers[name](s, rng, sink)
        if out is None:
            sink.clear()
        return lam

    def run(
        self,
        s: TicketState,
        rng: random.Random,
        out: list | None,
        segments: list | None = None,
        on_step=None,
    ) -> float:
        """Run to the end (closed). Returns the total hazard integral from the state's time.

        ``segments``: see :meth:`step`. ``on_step(state, n_events)`` is called after each step
        with the number of events emitted so far (used to snapshot states for ground truth).
        """
        total = 0.0
        for _ in range(400):  # a runaway ticket would be a generator bug; the cap ends it
            if s.status == "closed" or not s.clocks:
                break
            total += self.step(s, rng, out, segments, total)
            if on_step is not None:
                on_step(s, len(out) if out is not None else 0)
        return total

    # -- clock handlers -----------------------------------------------------------------------
    def _trigger(self, s: TicketState, rng: random.Random, rate: float) -> None:
        """The desk's escalation rules fire (a missed SLA, a reopen, a bounceback): for a review
        window the tier hazard rises by ``rate`` per hour."""
        s.trigger = max(s.trigger, rate)
        s.clocks["review"] = self._wall_clock(rng, s.t, REVIEW_H, 0.5)

    def _on_review(self, s: TicketState, rng: random.Random, out: list) -> None:
        s.trigger = 0.0

    def _on_sla(self, s: TicketState, rng: random.Random, out: list) -> None:
        if not s.responded:
            s.breached = 1
            self._bump(s, 0.08)
            self._trigger(s, rng, TRIGGER_BREACH[s.priority])

    def _on_followup(self, s: TicketState, rng: random.Random, out: list) -> None:
        if s.status not in ("new", "open", "pending_internal"):
            return
        self._bump(s, 0.03 + 0.015 * s.unanswered)
        text = None
        mentions = voice(s, rng, "follow_up")
        if self.text is not None:
            f = self._tone(s)
            text = self.text.follow_up(rng, f, s.unanswered, mentions, channel=s.channel)
        self._emit(out, s, "customer_message", "customer", text=text, agent=False)
        s.unanswered += 1
        if s.unanswered <= MAX_FOLLOWUPS:
            # Chasers come faster from an angry customer but space out as they go unanswered.
            median = FOLLOWUP_MEDIAN_H[s.priority] * s.unanswered * (1.2 - 0.6 * s.F)
            s.clocks["followup"] = self._wall_clock(rng, s.t, max(median, 0.25), 0.8)
        self._react(s, rng, mentions)

    def _customer_says(
        self, s: TicketState, rng: random.Random, out: list, kind: str
    ) -> tuple[str, ...]:
        mentions = voice(s, rng, kind)
        text = None
        if self.text is not None:
            f = self._tone(s)
            if kind == "reply":
                text = self.text.customer_reply(
                    rng, s.category, s.area, f, mentions, channel=s.channel
                )
            else:
                text = self.text.reopen(rng, s.category, s.area, f, mentions, channel=s.channel)
        self._emit(out, s, "customer_message", "customer", text=text, agent=False)
        return mentions

    def _await_agent(self, s: TicketState, rng: random.Random) -> None:
        s.wait_since = s.t
        s.unanswered = 1
        s.clocks["agent"] = self._agent_clock(s, rng, s.t)
        s.clocks["followup"] = self._wall_clock(rng, s.t, FOLLOWUP_MEDIAN_H[s.priority], 0.8)

    def _on_customer(self, s: TicketState, rng: random.Random, out: list) -> None:
        if s.status != "pending_customer":
            return
        self._bump(s, 0.02 * rng.random())
        s.clocks.pop("nudge", None)
        s.nudges = 0
        mentions = self._customer_says(s, rng, out, "reply")
        self._set_status(out, s, rng, "open", actor="system")
        self._await_agent(s, rng)
        self._react(s, rng, mentions)

    def _on_agent(self, s: TicketState, rng: random.Random, out: list) -> None:
        # Frustration from the wait just ended (relative to what this priority expects).
        waited = s.t - s.wait_since
        expected = AGENT_MEDIAN_H[s.priority] * 2.0
        self._bump(s, min(0.08, 0.02 * max(0.0, waited / expected - 1.0)))
        s.responded = 1
        s.unanswered = 0
        s.clocks.pop("followup", None)
        heard, s.heard = s.heard, False
        if s.tier >= 2 and rng.random() < 0.3:
            self._note(out, s, rng, "investigation")
            self._tick(s, rng)
        # A specialist sends a misrouted ticket back to a team it already visited.
        if s.tier >= 2 and s.bounce_p > 0 and rng.random() < s.bounce_p:
            s.bounce_p = 0.0
            self._bump(s, 0.08)
            self._note(out, s, rng, "bounceback")
            self._assign(out, s, rng, "frontline", 1, "agent")
            self._set_status(out, s, rng, "open")
            s.needed_tier = max(s.needed_tier, 2)
            s.clocks["agent"] = self._agent_clock(s, rng, s.t)
            s.clocks["followup"] = self._wall_clock(rng, s.t, FOLLOWUP_MEDIAN_H[s.priority], 0.8)
            return
        # Priority raised after repeated chasing.
        if s.priority != "P1" and s.F > 0.5 and rng.random() < 0.25:
            self._tick(s, rng)
            s.priority = "P2" if s.priority == "P3" else "P1"
            self._emit(out, s, "priority_change", "agent", priority=s.priority)
        outage_open = s.outage and s.t < s.outage_end
        # Once the outage is over, whoever holds its ticket can confirm the fix.
        fixed = s.outage and not outage_open
        if s.needed_tier > s.tier and not fixed and rng.random() < 0.75:
            # A handoff to the tier that can solve it answers a demand; one on the way does not.
            defuse(s, s.tier + 1 >= s.needed_tier)
            self._handoff(s, rng, out)
            return
        progress = (fixed or (not outage_open and s.tier >= s.needed_tier)) and (
            rng.random() < s.helpfulness
        )
        # A desk that heard the demand answers it even before it has a fix: it takes ownership.
        reassure = (
            heard
            and s.demand > 0.0
            and not (progress or outage_open)
            and rng.random() < REASSURE_P
        )
        # Memoryless resolution: each helpful reply at the right tier solves it with RESOLVE_P.
        resolves = progress and (s.outage or rng.random() < RESOLVE_P)
        # A fast answer defuses a demand if it solves the problem, updates during an outage, or
        # comes from a desk that heard the demand (progress or ownership); routine troubleshooting
        # from one that did not leaves the demand standing.
        defuse(s, resolves or outage_open or reassure or (heard and progress))
        if resolves:
            self._resolve(s, rng, out)
            return
        if outage_open:
            kind = "update"
        elif reassure:
            kind = "reassurance"
        else:
            kind = rng.choice(("question", "question", "workaround", "update"))
        self._tick(s, rng)
        self._agent_says(out, s, rng, kind)
        self._bump(s, -0.05 if progress or reassure else 0.015)
        if outage_open or reassure:
            # The next update comes when there is news; the customer may chase meanwhile.
            s.wait_since = s.t
            s.clocks["agent"] = self._agent_clock(s, rng, s.t)
            s.clocks["followup"] = self._wall_clock(rng, s.t, FOLLOWUP_MEDIAN_H[s.priority], 0.8)
            if outage_open and s.outage_end < s.clocks["agent"].due:
                # The incident's fix is news the desk passes on at once (a known time, so the
                # ground truth does not re-draw it).
                due = s.outage_end + 0.1 + 0.4 * rng.random()
                s.clocks["agent"] = Clock(s.t, 0.0, 0.0, due, True)
            return
        self._set_status(out, s, rng, "pending_customer")
        s.clocks["customer"] = self._wall_clock(rng, s.t, 2.5 + 6.0 * (s.channel == "email"), 1.1)
        s.clocks["nudge"] = Clock(s.t, 0.0, 0.0, s.t + NUDGE_H, False)

    def _handoff(self, s: TicketState, rng: random.Random, out: list) -> None:
        new_tier = s.tier + 1
        team = tier2_team(s.category, s.area) if new_tier == 2 else tier3_team(s.outage)
        self._tick(s, rng)
        self._note(out, s, rng, "handoff")
        if rng.random() < 0.7:
            self._tick(s, rng)
            self._agent_says(out, s, rng, "handoff")
        self._bump(s, 0.03)
        self._assign(out, s, rng, team, new_tier, "agent")
        self._set_status(out, s, rng, "pending_internal")
        s.wait_since = s.t
        s.clocks["agent"] = self._agent_clock(s, rng, s.t)
        if "followup" not in s.clocks:
            s.clocks["followup"] = self._wall_clock(rng, s.t, FOLLOWUP_MEDIAN_H[s.priority], 0.8)

    def _resolve(self, s: TicketState, rng: random.Random, out: list) -> None:
        self._tick(s, rng)
        self._agent_says(out, s, rng, "resolution")
        self._set_status(out, s, rng, "solved")
        self._bump(s, -0.15)
        s.clocks["close"] = self._wall_clock(rng, s.t, 40.0, 0.35)
        p_reopen = 0.02 + 0.16 * (1.0 - s.helpfulness) + 0.08 * s.F - 0.03 * s.reopens
        if rng.random() < p_reopen:
            s.clocks["reopen"] = self._wall_clock(rng, s.t, 14.0, 0.9)
            if s.clocks["reopen"].due >= s.clocks["close"].due:
                del s.clocks["reopen"]
        if rng.random() < 0.45:
            s.clocks["thanks"] = self._wall_clock(rng, s.t, 1.5, 1.0)

    def _on_thanks(self, s: TicketState, rng: random.Random, out: list) -> None:
        if s.status != "solved":
            return
        text = self.text.closing(rng, s.F, True, channel=s.channel) if self.text else None
        self._emit(out, s, "customer_message", "customer", text=text, agent=False)

    def _on_reopen(self, s: TicketState, rng: random.Random, out: list) -> None:
        if s.status != "solved":
            return
        s.clocks.pop("close", None)
        s.clocks.pop("thanks", None)
        s.reopens += 1
        self._bump(s, 0.15)
        self._trigger(s, rng, TRIGGER_REOPEN)
        self._emit(out, s, "reopened", "customer", agent=False)
        self._tick(s, rng)
        mentions = self._customer_says(s, rng, out, "reopen")
        self._set_status(out, s, rng, "open", actor="system")
        s.helpfulness = min(0.95, s.helpfulness + 0.1)
        self._await_agent(s, rng)
        self._react(s, rng, mentions)

    def _on_nudge(self, s: TicketState, rng: random.Random, out: list) -> None:
        if s.status != "pending_customer":
            return
        if s.nudges:
            # Still nothing from the customer after the reminder: the desk solves the ticket.
            s.clocks.pop("customer", None)
            self._set_status(out, s, rng, "solved")
            s.clocks["close"] = self._wall_clock(rng, s.t, 40.0, 0.35)
            return
        s.nudges += 1
        self._tick(s, rng)
        self._agent_says(out, s, rng, "pending_customer")
        s.clocks["nudge"] = Clock(s.t, 0.0, 0.0, s.t + NUDGE_H * 1.5, False)

    def _on_lapse(self, s: TicketState, rng: random.Random, out: list) -> None:
        lapse(s)

    def _on_close(self, s: TicketState, rng: random.Random, out: list) -> None:
        s.clocks.clear()
        self._set_status(out, s, rng, "closed", actor="system")
        if rng.random() < 0.3:
            self._tick(s, rng)
            score = round(5.0 - 4.2 * s.F + rng.gauss(0.0, 0.7))
            self._emit(out, s, "csat", "customer", csat=min(5, max(1, score)), agent=False)
