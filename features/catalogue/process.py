"""Process features: what has happened to the ticket (routing, tiers, priority, replies)."""

from __future__ import annotations

import numpy as np

from features.catalogue.feature import Feature
from features.catalogue.wording import times

FEATURES: tuple[Feature, ...] = (
    Feature(
        "ticket_reopen_count",
        "process",
        "int",
        "times the ticket was reopened",
        formula=lambda x: x.count("reopen_count"),
        words=lambda v, r: (
            "never reopened" if v == 0 else times(v, "reopened once", "reopened {n} times")
        ),
        direction=1,
        direction_reason="a reopen means the fix did not hold; each one costs trust",
    ),
    Feature(
        "ticket_handoff_count",
        "process",
        "int",
        "reassignments after the first assignment",
        formula=lambda x: x.count("handoffs"),
        words=lambda v, r: (
            "no handoffs" if v == 0 else times(v, "handed off once", "handed off {n} times")
        ),
        direction=1,
        direction_reason="each reassignment makes the customer repeat the story",
    ),
    Feature(
        "ticket_tier_current",
        "process",
        "float",
        "tier holding the ticket (1-3; NaN if none)",
        formula=lambda x: x.state["tier_current"],
        words=lambda v, r: f"held by tier {int(v)}",
        topic="tier",
    ),
    Feature(
        "ticket_tier_max",
        "process",
        "float",
        "highest tier reached so far",
        formula=lambda x: x.state["tier_max"],
        words=lambda v, r: f"has reached tier {int(v)}",
        topic="tier",
    ),
    Feature(
        "ticket_tier_changes",
        "process",
        "int",
        "assignments that changed the tier",
        formula=lambda x: x.count("tier_changes"),
        words=lambda v, r: times(v, "moved between tiers once", "moved between tiers {n} times"),
        topic="tier",
    ),
    Feature(
        "ticket_bounceback_count",
        "process",
        "int",
        "assignments back to a team already visited",
        formula=lambda x: x.count("bouncebacks"),
        words=lambda v, r: (
            "no bouncebacks"
            if v == 0
            else times(v, "bounced back to a team once", "bounced back to a team {n} times")
        ),
        direction=1,
        direction_reason="a ticket sent back to a team it left has been misrouted",
    ),
    Feature(
        "ticket_agent_count",
        "process",
        "int",
        "distinct agents who acted or were assigned",
        formula=lambda x: x.count("agent_distinct"),
        words=lambda v, r: times(v, "one agent on it so far", "{n} agents on it so far"),
    ),
    Feature(
        "ticket_unanswered_count",
        "process",
        "int",
        "customer messages since the last agent message",
        formula=lambda x: x.count("unanswered"),
        words=lambda v, r: f"{int(v)} customer messages without an answer",
        direction=1,
        direction_reason="customer messages piling up without an answer",
        topic="chasing",
    ),
    Feature(
        "ticket_priority_current",
        "process",
        "int",
        "current priority (1 = P1 .. 3 = P3)",
        # Before the ticket's first event there is no state: the priority it was created with.
        formula=lambda x: np.where(x.have, x.state["priority_current"], x.priority_initial),
        words=lambda v, r: f"priority P{int(v)}",
        direction=-1,
        direction_reason="a more urgent priority (P1 = 1) means more business impact",
        topic="priority",
    ),
    Feature(
        "ticket_priority_initial",
        "process",
        "int",
        "priority at creation (1 = P1 .. 3 = P3)",
        formula=lambda x: x.priority_initial,
        words=lambda v, r: f"opened as P{int(v)}",
        direction=-1,
        direction_reason="a more urgent priority (P1 = 1) means more business impact",
        topic="priority",
    ),
    Feature(
        "ticket_priority_changes",
        "process",
        "int",
        "priority changes so far",
        formula=lambda x: x.count("priority_changes"),
        words=lambda v, r: f"priority changed {int(v)} times",
        topic="priority",
    ),
    Feature(
        "ticket_pending_customer",
        "process",
        "bool",
        "the ticket waits on the customer now",
        formula=lambda x: x.state["pending_customer"],
        words=lambda v, r: (
            "the ticket waits on the customer" if v else "the ticket does not wait on the customer"
        ),
    ),
    Feature(
        "ticket_customer_agent_ratio",
        "process",
        "float",
        "customer messages per agent message (agent messages + 1)",
        formula=lambda x: x.count("cust_count") / (x.count("agent_count") + 1.0),
        words=lambda v, r: f"{v:.1f} customer messages per agent reply",
        direction=1,
        direction_reason="a customer writing more than the agents answer is chasing for help",
        topic="chasing",
    ),
)
