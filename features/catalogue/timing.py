"""Timing features: the ticket's age, waits, replies and its first-response SLA."""

from __future__ import annotations

import numpy as np

from features.arrays import US_PER_H
from features.calendar import sla_deadlines
from features.catalogue.feature import Feature
from features.catalogue.wording import hours, sla_text
from features.inputs import SnapshotInputs


def _since_agent_h(x: SnapshotInputs) -> np.ndarray:
    last_agent = x.state["last_agent_us"]
    return (x.t - np.where(np.isnan(last_agent), x.created_us, last_agent)) / US_PER_H


def _hours_to_breach(x: SnapshotInputs) -> np.ndarray:
    deadline_h = sla_deadlines(x.created_h, x.priority, x.calendar)
    return np.where(x.sla_answered, np.nan, deadline_h - x.t_h)


def _in_business_hours(x: SnapshotInputs) -> np.ndarray:
    open_h = x.calendar.cumulative(x.t_h + 1e-9) - x.calendar.cumulative(x.t_h)
    return (open_h > 0).astype("float64")


FEATURES: tuple[Feature, ...] = (
    Feature(
        "ticket_age_h",
        "timing",
        "float",
        "hours since the ticket was created",
        formula=lambda x: (x.t - x.created_us) / US_PER_H,
        words=lambda v, r: f"ticket open for {hours(v)}",
    ),
    Feature(
        "ticket_first_response_h",
        "timing",
        "float",
        "hours from creation to the first agent reply; NaN while there is none",
        formula=lambda x: (x.state["first_agent_us"] - x.created_us) / US_PER_H,
        words=lambda v, r: f"first reply came after {hours(v)}",
        direction=1,
        direction_reason="a slow first reply is what customers complain about first",
        topic="sla",
    ),
    Feature(
        "ticket_waiting_h",
        "timing",
        "float",
        "hours the customer has been waiting for a reply right now (0 if not waiting)",
        formula=lambda x: x.waiting_h,
        words=lambda v, r: (
            f"customer has waited {hours(v)} for a reply; SLA is {sla_text(r)}"
            if v > 0
            else "customer is not waiting for a reply"
        ),
        direction=1,
        direction_reason="the longer the customer waits for a reply, the angrier they get",
        topic="waiting",
    ),
    Feature(
        "ticket_longest_wait_h",
        "timing",
        "float",
        "longest time the customer waited for a reply, the current wait included",
        formula=lambda x: np.fmax(x.state["longest_done_us"] / US_PER_H, x.waiting_h),
        words=lambda v, r: f"longest wait for a reply so far: {hours(v)}",
        direction=1,
        direction_reason="a long wait is remembered even after it ended",
        topic="waiting",
    ),
    Feature(
        "customer_demand_unanswered_h",
        "timing",
        "float",
        "hours since the customer's first demand (escalation, executive, churn or legal) that no "
        "agent message has followed yet; NaN when none is open",
        formula=lambda x: (x.t - x.state["demand_open_us"]) / US_PER_H,
        words=lambda v, r: f"the customer's demand has gone unanswered for {hours(v)}",
        direction=1,
        direction_reason=(
            "a demand left unanswered is the escalation the customer announced; every hour "
            "without a reply makes it likelier"
        ),
        topic="demand",
    ),
    Feature(
        "ticket_since_agent_h",
        "timing",
        "float",
        "hours since the last agent message (or creation)",
        formula=_since_agent_h,
        words=lambda v, r: f"{hours(v)} since the last agent message",
        topic="waiting",
    ),
    Feature(
        "sla_consumed_share",
        "timing",
        "float",
        "share of the first-response SLA used (business-hours aware); >1 when breached",
        formula=lambda x: x.sla_used_h / x.sla_hours,
        words=lambda v, r: f"{v:.0%} of the first-response SLA used",
        direction=1,
        direction_reason="the closer to the first-response deadline, the closer to a breach",
        topic="sla",
    ),
    Feature(
        "sla_breached",
        "timing",
        "bool",
        "the first-response SLA was missed",
        formula=lambda x: (x.sla_used_h > x.sla_hours).astype("float64"),
        words=lambda v, r: "first-response SLA missed" if v else "first-response SLA met",
        direction=1,
        direction_reason="a missed SLA is a broken promise to the customer",
        topic="sla",
    ),
    Feature(
        "sla_hours_to_breach",
        "timing",
        "float",
        "wall-clock hours until the first-response deadline (<0 past it; NaN once answered)",
        formula=_hours_to_breach,
        words=lambda v, r: (
            f"first-response SLA breached {hours(-v)} ago"
            if v < 0
            else f"first-response SLA breaches in {hours(v)}"
        ),
        direction=-1,
        direction_reason="less time left before the first-response deadline, more risk",
        topic="sla",
    ),
    Feature(
        "ticket_in_business_hours",
        "timing",
        "bool",
        "as_of falls in business hours",
        formula=_in_business_hours,
        explain=False,  # calendar
    ),
)
